"""Validation and test loops for video models: clips scored in order, state carried where a clip continues."""

from __future__ import annotations

import torch
from mmengine.runner import TestLoop, ValLoop
from mmengine.runner.amp import autocast

from steadyseg.registry import LOOPS

from .clip_stream import ClipStream


def as_video_evaluator(evaluator):
    """A config's evaluator (a metric dict or list of them) as a :class:`VideoEvaluator`; built ones pass."""
    if isinstance(evaluator, dict) and "type" in evaluator and "metrics" in evaluator:
        return evaluator
    if isinstance(evaluator, (dict, list)):
        return dict(type="VideoEvaluator", metrics=evaluator)
    return evaluator


class _ClipStreamIteration:
    """``run`` starts a fresh :class:`ClipStream`; ``run_iter`` predicts through it (mmengine's loops call
    ``model.val_step`` / ``test_step``, which has no way to take or return the state)."""

    _hook_prefix: str

    def run(self) -> dict:
        self.stream = ClipStream()
        return super().run()

    @torch.no_grad()
    def run_iter(self, idx, data_batch) -> None:
        self.runner.call_hook(f"before_{self._hook_prefix}_iter", batch_idx=idx, data_batch=data_batch)
        with autocast(enabled=self.fp16):
            outputs = self.stream.predict(self.runner.model, data_batch)
        self.evaluator.process(data_samples=outputs, data_batch=data_batch)
        self.runner.call_hook(
            f"after_{self._hook_prefix}_iter", batch_idx=idx, data_batch=data_batch, outputs=outputs
        )


@LOOPS.register_module()
class VideoValLoop(_ClipStreamIteration, ValLoop):
    """mmengine's ``ValLoop`` with :class:`ClipStream` predictions and a :class:`VideoEvaluator`."""

    _hook_prefix = "val"

    def __init__(self, runner, dataloader, evaluator, fp16: bool = False):
        super().__init__(runner, dataloader, as_video_evaluator(evaluator), fp16)


@LOOPS.register_module()
class VideoTestLoop(_ClipStreamIteration, TestLoop):
    """mmengine's ``TestLoop`` with :class:`ClipStream` predictions and a :class:`VideoEvaluator`."""

    _hook_prefix = "test"

    def __init__(self, runner, dataloader, evaluator, fp16: bool = False):
        super().__init__(runner, dataloader, as_video_evaluator(evaluator), fp16)
