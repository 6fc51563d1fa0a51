"""Carries a video model's state across the consecutive clips of evaluation, and only across those."""

from __future__ import annotations

from mmengine.model import is_model_wrapper

from steadyseg.models.stateful import State


def continues(previous: dict | None, current: dict) -> bool:
    """Whether the clip with metainfo ``current`` starts at the frame after ``previous``'s last, in the same video."""
    if previous is None or "video_id" not in current or not current.get("frame_indices"):
        return False
    return (
        previous.get("video_id") == current["video_id"]
        and bool(previous.get("frame_indices"))
        and current["frame_indices"][0] == previous["frame_indices"][-1] + 1
    )


class ClipStream:
    """Predicts evaluation batches in dataloader order, handing a recurrent model the state of the previous clip
    when (and only when) the new clip continues it: same ``video_id``, first frame right after the previous
    clip's last. Any other clip (a new video, a gap, another rank's chunk) starts from the initial state.

    Recurrent models are evaluated one clip per batch: each clip of a larger batch would need its own
    predecessor's state.
    """

    def __init__(self):
        self.state: State | None = None
        self.previous: dict | None = None

    def predict(self, model, data_batch: dict) -> list:
        if is_model_wrapper(model):
            model = model.module
        data = model.data_preprocessor(data_batch, False)
        inputs, samples = data["inputs"], data["data_samples"]
        if not model.is_recurrent:
            return model.predict(inputs, samples)
        if len(samples) != 1:
            raise ValueError(
                f"{type(model).__name__} carries state ({', '.join(model.state_names)}) from clip to clip, so it "
                f"is evaluated one clip per batch; got {len(samples)}: set the val/test dataloader's batch_size=1"
            )
        metainfo = samples[0].metainfo
        state = self.state if continues(self.previous, metainfo) else None
        samples, self.state = model.predict_stream(inputs, samples, state)
        self.previous = metainfo
        return samples
