"""Evaluation that keeps videos whole: the contiguous sampler, state carried only across continuing clips, and
results gathered from ranks of any length."""

import pytest
import torch
import torch.nn as nn
from mmengine.evaluator import BaseMetric
from mmengine.registry import init_default_scope

import steadyseg.engine.video_evaluator as evaluator_module
from steadyseg.datasets import video_contiguous_sampler
from steadyseg.datasets.video_contiguous_sampler import VideoContiguousSampler
from steadyseg.engine import ClipStream, VideoEvaluator, continues
from steadyseg.engine.video_loops import as_video_evaluator
from steadyseg.models.segmentors.base_video_segmentor import BaseVideoSegmentor
from steadyseg.structures import VideoDataSample


@pytest.fixture(autouse=True)
def scope():
    init_default_scope("steadyseg")


class ChunkedVideos:
    """A test dataset's item list: each video cut into chunks of ``chunk`` frames."""

    def __init__(self, frames_per_video: dict[str, int], chunk: int):
        self.items = []
        for video, frames in frames_per_video.items():
            for start in range(0, frames, chunk):
                indices = list(range(start, min(start + chunk, frames)))
                self.items.append(dict(video_id=video, frame_indices=indices, num_video_frames=frames))

    def __len__(self):
        return len(self.items)

    def get_data_info(self, index):
        return self.items[index]


def sampler_of_rank(monkeypatch, dataset, rank, world_size):
    monkeypatch.setattr(video_contiguous_sampler, "get_dist_info", lambda: (rank, world_size))
    return VideoContiguousSampler(dataset, seed=0)


def test_sampler_gives_each_rank_whole_videos_in_order_and_every_chunk_once(monkeypatch):
    # a: chunks 0-2 (12 frames), b: 3-4 (8), c: 5 (3), d: 6-7 (5). Longest first to the lighter rank:
    # a -> 0 (12, 0), b -> 1 (12, 8), d -> 1 (12, 13), c -> 0 (15, 13).
    dataset = ChunkedVideos({"a": 12, "b": 8, "c": 3, "d": 5}, chunk=4)
    ranks = [list(sampler_of_rank(monkeypatch, dataset, rank, 2)) for rank in range(2)]
    assert ranks == [[0, 1, 2, 5], [3, 4, 6, 7]]
    assert sorted(ranks[0] + ranks[1]) == list(range(len(dataset))), "no chunk dropped or repeated"
    for indices in ranks:
        videos = [dataset.items[i]["video_id"] for i in indices]
        assert all(videos.count(v) == sum(item["video_id"] == v for item in dataset.items) for v in videos)
    assert list(sampler_of_rank(monkeypatch, dataset, 0, 1)) == list(range(len(dataset)))


def test_sampler_leaves_a_rank_empty_rather_than_split_a_video(monkeypatch):
    dataset = ChunkedVideos({"only": 10}, chunk=4)
    assert len(sampler_of_rank(monkeypatch, dataset, 1, 2)) == 0
    assert list(sampler_of_rank(monkeypatch, dataset, 0, 2)) == [0, 1, 2]


def test_sampler_needs_video_ids(monkeypatch):
    class Images(ChunkedVideos):
        def get_data_info(self, index):
            return {"img_path": f"{index}.jpg"}

    with pytest.raises(KeyError, match="Images item 0 has no 'video_id'"):
        sampler_of_rank(monkeypatch, Images({"a": 2}, chunk=1), 0, 1)


@pytest.mark.parametrize(
    ("previous", "current", "expected"),
    [
        (dict(video_id="a", frame_indices=[0, 1]), dict(video_id="a", frame_indices=[2, 3]), True),
        (dict(video_id="a", frame_indices=[0, 1]), dict(video_id="b", frame_indices=[2, 3]), False),
        (dict(video_id="a", frame_indices=[0, 1]), dict(video_id="a", frame_indices=[4, 5]), False),
        (dict(video_id="a", frame_indices=[2, 3]), dict(video_id="a", frame_indices=[0, 1]), False),
        (None, dict(video_id="a", frame_indices=[0, 1]), False),
        (dict(video_id="a", frame_indices=[0, 1]), dict(frame_indices=[2, 3]), False),
    ],
)
def test_a_clip_continues_only_the_frame_before_it_in_the_same_video(previous, current, expected):
    assert continues(previous, current) is expected


class FrameCounter(nn.Module):
    state_names = ("count",)

    def initial_state(self, frame):
        return (frame.new_zeros(frame.shape[0], 1, 1, 1),)

    def forward(self, state):
        return (state[0] + 1,)


class CountingSegmentor(BaseVideoSegmentor):
    """Predicts "person" from the video's third frame on: the prediction shows how many frames the state saw."""

    def __init__(self):
        super().__init__(data_preprocessor=dict(type="VideoDataPreprocessor", mean=(0,) * 3, std=(1,) * 3))
        self.counter = FrameCounter()

    def forward_clip(self, inputs, state):
        (count,) = self.state_layout.split(state)["counter"]
        logits = []
        for _ in range(inputs.shape[1]):
            (count,) = self.counter((count,))
            person = (count - 2.5).expand(inputs.shape[0], 1, *inputs.shape[-2:])
            logits.append(torch.cat([torch.zeros_like(person), person], dim=1))
        return {"logits": torch.stack(logits, dim=1)}, self.state_layout.join({"counter": (count,)})

    def loss(self, inputs, data_samples):
        return {}


def clip_batch(video, indices):
    sample = VideoDataSample(metainfo=dict(video_id=video, frame_indices=indices))
    return {"inputs": [torch.zeros(len(indices), 3, 2, 2, dtype=torch.uint8)], "data_samples": [sample]}


def predicted_person(stream, model, video, indices):
    (sample,) = stream.predict(model, clip_batch(video, indices))
    return sample.pred_sem_seg[:, 0, 0].tolist()


def test_clip_stream_carries_state_only_into_a_continuing_clip():
    model = CountingSegmentor().eval()
    assert model.state_names == ("counter.count",)
    stream = ClipStream()
    assert predicted_person(stream, model, "a", [0, 1]) == [0, 0]
    assert predicted_person(stream, model, "a", [2, 3]) == [1, 1], "frames 3 and 4 of the video"
    assert predicted_person(stream, model, "b", [2, 3]) == [0, 0], "another video starts afresh"
    assert predicted_person(stream, model, "b", [6, 7]) == [0, 0], "a gap starts afresh"
    assert predicted_person(stream, model, "b", [8]) == [1]


def test_clip_stream_evaluates_recurrent_models_one_clip_per_batch():
    batch = clip_batch("a", [0])
    batch["inputs"] *= 2
    batch["data_samples"].append(VideoDataSample(metainfo=dict(video_id="b", frame_indices=[0])))
    with pytest.raises(ValueError, match="counter.count.*set the val/test dataloader's batch_size=1"):
        ClipStream().predict(CountingSegmentor().eval(), batch)


class MeanOfValues(BaseMetric):
    def process(self, data_batch, data_samples):
        self.results += [sample["value"] for sample in data_samples]

    def compute_metrics(self, results):
        return {"count": len(results), "mean": sum(results) / len(results), "order": list(results)}


def test_evaluator_keeps_every_rank_result_whatever_their_lengths(monkeypatch):
    evaluator = VideoEvaluator(MeanOfValues(prefix="toy"))
    evaluator.process([{"value": 1.0}, {"value": 2.0}, {"value": 3.0}])
    # Another rank scored one video of two clips; mmengine's collect_results would keep 2 of these 5 results.
    monkeypatch.setattr(evaluator_module, "all_gather_object", lambda results: [list(results), [10.0, 20.0]])
    metrics = evaluator.evaluate(size=5)
    assert metrics == {"toy/count": 5, "toy/mean": 7.2, "toy/order": [1.0, 2.0, 3.0, 10.0, 20.0]}
    assert evaluator.metrics[0].results == []


def test_loops_wrap_config_metric_lists_in_the_video_evaluator():
    metrics = [dict(type="DAVISMetric")]
    assert as_video_evaluator(metrics) == dict(type="VideoEvaluator", metrics=metrics)
    assert as_video_evaluator(metrics[0]) == dict(type="VideoEvaluator", metrics=metrics[0])
    built = VideoEvaluator(MeanOfValues())
    assert as_video_evaluator(built) is built
