"""Frame embeddings: pooled encoder features, the same through a hooked model step as through the encoder alone."""

import math

import numpy as np
import pytest
import torch
import torch.nn as nn

from steadyseg.apis.inference import StreamingSegmenter, load_model
from steadyseg.discovery import DiscoveryError, FrameEmbedder, PooledBackboneEmbedding, mean_embedding
from steadyseg.registry import MODELS
from tests.discovery.helpers import TINY_CONFIG, moving_square


def test_pooled_embedding_normalizes_each_level_then_the_whole():
    level0 = torch.tensor([3.0, 4.0]).view(1, 2, 1, 1).expand(1, 2, 2, 2)  # mean (3, 4), norm 5
    level1 = torch.zeros(1, 3, 2, 2)
    level1[0, 2, 0, 0] = 8.0  # mean (0, 0, 2)
    embedding = PooledBackboneEmbedding()([level0, level1])
    expected = torch.tensor([[0.6, 0.8, 0.0, 0.0, 1.0]]) / math.sqrt(2)
    torch.testing.assert_close(embedding, expected)
    assert torch.linalg.norm(embedding).item() == pytest.approx(1.0)
    torch.testing.assert_close(
        PooledBackboneEmbedding(levels=[-1])([level0, level1]), torch.tensor([[0.0, 0, 1]])
    )


def test_pooled_embedding_rejects_a_missing_level():
    with pytest.raises(ValueError, match=r"levels \[2\] out of range for an encoder with 2 outputs"):
        PooledBackboneEmbedding(levels=[2])([torch.zeros(1, 1, 1, 1)] * 2)


def test_embedding_is_registered():
    assert isinstance(MODELS.build(dict(type="PooledBackboneEmbedding")), PooledBackboneEmbedding)


def test_features_captured_in_a_model_step_embed_like_the_encoder_alone():
    torch.manual_seed(0)
    model = load_model(TINY_CONFIG, None)
    embedder = FrameEmbedder(model)
    frame = moving_square(1, seed=0)[0]
    inputs = embedder.prepare(frame)
    with embedder.capture() as features:
        StreamingSegmenter(model).step(inputs)
    during_step = embedder.pool(features)
    assert during_step.shape == (16 + 24 + 48,) and during_step.dtype == np.float32
    np.testing.assert_allclose(during_step, embedder.embed_frame(frame), atol=1e-6)
    assert not model.segmentor.backbone._forward_hooks  # the hook is gone after the block


def test_a_model_without_an_encoder_names_the_option_to_use():
    with pytest.raises(DiscoveryError, match=r"Linear has no segmentor backbone.*--embedder"):
        FrameEmbedder(nn.Linear(1, 1))


def test_mean_embedding_is_unit_length():
    np.testing.assert_allclose(mean_embedding(np.array([[1.0, 0.0], [0.0, 1.0]])), [2**-0.5, 2**-0.5])
    np.testing.assert_array_equal(mean_embedding(np.zeros((2, 3))), np.zeros(3))
