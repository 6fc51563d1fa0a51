"""DDP wrapper that also works for CPU modules (gloo), selected with ``model_wrapper_cfg``.

mmengine's Runner passes ``device_ids=[LOCAL_RANK]`` to DDP, which DDP rejects for a module on the
CPU. Without CUDA the ids are dropped; on GPUs this is mmengine's ``MMDistributedDataParallel``.
"""

from __future__ import annotations

import torch
from mmengine.model import MMDistributedDataParallel

from steadyseg.registry import MODEL_WRAPPERS


@MODEL_WRAPPERS.register_module()
class CPUFriendlyDistributedDataParallel(MMDistributedDataParallel):
    def __init__(self, module, detect_anomalous_params: bool = False, **kwargs):
        if not torch.cuda.is_available():
            kwargs.pop("device_ids", None)
            kwargs.pop("output_device", None)
        super().__init__(module=module, detect_anomalous_params=detect_anomalous_params, **kwargs)
