"""Fold training-time structures (multi-branch blocks, conv-BN pairs) into their inference form.

Call this before export, latency timing and FLOP counting: the training form of a reparameterizable
backbone is several times slower and larger than the network that ships, and it is not what a phone
runs. Components opt in by defining ``reparameterize()`` (in place, idempotent) for their own subtree;
this function only walks the model, so it needs no knowledge of any model family.
"""

from __future__ import annotations

import torch.nn as nn


def reparameterize(model: nn.Module) -> nn.Module:
    """Call ``reparameterize()`` on every submodule of ``model`` (itself included) that defines it.

    Works in place and returns ``model``; calling it again changes nothing. Children are folded before
    their parents, so a parent's ``reparameterize()`` finds its children already folded. Folding uses
    BN running statistics: the result matches the training form in eval mode, and there is no way
    back to the training form (re-build the model and load the training checkpoint for that).
    """
    # Reversed pre-order lists every module after all of its descendants.
    for module in reversed(list(model.modules())):
        fold = getattr(module, "reparameterize", None)
        if callable(fold):
            fold()
    return model
