"""Evaluation sampler that keeps videos whole: each rank gets complete videos, their chunks in frame order."""

from __future__ import annotations

from collections.abc import Iterator

from mmengine.dist import get_dist_info
from torch.utils.data import Sampler

from steadyseg.registry import DATA_SAMPLERS


@DATA_SAMPLERS.register_module()
class VideoContiguousSampler(Sampler):
    """Splits a test dataset's videos, not its chunks, among the ranks.

    Test datasets cut each video into consecutive chunks (``test_mode``); a recurrent model carries its state from
    one chunk to the next, so a rank must see all chunks of a video, in order. mmengine's
    ``DefaultSampler(shuffle=False)`` deals chunks out round-robin instead (rank 0 gets chunks 0, 2, 4, ...) and
    pads the ranks to equal length with repeated chunks, which are then scored twice. Here every chunk is
    yielded exactly once: videos go to the rank with the fewest frames so far (longest videos first, ties to the
    lower rank), and each rank walks its videos in dataset order. Ranks may get different numbers of chunks;
    ``steadyseg.engine.VideoEvaluator`` gathers results of any length.

    ``seed`` is accepted because mmengine passes one to every sampler; the order is fixed.
    """

    def __init__(self, dataset, seed: int | None = None):
        self.dataset = dataset
        self.rank, self.world_size = get_dist_info()
        self.indices = self._indices_of_rank()

    def _indices_of_rank(self) -> list[int]:
        chunks_of_video: dict[str, list[int]] = {}
        frames_of_video: dict[str, int] = {}
        for index in range(len(self.dataset)):
            info = self.dataset.get_data_info(index)
            if "video_id" not in info:
                raise KeyError(
                    f"VideoContiguousSampler: {type(self.dataset).__name__} item {index} has no 'video_id'; "
                    "it needs a video dataset (a BaseVideoDataset in test_mode)"
                )
            video = info["video_id"]
            frames = len(info.get("frame_indices") or range(info.get("num_video_frames", 1)))
            chunks_of_video.setdefault(video, []).append(index)
            frames_of_video[video] = frames_of_video.get(video, 0) + frames
        load = [0] * self.world_size
        mine = []
        for video in sorted(chunks_of_video, key=lambda v: -frames_of_video[v]):
            rank = min(range(self.world_size), key=lambda r: load[r])
            load[rank] += frames_of_video[video]
            if rank == self.rank:
                mine += chunks_of_video[video]
        return sorted(mine)

    def __iter__(self) -> Iterator[int]:
        return iter(self.indices)

    def __len__(self) -> int:
        return len(self.indices)
