"""FIFO queue of keys for MoCo v2's negatives, kept in buffers so it is checkpointed."""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


class KeyQueue(nn.Module):
    """A ring buffer of the last ``size`` l2-normalised keys.

    Buffers (saved in ``state_dict``): ``keys`` (size x dim, float) and ``ptr`` (0-dim long, the next
    row to overwrite). It starts filled with random unit vectors, as in the MoCo reference code.
    Writes wrap around the end, so ``size`` need not be a multiple of the batch. The pointer stays a
    tensor, so an enqueue never synchronises with the host.

    Args:
        size: number of keys K (MoCo paper: 65,536).
        dim: key dimension D.
        generator: optional ``torch.Generator`` for the random initial keys.

    Examples:
        >>> queue = KeyQueue(size=10, dim=3)
        >>> queue.enqueue(torch.randn(4, 3))
        >>> int(queue.ptr)
        4
    """

    keys: torch.Tensor
    ptr: torch.Tensor

    def __init__(self, size: int, dim: int, generator: torch.Generator | None = None) -> None:
        super().__init__()
        if size < 1:
            raise ValueError(f"KeyQueue: size must be >= 1, got {size}")
        self.size = size
        self.register_buffer("keys", F.normalize(torch.randn(size, dim, generator=generator), dim=1))
        self.register_buffer("ptr", torch.zeros((), dtype=torch.long))

    def negatives(self) -> torch.Tensor:
        """A detached copy of the keys (K x D), safe to use in a loss before :meth:`enqueue`."""
        return self.keys.clone().detach()

    @torch.no_grad()
    def enqueue(self, keys: torch.Tensor) -> None:
        """Write ``keys`` (N x D, normalised) at the pointer, oldest first out; N may exceed K."""
        n = keys.shape[0]
        start = self.ptr
        if n > self.size:  # only the newest K survive, where sequential writes would leave them
            start = self.ptr + (n - self.size)
            keys = keys[-self.size :]
        rows = (start + torch.arange(keys.shape[0], device=self.keys.device)) % self.size  # N
        self.keys.index_copy_(0, rows, keys.detach().to(self.keys.dtype))
        self.ptr.copy_((self.ptr + n) % self.size)
