import pytest
import torch
import torch.nn as nn

from domainssl.models.heads import MLP


def test_two_layer_head_is_linear_bn_relu_linear():
    head = MLP(16, 32, 8)
    kinds = [type(m) for m in head]
    assert kinds == [nn.Linear, nn.BatchNorm1d, nn.ReLU, nn.Linear]
    assert head[0].bias is None  # the BN shift replaces the bias
    assert head[3].bias is not None
    assert head(torch.randn(4, 16)).shape == (4, 8)


def test_simsiam_projector_has_bn_on_every_layer_and_affine_free_output():
    head = MLP(16, 32, 32, num_layers=3, bn_last=True, bn_last_affine=False)
    bns = [m for m in head if isinstance(m, nn.BatchNorm1d)]
    assert len(bns) == 3
    assert bns[-1].weight is None and bns[-1].bias is None
    assert all(bn.affine for bn in bns[:-1])
    assert all(m.bias is None for m in head if isinstance(m, nn.Linear))
    out = head(torch.randn(8, 16))
    torch.testing.assert_close(out.mean(0), torch.zeros(32), atol=1e-5, rtol=0)  # train-mode BN output


def test_head_without_hidden_bn_matches_moco_v2():
    head = MLP(16, 16, 4, hidden_bn=False)
    assert [type(m) for m in head] == [nn.Linear, nn.ReLU, nn.Linear]
    assert head[0].bias is not None


def test_single_layer_and_bad_depth():
    assert [type(m) for m in MLP(16, 99, 4, num_layers=1)] == [nn.Linear]
    with pytest.raises(ValueError, match="num_layers"):
        MLP(16, 32, 4, num_layers=0)
