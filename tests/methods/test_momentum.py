import copy

import pytest
import torch
import torch.nn as nn

from domainssl.methods.momentum import cosine_schedule, update_momentum


def _pair():
    torch.manual_seed(0)
    online = nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6), nn.Linear(6, 2))
    target = copy.deepcopy(online)
    with torch.no_grad():
        for p in online.parameters():
            p.add_(torch.randn_like(p))
    online(torch.randn(8, 4))  # moves the online BN running stats and num_batches_tracked
    return online, target


def test_m0_copies_params_and_buffers():
    online, target = _pair()
    update_momentum(online, target, 0.0)
    for a, b in zip(online.state_dict().values(), target.state_dict().values()):
        assert torch.equal(a, b)


def test_m1_freezes_params_and_copies_buffers():
    online, target = _pair()
    before = [p.clone() for p in target.parameters()]
    update_momentum(online, target, 1.0)
    for p, old in zip(target.parameters(), before):
        assert torch.equal(p, old)
    for a, b in zip(online.buffers(), target.buffers()):  # by design, statistics follow the online net
        assert torch.equal(a, b)
    assert int(target[1].num_batches_tracked) == 1


def test_intermediate_m_is_the_weighted_average():
    online, target = _pair()
    expected = [0.9 * t + 0.1 * o for t, o in zip(target.parameters(), online.parameters())]
    update_momentum(online, target, 0.9)
    for p, e in zip(target.parameters(), expected):
        torch.testing.assert_close(p, e)
    assert all(not p.requires_grad or p.grad is None for p in target.parameters())


def test_structure_mismatch_and_bad_m_raise():
    online, _ = _pair()
    with pytest.raises(ValueError, match="differ in structure"):
        update_momentum(online, nn.Linear(4, 6), 0.5)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        update_momentum(online, copy.deepcopy(online), 1.5)


def test_cosine_schedule_endpoints_midpoint_and_clamp():
    assert cosine_schedule(0, 100, 0.996, 1.0) == pytest.approx(0.996)
    assert cosine_schedule(50, 100, 0.996, 1.0) == pytest.approx(0.998)
    assert cosine_schedule(100, 100, 0.996, 1.0) == pytest.approx(1.0)
    assert cosine_schedule(500, 100, 0.996, 1.0) == pytest.approx(1.0)
    values = [cosine_schedule(s, 20, 0.99, 1.0) for s in range(21)]
    assert values == sorted(values)
    with pytest.raises(ValueError, match="total_steps"):
        cosine_schedule(0, 0, 0.99, 1.0)
