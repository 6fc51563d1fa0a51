"""Shared by the reparameterization tests: BN statistics that make folding them observable."""

import pytest
import torch
import torch.nn as nn


def randomize_batchnorm(model: nn.Module, seed: int = 0) -> nn.Module:
    """Give every BN non-trivial running statistics and affine parameters.

    Freshly built BNs are identities in eval mode (mean 0, var 1, weight 1, bias 0), so a fold that ignored
    them would still pass. Weights below 1 keep deep multi-branch stacks from blowing up the activations.
    """
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d):
                size = module.num_features
                module.running_mean.copy_(0.2 * torch.randn(size, generator=generator))
                module.running_var.copy_(0.5 + 1.5 * torch.rand(size, generator=generator))
                module.weight.copy_(0.3 + 0.5 * torch.rand(size, generator=generator))
                module.bias.copy_(0.1 * torch.randn(size, generator=generator))
    return model


def num_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.fixture
def single_thread():
    """Run on one intra-op thread: these tests run thousands of tiny convolutions, and on a shared CPU the
    threads' synchronization cost several times the work (about 4x slower measured on 2 busy cores)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
