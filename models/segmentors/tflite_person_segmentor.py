"""Fixed person segmenters shipped as TFLite files (MediaPipe's selfie models) run as video models.

They are baselines to beat: the weights are not ours and cannot be trained, so the model has no
parameters and ``loss`` is an error. Frames run one at a time through ai-edge-litert's interpreter.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from steadyseg.models.stateful import State
from steadyseg.registry import MODELS
from steadyseg.structures import VideoDataSample

from .base_video_segmentor import BaseVideoSegmentor, Outputs

# Keeps logit(p) finite where the model saturates at exactly 0 or 1.
_PROBABILITY_EPS = 1e-6


@MODELS.register_module()
class TFLitePersonSegmentor(BaseVideoSegmentor):
    """A TFLite model mapping ``[1, h, w, 3]`` float RGB in [0, 1] to a person probability ``[1, h', w', 1]``.

    Inputs ``[B, T, 3, H, W]`` must already be RGB in [0, 1]: give it
    ``VideoDataPreprocessor(mean=(0, 0, 0), std=(255, 255, 255))``. Each frame is resized (bilinear) to the
    model's input size, and the probability back to ``H x W``. The logits ``[B, T, 2, H, W]`` are
    ``[0, logit(p)]``, so their softmax is ``[1 - p, p]`` and the arg-max is ``p > 0.5``. No state.

    Args:
        model_path: the ``.tflite`` file; it is opened (and its shapes checked) at construction.
        num_threads: interpreter threads (the latency setting: MediaPipe's numbers are for 1).
        data_preprocessor: see above.
        input_short_side: see :class:`BaseVideoSegmentor` (None: frames go to the interpreter's resize as given).
    """

    def __init__(
        self,
        model_path: str | Path,
        num_threads: int = 1,
        data_preprocessor: dict | None = None,
        input_short_side: int | None = None,
        init_cfg: dict | None = None,
    ):
        super().__init__(
            data_preprocessor=data_preprocessor, input_short_side=input_short_side, init_cfg=init_cfg
        )
        if num_threads < 1:
            raise ValueError(f"TFLitePersonSegmentor: num_threads must be >= 1, got {num_threads}")
        self.model_path = str(model_path)
        self.num_threads = num_threads
        # An interpreter can be neither shared between threads nor pickled, and one inherited through a
        # fork is not safe to use: each thread of each process opens its own on first use.
        self._local = threading.local()
        height, width = self._interpreter().get_input_details()[0]["shape"][1:3]
        self.interpreter_size = (int(height), int(width))

    def _interpreter(self):
        local = self._local
        if getattr(local, "pid", None) != os.getpid():
            local.interpreter = self._open_interpreter()
            local.pid = os.getpid()
        return local.interpreter

    def _open_interpreter(self):
        path = self.model_path
        if not Path(path).is_file():
            raise FileNotFoundError(f"{path}: TFLite model file not found (set the model's model_path)")
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError as error:
            raise ImportError(
                f"{path}: running TFLite models needs ai-edge-litert (pip install -e '.[deploy]')"
            ) from error
        try:
            interpreter = Interpreter(model_path=path, num_threads=self.num_threads)
            interpreter.allocate_tensors()
        except (ValueError, RuntimeError) as error:
            raise ValueError(f"{path}: not a loadable TFLite model ({error})") from error
        inputs, outputs = interpreter.get_input_details(), interpreter.get_output_details()
        if not (
            len(inputs) == 1
            and len(outputs) == 1
            and _is_image_tensor(inputs[0], channels=3)
            and _is_image_tensor(outputs[0], channels=1)
        ):
            raise ValueError(
                f"{path}: expected one float32 input [1, H, W, 3] and one float32 output [1, H, W, 1] "
                f"(a person probability); the model has inputs {_describe(inputs)} and outputs {_describe(outputs)}"
            )
        return interpreter

    def forward_clip(self, inputs: torch.Tensor, state: State) -> tuple[Outputs, State]:
        batch, frames, _, height, width = inputs.shape
        images = F.interpolate(
            inputs.flatten(0, 1).detach().float().cpu(),
            size=self.interpreter_size,
            mode="bilinear",
            align_corners=False,
        )
        images = images.permute(0, 2, 3, 1).contiguous().numpy()
        interpreter = self._interpreter()
        input_index = interpreter.get_input_details()[0]["index"]
        output_index = interpreter.get_output_details()[0]["index"]
        probabilities = []
        for image in images:
            interpreter.set_tensor(input_index, image[None])
            interpreter.invoke()
            probabilities.append(torch.from_numpy(interpreter.get_tensor(output_index)[0, :, :, 0].copy()))
        probability = torch.stack(probabilities)[:, None]
        probability = F.interpolate(probability, size=(height, width), mode="bilinear", align_corners=False)
        person = torch.logit(probability, eps=_PROBABILITY_EPS)
        logits = torch.cat([torch.zeros_like(person), person], dim=1)
        logits = logits.to(device=inputs.device, dtype=inputs.dtype)
        return {"logits": logits.unflatten(0, (batch, frames))}, state

    def loss(self, inputs: torch.Tensor, data_samples: list[VideoDataSample]) -> dict:
        raise RuntimeError(
            f"{type(self).__name__} ({self.model_path}) is an inference-only baseline: its TFLite weights are "
            "fixed, so it has no loss and cannot be trained; evaluate it with tools/test.py CONFIG"
        )

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        del state["_local"]
        return state

    def __setstate__(self, state: dict) -> None:
        super().__setstate__(state)
        self._local = threading.local()


def _is_image_tensor(details: dict, channels: int) -> bool:
    shape = details["shape"].tolist()
    return len(shape) == 4 and shape[0] == 1 and shape[3] == channels and details["dtype"] == np.float32


def _describe(tensors: list[dict]) -> str:
    return ", ".join(f"{d['name']} {d['shape'].tolist()} {np.dtype(d['dtype'])}" for d in tensors)
