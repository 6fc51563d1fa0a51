import math

import pytest
import torch
import torch.nn as nn
from mmengine.registry import init_default_scope

from steadyseg.models import BaseVideoSegmentor
from steadyseg.models.losses import FeatureConsistencyLoss, FlowWarpedConsistencyLoss, TemporalCoherenceLoss
from steadyseg.models.losses.flow_warped_consistency_loss import flow_warped_consistency
from steadyseg.registry import MODELS
from steadyseg.structures import VideoDataSample

B, T, H, W = 2, 4, 16, 20
STEP = 2  # pixels per frame the content moves right


@pytest.fixture(autouse=True)
def scope():
    init_default_scope("steadyseg")


def translating(frame: torch.Tensor, step: int = STEP) -> torch.Tensor:
    """``[B, T, ...]`` clip of ``frame [B, ...]`` moving right by ``step`` px per frame (wrapping around)."""
    return torch.stack([torch.roll(frame, t * step, dims=-1) for t in range(T)], dim=1)


def exact_flow(step: int = STEP, size=(H, W)) -> torch.Tensor:
    """Backward flow of the translating clips: frame_t(x) = frame_{t-1}(x - step)."""
    flow = torch.zeros(B, T - 1, 2, *size)
    flow[:, :, 0] = -step
    return flow


@pytest.fixture
def clip():
    generator = torch.Generator().manual_seed(0)
    images = translating(torch.rand(B, 3, H, W, generator=generator))
    logits = translating(torch.randn(B, 3, H, W, generator=generator) * 3)
    flicker = torch.randn(B, T, 3, H, W, generator=generator) * 3
    return images, logits, flicker


class TinyVideoModel(BaseVideoSegmentor):
    """A 3x3 conv per frame; its loss is only the temporal terms, called as every video segmentor calls them."""

    def __init__(self, temporal_losses):
        super().__init__(
            data_preprocessor=dict(type="VideoDataPreprocessor"), temporal_losses=temporal_losses
        )
        self.conv = nn.Conv2d(3, 3, 3, padding=1)

    def forward_clip(self, inputs, state):
        return {"logits": self.conv(inputs.flatten(0, 1)).unflatten(0, inputs.shape[:2])}, state

    def loss(self, inputs, data_samples):
        logits = self.forward_clip(inputs, ())[0]["logits"]
        return self.temporal_loss_terms(logits, inputs, data_samples, features=logits)


def backpropagates_to_model(loss_cfg, with_flow):
    """The loss's term from ``temporal_loss_terms`` of a flickering clip: positive, and grads reach the conv."""
    model = TinyVideoModel([loss_cfg])
    generator = torch.Generator().manual_seed(1)
    frames = torch.randint(0, 256, (B, T, 3, H, W), generator=generator).float()
    samples = []
    for _ in range(B):
        sample = VideoDataSample(gt_sem_seg=torch.randint(0, 3, (T, H, W), generator=generator))
        if with_flow:
            sample.gt_flow = exact_flow()[0]
        samples.append(sample)
    data = model.data_preprocessor(dict(inputs=list(frames.to(torch.uint8)), data_samples=samples), True)
    ((name, value),) = model.loss(data["inputs"], data["data_samples"]).items()
    value.backward()
    assert name == MODELS.build(loss_cfg).loss_name
    assert value.item() > 0
    assert model.conv.weight.grad is not None and model.conv.weight.grad.abs().sum() > 0


# ----------------------------------------------------------------------------------------------------------
# FlowWarpedConsistencyLoss
# ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("on", ["probs", "logits"])
@pytest.mark.parametrize("long_term", [False, True])
def test_flow_warp_loss_is_exactly_zero_when_prediction_follows_the_flow(clip, on, long_term):
    images, logits, flicker = clip
    loss = FlowWarpedConsistencyLoss(on=on, long_term=long_term)
    # Content wraps around at the left border: those pixels sample outside the frame and must be masked.
    assert loss(logits=logits, images=images, flow=exact_flow(), gt_sem_seg=None, features=None).item() == 0
    assert loss(logits=flicker, images=images, flow=exact_flow()).item() > 0


def test_flow_warp_loss_hand_computed_value():
    """Two 1x3 frames, flow 0: M = exp(-50 * sum_c dI^2) per pixel, loss = mean(M * |dO|)."""
    images = torch.zeros(1, 2, 3, 1, 3)
    images[0, 1, :, 0, 1] = 0.1  # pixel 1 changes colour by 0.1 in each channel: M = exp(-1.5)
    logits = torch.zeros(1, 2, 1, 1, 3)
    logits[0, 1, 0, 0] = torch.tensor([1.0, 2.0, 0.0])
    loss = FlowWarpedConsistencyLoss(on="logits", loss_weight=2.0)
    value = loss(logits=logits, images=images, flow=torch.zeros(1, 1, 2, 1, 3))
    assert value.item() == pytest.approx(2.0 * (1.0 + 2.0 * math.exp(-1.5)) / 3, rel=1e-6)


def test_flow_warp_long_term_adds_the_first_frame_term(clip):
    images, _, flicker = clip
    short = FlowWarpedConsistencyLoss(on="logits")(logits=flicker, images=images, flow=exact_flow())
    both = FlowWarpedConsistencyLoss(on="logits", long_term=True)(
        logits=flicker, images=images, flow=exact_flow()
    )
    assert both.item() > short.item() > 0


def test_flow_warp_loss_with_dis_flow(clip):
    images, logits, flicker = clip
    for source in ("auto", "dis"):
        loss = FlowWarpedConsistencyLoss(flow_source=source, on="logits")
        # DIS ignores the flow given with 'dis'; a wrong flow here would make the loss large.
        wrong = -exact_flow() if source == "dis" else None
        following = loss(logits=logits, images=images, flow=wrong).item()
        flickering = loss(logits=flicker, images=images, flow=wrong).item()
        assert following < 0.1 * flickering


def test_flow_warp_loss_errors(clip):
    images, logits, _ = clip
    with pytest.raises(ValueError, match="flow_source='data' but the batch has no flow"):
        FlowWarpedConsistencyLoss(flow_source="data")(logits=logits, images=images, flow=None)
    with pytest.raises(ValueError, match=r"flow must be \[B, T-1, 2, H, W\]"):
        FlowWarpedConsistencyLoss()(logits=logits, images=images, flow=exact_flow()[:, :2])
    with pytest.raises(ValueError, match=r"logits must be a \[B, T, C, H, W\] tensor"):
        FlowWarpedConsistencyLoss()(logits=logits[0], images=images, flow=exact_flow())
    with pytest.raises(ValueError, match="must share B and T"):
        FlowWarpedConsistencyLoss()(logits=logits[:, :2], images=images, flow=exact_flow())
    with pytest.raises(ValueError, match="flow_source must be one of"):
        FlowWarpedConsistencyLoss(flow_source="raft")
    with pytest.raises(ValueError, match="on must be"):
        FlowWarpedConsistencyLoss(on="labels")


def test_flow_warp_loss_single_frame_is_zero_with_a_graph(clip):
    images, logits, _ = clip
    logits = logits[:, :1].clone().requires_grad_()
    value = FlowWarpedConsistencyLoss()(logits=logits, images=images[:, :1], flow=None)
    value.backward()
    assert value.item() == 0 and logits.grad is not None


def test_flow_warp_loss_backpropagates_through_the_segmentor():
    backpropagates_to_model(dict(type="FlowWarpedConsistencyLoss", long_term=True), with_flow=True)
    backpropagates_to_model(dict(type="FlowWarpedConsistencyLoss", loss_name="loss_st"), with_flow=False)


# ----------------------------------------------------------------------------------------------------------
# FeatureConsistencyLoss
# ----------------------------------------------------------------------------------------------------------


def test_feature_loss_is_exactly_zero_for_features_following_the_flow(clip):
    images, _, _ = clip
    # Half resolution: the 2 px/frame image motion is 1 px/frame for the features.
    generator = torch.Generator().manual_seed(2)
    features = translating(torch.randn(B, 5, H // 2, W // 2, generator=generator), step=STEP // 2)
    loss = FeatureConsistencyLoss()
    assert loss(logits=None, images=images, flow=exact_flow(), features=features).item() == 0
    flicker = torch.randn(B, T, 5, H // 2, W // 2, generator=generator)
    assert loss(images=images, flow=exact_flow(), features=flicker).item() > 0
    # Without rescaling the flow vectors to the feature grid the same features would not match.
    assert loss(images=images, flow=exact_flow(step=2 * STEP), features=features).item() > 0


def stride_grid_clip(stride):
    """Images 40 x 56 moving right by ``stride`` px per frame and 3 x 4 features moving one cell per frame (the
    ceil grid of stride 16, and also of stride 14), with the images' exact backward flow."""
    generator = torch.Generator().manual_seed(3)
    images = translating(torch.rand(B, 3, 40, 56, generator=generator), step=stride)
    features = translating(torch.randn(B, 5, 3, 4, generator=generator), step=1)
    return images, features, exact_flow(step=stride, size=(40, 56))


def test_feature_loss_moves_stride_grid_features_by_whole_cells():
    """56 pixels are 4 stride-16 cells: 16 px of motion is one cell (a 4 / 56 scale would make it 1.14)."""
    images, features, flow = stride_grid_clip(16)
    loss = FeatureConsistencyLoss()(images=images, flow=flow, features=features)
    assert loss.item() == 0
    moving_left = features.flip(1)
    assert FeatureConsistencyLoss()(images=images, flow=flow, features=moving_left).item() > 0


def test_explicit_stride_overrides_the_inferred_one():
    """Stride 14 gives the same 3 x 4 grid of a 40 x 56 image as stride 16; only the explicit stride fits."""
    images, features, flow = stride_grid_clip(14)
    args = (features, images, flow, 50.0, "data", False, "test")
    assert flow_warped_consistency(*args, stride=14).item() == 0
    assert flow_warped_consistency(*args).item() > 0
    with pytest.raises(
        ValueError, match=r"test: outputs of size \(3, 5\) are not a power-of-two stride grid"
    ):
        flow_warped_consistency(torch.zeros(B, T, 5, 3, 5), *args[1:])


def test_feature_loss_errors_and_gradient(clip):
    images, logits, _ = clip
    with pytest.raises(
        ValueError, match=r"FeatureConsistencyLoss: the model passed no features \(features=None\)"
    ):
        FeatureConsistencyLoss()(logits=logits, images=images, flow=exact_flow(), features=None)
    with pytest.raises(ValueError, match="flow_source='data' but the batch has no flow"):
        FeatureConsistencyLoss(flow_source="data")(images=images, flow=None, features=logits)
    backpropagates_to_model(dict(type="FeatureConsistencyLoss"), with_flow=True)


# ----------------------------------------------------------------------------------------------------------
# TemporalCoherenceLoss
# ----------------------------------------------------------------------------------------------------------


def moving_square_labels() -> torch.Tensor:
    labels = torch.zeros(B, H, W, dtype=torch.long)
    labels[:, 4:10, 3:8] = 1
    labels[:, 12:, :4] = 2
    return translating(labels)


@pytest.mark.parametrize("on", ["probs", "logits"])
def test_coherence_loss_is_zero_when_predictions_equal_the_ground_truth(on):
    gt = moving_square_labels()
    logits = torch.nn.functional.one_hot(gt, 3).permute(0, 1, 4, 2, 3).float()
    if on == "probs":
        logits = logits * 200  # softmax is exactly one-hot in float32
    loss = TemporalCoherenceLoss(on=on)
    assert loss(logits=logits, gt_sem_seg=gt, images=None, flow=None, features=None).item() == 0
    # A prediction that stays still while the ground truth moves is penalised.
    frozen = logits[:, :1].expand(-1, T, -1, -1, -1)
    assert loss(logits=frozen, gt_sem_seg=gt).item() > 0


def test_coherence_loss_hand_computed_and_ignores_255():
    gt = torch.tensor([[0, 1, 1], [0, 255, 1]]).view(1, 2, 1, 3)  # [B=1, T=2, H=1, W=3]
    logits = torch.zeros(1, 2, 2, 1, 3)
    logits[0, 1, 0] = torch.tensor([[0.5, -2.0, 7.0]])  # class-0 logit of frame 1
    # Pixel 1 is ignored (255 in frame 1). dG: pixel 0 = 0, pixel 2 = 0. dP (logits): pixel 0 class 0 = 0.5,
    # pixel 2 class 0 = 7.0; class 1 differences are 0. Mean over 2 pixels x 2 classes.
    value = TemporalCoherenceLoss(on="logits", loss_weight=3.0)(logits=logits, gt_sem_seg=gt)
    assert value.item() == pytest.approx(3.0 * (0.5**2 + 7.0**2) / 4)


def test_coherence_loss_with_one_channel_uses_sigmoid_and_binary_targets():
    gt = torch.tensor([[0, 1], [1, 1]]).view(1, 2, 1, 2)
    logits = torch.zeros(1, 2, 1, 1, 2)  # sigmoid 0.5 everywhere: dP = 0, dG = (1, 0)
    assert TemporalCoherenceLoss()(logits=logits, gt_sem_seg=gt).item() == pytest.approx(0.5)


def test_coherence_loss_errors_and_gradient():
    gt = moving_square_labels()
    logits = torch.zeros(B, T, 3, H, W)
    with pytest.raises(ValueError, match=r"TemporalCoherenceLoss: needs gt_sem_seg"):
        TemporalCoherenceLoss()(logits=logits, gt_sem_seg=None)
    with pytest.raises(ValueError, match="of the same B, T, H, W"):
        TemporalCoherenceLoss()(logits=logits, gt_sem_seg=gt[:, :, :8])
    with pytest.raises(ValueError, match=r"gt_sem_seg has label 5, outside \[0, 3\)"):
        TemporalCoherenceLoss()(logits=logits, gt_sem_seg=torch.full_like(gt, 5))
    backpropagates_to_model(dict(type="TemporalCoherenceLoss", loss_weight=5.0), with_flow=False)


def test_losses_build_from_config_with_their_names():
    for type_name, default_name in [
        ("TemporalCoherenceLoss", "loss_temporal_coherence"),
        ("FlowWarpedConsistencyLoss", "loss_flow_warp"),
        ("FeatureConsistencyLoss", "loss_feature_consistency"),
    ]:
        loss = MODELS.build(dict(type=type_name, loss_weight=0.5))
        assert loss.loss_name == default_name and loss.loss_weight == 0.5
        assert MODELS.build(dict(type=type_name, loss_name="loss_x")).loss_name == "loss_x"
