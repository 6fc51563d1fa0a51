"""mmengine's ``CheckpointHook`` with a ``last_checkpoint`` pointer that is atomic and relative to the work dir.

mmengine writes the pointer with a plain ``open(..., 'w')``, so a crash while writing leaves it empty, and
it holds the checkpoint's absolute path, so a copied work dir resumes from the original one. This hook is
registered under mmengine's name in steadyseg's scope: configs keep ``type="CheckpointHook"`` and get it.
Read the pointer with :func:`steadyseg.apis.training.last_checkpoint`.
"""

from __future__ import annotations

import os
from pathlib import Path

from mmengine.dist import is_main_process
from mmengine.hooks import CheckpointHook as MMEngineCheckpointHook

from steadyseg.registry import HOOKS

from .atomic_local_backend import write_atomically

POINTER = "last_checkpoint"


@HOOKS.register_module(name="CheckpointHook")
class AtomicPointerCheckpointHook(MMEngineCheckpointHook):
    def _save_checkpoint_with_step(self, runner, step, meta):
        # As mmengine's: drop the oldest kept checkpoint before saving, so at most max_keep_ckpts exist.
        if self.max_keep_ckpts > 0 and not (self.keep_ckpt_ids and self.keep_ckpt_ids[-1] == step):
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                self._remove(self.keep_ckpt_ids.popleft())
            self.keep_ckpt_ids.append(step)
            runner.message_hub.update_info("keep_ckpt_ids", list(self.keep_ckpt_ids))
        filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir, filename)
        runner.message_hub.update_info("last_ckpt", self.last_ckpt)
        runner.save_checkpoint(
            self.out_dir,
            filename,
            self.file_client_args,
            save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler,
            meta=meta,
            by_epoch=self.by_epoch,
            backend_args=self.backend_args,
            **self.args,
        )
        if is_main_process():
            write_atomically(
                Path(runner.work_dir) / POINTER, pointer_text(runner.work_dir, self.last_ckpt).encode()
            )

    def _remove(self, step: int) -> None:
        if not is_main_process():
            return
        path = self.file_backend.join_path(self.out_dir, self.filename_tmpl.format(step))
        if self.file_backend.isfile(path):
            self.file_backend.remove(path)
        elif self.file_backend.isdir(path):  # deepspeed saves checkpoints as directories
            self.file_backend.rmtree(path)


def pointer_text(work_dir: str | Path, checkpoint: str) -> str:
    """The checkpoint relative to the work dir when it lies inside (always, unless ``out_dir`` is set)."""
    relative = os.path.relpath(Path(checkpoint).resolve(), Path(work_dir).resolve())
    return checkpoint if relative.startswith(os.pardir) else relative
