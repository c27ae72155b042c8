import math

import torch
import torch.nn.functional as F

from domainssl.methods.losses import byol_loss, info_nce, negative_cosine, nt_xent


def _nt_xent_by_loops(z1, z2, temperature):
    """Eq. 1 of SimCLR written out anchor by anchor."""
    z = [F.normalize(v, dim=0) for v in torch.cat([z1, z2])]
    n2 = len(z)
    total = 0.0
    for i in range(n2):
        j = (i + n2 // 2) % n2  # the positive
        sims = [float(z[i] @ z[k]) / temperature for k in range(n2)]
        denominator = sum(math.exp(s) for k, s in enumerate(sims) if k != i)
        total += -math.log(math.exp(sims[j]) / denominator)
    return total / n2


def test_nt_xent_equals_hand_computed_value():
    g = torch.Generator().manual_seed(0)
    z1, z2 = torch.randn(3, 5, generator=g), torch.randn(3, 5, generator=g)
    for temperature in (0.5, 0.1):
        expected = _nt_xent_by_loops(z1.double(), z2.double(), temperature)
        assert abs(float(nt_xent(z1, z2, temperature)) - expected) < 1e-4


def test_nt_xent_two_samples_closed_form():
    # orthogonal unit pairs: every off-self similarity is 0 except the positive (1)
    z1 = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    t = 0.5
    expected = -math.log(math.exp(1 / t) / (math.exp(1 / t) + 2))
    assert abs(float(nt_xent(z1, z1.clone(), t)) - expected) < 1e-6


def test_nt_xent_is_float32_under_bf16_autocast():
    z = torch.randn(4, 8)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss = nt_xent(z, z + 0.01, 0.1)
    assert loss.dtype == torch.float32
    torch.testing.assert_close(loss, nt_xent(z, z + 0.01, 0.1))


def test_info_nce_with_queue_matches_explicit_softmax():
    g = torch.Generator().manual_seed(1)
    q, k = torch.randn(4, 6, generator=g), torch.randn(4, 6, generator=g)
    queue = F.normalize(torch.randn(10, 6, generator=g), dim=1)
    t = 0.2
    qn, kn = F.normalize(q, dim=1), F.normalize(k, dim=1)
    expected = 0.0
    for i in range(4):
        logits = torch.cat([(qn[i] @ kn[i]).reshape(1), queue @ qn[i]]) / t
        expected += -torch.log_softmax(logits, 0)[0] / 4
    torch.testing.assert_close(info_nce(q, k, queue, t), expected)


def test_info_nce_in_batch_is_cross_entropy_over_keys():
    g = torch.Generator().manual_seed(2)
    q, k = torch.randn(5, 6, generator=g), torch.randn(5, 6, generator=g)
    logits = F.normalize(q, dim=1) @ F.normalize(k, dim=1).T / 0.2
    torch.testing.assert_close(info_nce(q, k, None, 0.2), F.cross_entropy(logits, torch.arange(5)))


def test_info_nce_sanity_aligned_beats_random_and_bounds():
    g = torch.Generator().manual_seed(3)
    q = torch.randn(8, 16, generator=g)
    queue = F.normalize(torch.randn(32, 16, generator=g), dim=1)
    aligned = info_nce(q, q, queue, 0.2)
    random = info_nce(q, torch.randn(8, 16, generator=g), queue, 0.2)
    assert aligned < random
    assert aligned >= 0
    # identical keys for everyone → chance level log(N) in-batch
    same = torch.ones(8, 16)
    assert abs(float(info_nce(same, same, None, 0.2)) - math.log(8)) < 1e-5


def test_cosine_losses_at_their_extremes():
    p = torch.randn(6, 4)
    torch.testing.assert_close(negative_cosine(p, 3 * p), torch.tensor(-1.0))
    torch.testing.assert_close(negative_cosine(p, -p), torch.tensor(1.0))
    torch.testing.assert_close(byol_loss(p, 2 * p), torch.tensor(0.0), atol=1e-6, rtol=0)
    torch.testing.assert_close(byol_loss(p, -p), torch.tensor(4.0))
    # 2 - 2cos equals the squared distance of the unit vectors
    z = torch.randn(6, 4)
    dist = (F.normalize(p, dim=1) - F.normalize(z, dim=1)).pow(2).sum(1).mean()
    torch.testing.assert_close(byol_loss(p, z), dist)
