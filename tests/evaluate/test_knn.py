"""kNN feature readouts: the pooled output, or the last two stages pooled and concatenated."""

import pytest
import torch

from domainssl.evaluate.knn import extract_features
from domainssl.models import create_backbone


def test_the_last2_readout_concatenates_the_last_two_stages_each_normalised():
    torch.manual_seed(0)
    backbone = create_backbone("resnet10t", 1).eval()
    images = torch.randn(3, 1, 32, 32)
    last = extract_features(backbone, images)
    both = extract_features(backbone, images, readout="last2")
    assert last.shape == (3, 512) and both.shape == (3, 256 + 512)
    assert torch.allclose(both.norm(dim=1), torch.ones(3))
    # the layer4 half is the pooled output up to scale: each stage is l2-normalised before concatenation
    assert torch.allclose(torch.nn.functional.normalize(both[:, 256:], dim=1), last, atol=1e-5)
    with pytest.raises(ValueError, match="readout 'grid'"):
        extract_features(backbone, images, readout="grid")
