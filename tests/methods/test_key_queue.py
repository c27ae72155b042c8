import copy

import torch
import torch.nn.functional as F

from domainssl.methods.queue import KeyQueue


def _batch(value: float, n: int = 4, dim: int = 3) -> torch.Tensor:
    return torch.full((n, dim), value) + torch.arange(n, dtype=torch.float32)[:, None] / 100


def test_queue_wraps_when_size_is_not_a_multiple_of_the_batch():
    queue = KeyQueue(size=10, dim=3)
    b1, b2, b3 = _batch(1.0), _batch(2.0), _batch(3.0)
    pointers = []
    for b in (b1, b2, b3):
        queue.enqueue(b)
        pointers.append(int(queue.ptr))
    assert pointers == [4, 8, 2]
    expected = torch.cat([b3[2:4], b1[2:4], b2, b3[0:2]])  # rows 0..9
    assert torch.equal(queue.keys, expected)


def test_batch_larger_than_queue_keeps_the_newest_keys_in_ring_order():
    queue = KeyQueue(size=3, dim=3)
    queue.enqueue(_batch(1.0, n=2))  # ptr 2
    big = _batch(5.0, n=5)
    queue.enqueue(big)  # sequential writes: rows 2,0,1,2,0 ← big[0..4]
    assert int(queue.ptr) == (2 + 5) % 3
    assert torch.equal(queue.keys, torch.stack([big[4], big[2], big[3]]))


def test_queue_is_in_state_dict_and_starts_normalised():
    queue = KeyQueue(size=6, dim=4, generator=torch.Generator().manual_seed(0))
    assert set(queue.state_dict()) == {"keys", "ptr"}
    torch.testing.assert_close(queue.keys.norm(dim=1), torch.ones(6))
    queue.enqueue(F.normalize(torch.randn(4, 4), dim=1))
    fresh = KeyQueue(size=6, dim=4)
    fresh.load_state_dict(copy.deepcopy(queue.state_dict()))
    assert torch.equal(fresh.keys, queue.keys) and int(fresh.ptr) == 4


def test_negatives_is_a_detached_copy():
    queue = KeyQueue(size=5, dim=2)
    negatives = queue.negatives()
    queue.enqueue(torch.zeros(2, 2))
    assert not torch.equal(negatives[:2], queue.keys[:2])
    assert not negatives.requires_grad
