import math

import pytest
import torch
import torch.nn as nn
from mmengine.registry import init_default_scope
from mmengine.structures import InstanceData

from steadyseg.models.heads.query_mask_head import QueryMaskHead, blocked_attention
from steadyseg.registry import MODELS
from steadyseg.structures import VideoDataSample
from tests.models.tiny_components import NORM

# The VSS recipes' MobileNetV3-small read at strides 4, 8, 16, 32 (16, 24, 48, 48 channels).
BACKBONE = dict(
    type="StridedMobileNetV3",
    arch="small",
    output_stride=32,
    reduction_factor=2,
    out_indices=(1, 3, 8, 11),
    norm_cfg=NORM,
)
QUERIES, DIMS = 5, 16


@pytest.fixture(autouse=True)
def scope():
    init_default_scope("steadyseg")


def build(criterion=None, **overrides):
    torch.manual_seed(0)
    cfg = dict(
        type="VideoInstanceSegmentor",
        backbone=BACKBONE,
        pixel_decoder=dict(type="QueryPixelDecoder", channels=16, mask_channels=8, norm_cfg=NORM),
        head=dict(type="QueryMaskHead", num_queries=QUERIES, embed_dims=DIMS, num_heads=2, ffn_channels=32),
        criterion=criterion or dict(type="HungarianMaskLoss"),
    )
    return MODELS.build({**cfg, **overrides})


def tubes(frames=3, size=(64, 64), labels=(1, 1)) -> InstanceData:
    """Person 1 in every frame, person 2 in the first frame only."""
    masks = torch.zeros(2, frames, *size, dtype=torch.bool)
    masks[0, :, 8:40, 8:24] = True
    masks[1, 0, 20:60, 30:50] = True
    return InstanceData(masks=masks, track_ids=torch.tensor([1, 2]), labels=torch.tensor(labels))


class RecordingCriterion(nn.Module):
    """Test double for the criterion: records the targets it is given, returns a differentiable scalar."""

    num_classes = 2

    def __init__(self):
        super().__init__()
        self.targets = None

    def forward(self, class_logits, mask_logits, targets):
        self.targets = targets
        return dict(loss_total=sum(logits.mean() for logits in (*class_logits, *mask_logits)))


def test_outputs_are_per_frame_and_query_and_the_model_keeps_no_state():
    model = build().eval()
    inputs = torch.randn(2, 3, 3, 64, 64)
    with torch.no_grad():
        outputs, state = model.forward_clip(inputs, model.initial_state(inputs[:, 0]))
    assert model.output_names == ("masks", "scores", "embeddings") and list(outputs) == list(
        model.output_names
    )
    assert outputs["masks"].shape == (2, 3, QUERIES, 16, 16)
    assert outputs["scores"].shape == (2, 3, QUERIES, 2)
    assert outputs["embeddings"].shape == (2, 3, QUERIES, DIMS)
    assert model.state_names == () and state == ()


def test_a_step_is_the_clip_forward_of_that_frame():
    model = build().eval()
    inputs = torch.randn(1, 2, 3, 64, 96)
    with torch.no_grad():
        whole, _ = model.forward_clip(inputs, ())
        step, state = model.step_at_input_scale(inputs[:, 1])
    assert state == ()
    for name in model.output_names:
        torch.testing.assert_close(step[name], whole[name][:, 1], msg=name)


def test_loss_is_finite_and_reaches_every_parameter():
    model = build().train()
    inputs = torch.randn(2, 3, 3, 64, 64)
    losses = model(inputs, [VideoDataSample(gt_instances=tubes()) for _ in range(2)], mode="loss")
    assert set(losses) == {"loss_cls", "loss_mask", "loss_dice"}
    total = sum(losses.values())
    assert torch.isfinite(total)
    total.backward()
    for name, parameter in model.named_parameters():
        assert parameter.grad is not None, name
    assert model.backbone.layer0.conv.weight.grad.abs().sum() > 0
    assert model.head.class_projection.weight.grad.abs().sum() > 0
    assert model.head.query_features.weight.grad.abs().sum() > 0


def test_each_frame_targets_the_tubes_present_in_it_as_classes_of_class_labels():
    criterion = RecordingCriterion()
    model = build(criterion=criterion, class_labels=(3, 7))
    samples = [
        VideoDataSample(gt_instances=tubes(labels=(7, 3))),
        VideoDataSample(gt_instances=tubes(labels=(3, 3))),
    ]
    model(torch.randn(2, 3, 3, 64, 64), samples, mode="loss")
    assert len(criterion.targets) == 6
    # Clip-major frames; person 2 only in each clip's first frame; label 7 is class 1, label 3 class 0.
    assert [labels.tolist() for labels, _ in criterion.targets] == [[1, 0], [1], [1], [0, 0], [0], [0]]
    masks = samples[0].gt_instances.masks
    torch.testing.assert_close(criterion.targets[0][1], masks[:, 0])
    torch.testing.assert_close(criterion.targets[2][1], masks[:1, 2])


def test_a_training_clip_without_gt_instances_is_a_clear_error():
    model = build()
    samples = [
        VideoDataSample(gt_instances=tubes()),
        VideoDataSample(gt_sem_seg=torch.zeros(3, 64, 64).long()),
    ]
    with pytest.raises(ValueError, match=r"data sample 1 has no gt_instances .*with_instances=True"):
        model(torch.randn(2, 3, 3, 64, 64), samples, mode="loss")


def test_a_label_outside_class_labels_is_a_clear_error():
    with pytest.raises(ValueError, match=r"label\(s\) \[2\], not among class_labels=\(1,\)"):
        build()(
            torch.randn(1, 3, 3, 64, 64), [VideoDataSample(gt_instances=tubes(labels=(1, 2)))], mode="loss"
        )


def class_logits_for(probabilities: list[list[float]]) -> torch.Tensor:
    """Class logits ``[T, Q, 2]`` whose person probabilities are ``probabilities[t][q]``."""
    p = torch.tensor(probabilities)
    return torch.stack([p.log(), (1 - p).log()], dim=-1)


def postprocessed(model, probabilities, sample: VideoDataSample) -> InstanceData:
    # Every query's mask logits on the 2 x 2 grid: 5 in the left column, -5 in the right.
    frames, queries = len(probabilities), len(probabilities[0])
    mask_logits = torch.tensor([[5.0, -5.0], [5.0, -5.0]]).expand(1, frames, queries, 2, 2)
    model.postprocess({"masks": mask_logits, "scores": class_logits_for(probabilities)[None]}, [sample])
    return sample.pred_instances


def test_postprocess_keeps_queries_above_the_threshold_as_tubes_tracked_by_query():
    model = build(score_threshold=0.5, max_per_frame=2)
    # Query 0 is a person in both frames, query 1 in the first only, query 2 in neither (its mean 0.425 is no
    # frame's probability).
    probabilities = [[0.9, 0.8, 0.4], [0.9, 0.3, 0.45]]
    # The grid covers the padded 4 x 4 frame; the clip is its left 4 x 3, shown at 8 x 6.
    metainfo = dict(batch_input_shape=(4, 4), img_shape=(4, 3), ori_shape=(8, 6))
    pred = postprocessed(model, probabilities, VideoDataSample(metainfo=metainfo))
    assert pred.track_ids.tolist() == [1, 2] and pred.labels.tolist() == [1, 1]
    torch.testing.assert_close(pred.scores, torch.tensor([0.9, 0.55]))
    # Bilinear 2 -> 4 columns: 5, 2.5, -2.5, -5; cropped to 3: 5, 2.5, -2.5; to 6: 5, 4.375, 3.125, 1.25, -1.25,
    # -2.5. So the first four of six columns.
    person = torch.zeros(8, 6, dtype=torch.bool)
    person[:, :4] = True
    assert pred.masks.shape == (2, 2, 8, 6)
    assert torch.equal(pred.masks[0], person.expand(2, 8, 6))
    assert torch.equal(pred.masks[1, 0], person) and not pred.masks[1, 1].any()


def test_postprocess_keeps_at_most_max_per_frame_queries_in_a_frame():
    model = build(score_threshold=0.5, max_per_frame=1)
    pred = postprocessed(
        model, [[0.9, 0.8, 0.4], [0.9, 0.3, 0.45]], VideoDataSample(metainfo=dict(ori_shape=(2, 2)))
    )
    assert pred.track_ids.tolist() == [1]
    assert pred.masks.shape == (1, 2, 2, 2)


def test_postprocess_without_any_instance_gives_empty_tubes_of_the_frame_size():
    model = build(score_threshold=0.5)
    pred = postprocessed(model, [[0.1, 0.2, 0.3]], VideoDataSample(metainfo=dict(ori_shape=(6, 8))))
    assert pred.masks.shape == (0, 1, 6, 8) and pred.masks.dtype == torch.bool
    assert pred.track_ids.shape == pred.labels.shape == pred.scores.shape == (0,)


def test_predict_gives_tubes_at_the_original_size_from_the_model_scale():
    # Threshold 0 and room for every query: each query is a tube in every frame, its track id its index + 1.
    model = build(score_threshold=0.0, max_per_frame=QUERIES, input_short_side=32).eval()
    samples = [VideoDataSample(metainfo=dict(ori_shape=(48, 64), img_shape=(48, 64)))]
    with torch.no_grad():
        (sample,) = model.predict(torch.randn(1, 2, 3, 48, 64), samples)
    pred = sample.pred_instances
    assert pred.masks.shape == (QUERIES, 2, 48, 64) and pred.masks.dtype == torch.bool
    assert pred.track_ids.tolist() == list(range(1, QUERIES + 1))
    assert pred.labels.tolist() == [1] * QUERIES
    assert ((pred.scores >= 0) & (pred.scores <= 1)).all()


def test_widths_are_measured_from_the_backbone_and_wrong_ones_are_named():
    model = build()
    assert model.pixel_decoder.in_channels == (16, 24, 48, 48) and model.pixel_decoder.strides == (
        4,
        8,
        16,
        32,
    )
    assert (model.head.in_channels, model.head.mask_channels, model.head.num_classes) == (16, 8, 1)
    with pytest.raises(ValueError, match=r"pixel_decoder.in_channels=\(16, 24\) disagrees with the backbone"):
        build(pixel_decoder=dict(type="QueryPixelDecoder", in_channels=(16, 24), channels=16))
    head = dict(type="QueryMaskHead", in_channels=32, num_queries=QUERIES, embed_dims=DIMS, num_heads=2)
    with pytest.raises(ValueError, match=r"head.in_channels=32 disagrees with the pixel decoder"):
        build(head=head)


def test_the_pixel_decoder_gives_mask_features_at_the_finest_stride_and_memories_coarsest_first():
    model = build().eval()
    with torch.no_grad():
        mask_features, memories = model.pixel_decoder(model.backbone(torch.randn(2, 3, 64, 96)))
    assert mask_features.shape == (2, 8, 16, 24)
    assert [tuple(memory.shape) for memory in memories] == [(2, 16, 2, 3), (2, 16, 4, 6), (2, 16, 8, 12)]


def test_masked_attention_blocks_pixels_outside_the_previous_mask_unless_it_is_empty():
    # Query 0's mask is its top-left pixel; query 1's is empty, so it attends everywhere.
    mask_logits = torch.tensor([[[[1.0, -1.0], [-1.0, -1.0]], [[-1.0, -2.0], [-3.0, -4.0]]]])
    blocked = blocked_attention(mask_logits, (2, 2), num_heads=2)
    assert blocked.shape == (2, 2, 4)
    for head in blocked:
        assert head[0].tolist() == [False, True, True, True] and not head[1].any()


def one_query_head() -> QueryMaskHead:
    torch.manual_seed(0)
    return QueryMaskHead(
        in_channels=8, mask_channels=4, num_classes=1, num_levels=1, num_queries=1, embed_dims=8, num_layers=1
    ).eval()


def first_layer_classes(head, mask_features, memory):
    with torch.no_grad():
        return head(mask_features, [memory]).class_logits[1]


def test_a_query_reads_only_the_memory_inside_its_mask():
    head = one_query_head()
    with torch.no_grad():
        embedding = head.mask_embedding(head.decoder_norm(head.query_features.weight))[0]
    # Mask features that give the query's first mask a positive logit in the left half, negative in the right.
    mask_features = embedding.view(1, 4, 1, 1).repeat(1, 1, 4, 4)
    mask_features[..., 2:] *= -1
    memory = torch.randn(1, 8, 4, 4)
    before = first_layer_classes(head, mask_features, memory)
    outside, inside = memory.clone(), memory.clone()
    outside[..., 2:] += 3
    inside[..., :2] += 3
    torch.testing.assert_close(first_layer_classes(head, mask_features, outside), before)
    assert not torch.allclose(first_layer_classes(head, mask_features, inside), before)
    # With an empty first mask (every logit negative) the query reads the whole memory.
    empty = -embedding.view(1, 4, 1, 1).repeat(1, 1, 4, 4)
    assert not torch.allclose(
        first_layer_classes(head, empty, outside), first_layer_classes(head, empty, memory)
    )
    assert math.isfinite(first_layer_classes(head, empty, memory).sum().item())
