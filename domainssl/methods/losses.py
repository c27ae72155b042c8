"""SSL losses: NT-Xent (SimCLR), InfoNCE (MoCo), negative cosine (SimSiam) and BYOL's 2 - 2 cos.

The contrastive losses compute their logits in float32 even under autocast: with temperatures of
0.1–0.5 the logits reach 10 and bfloat16 would round them to ~0.06. None of these functions detach
anything; callers make the stop-gradient visible (``z.detach()``, ``torch.no_grad()``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def nt_xent(z1: torch.Tensor, z2: torch.Tensor, temperature: float = 0.5) -> torch.Tensor:
    """Normalised-temperature cross entropy over 2N views (SimCLR, Chen et al. 2020, eq. 1).

    Each of the 2N embeddings is an anchor; its positive is the other view of the same sample and
    the remaining 2N - 2 embeddings are negatives. The loss is the mean over all 2N anchors.

    Args:
        z1: N x D projections of view 1 (any scale; l2-normalised here).
        z2: N x D projections of view 2, row i pairs with ``z1[i]``.
        temperature: tau > 0 (0.1 ImageNet, 0.5 CIFAR-size batches).

    Returns:
        0-dim float32 tensor.

    Examples:
        >>> z = torch.randn(4, 8)
        >>> bool(nt_xent(z, z, 0.5) < nt_xent(z, torch.randn(4, 8), 0.5))
        True
    """
    n = z1.shape[0]
    with torch.autocast(device_type=z1.device.type, enabled=False):
        z = F.normalize(torch.cat([z1, z2]).float(), dim=1)  # 2N x D
        logits = z @ z.T / temperature  # 2N x 2N
        self_mask = torch.eye(2 * n, dtype=torch.bool, device=z.device)
        logits = logits.masked_fill(self_mask, float("-inf"))  # an anchor is not its own negative
        targets = torch.arange(2 * n, device=z.device).roll(n)  # 2N: view i pairs with view i ± N
        return F.cross_entropy(logits, targets)


def info_nce(
    q: torch.Tensor, k: torch.Tensor, queue: torch.Tensor | None, temperature: float = 0.2
) -> torch.Tensor:
    """InfoNCE of queries against their keys (MoCo, He et al. 2020, eq. 1).

    With a ``queue`` (MoCo v2) each query has one positive, its own key, and the K queued keys as
    negatives. Without one (MoCo v3) the other keys of the batch are the negatives.

    Args:
        q: N x D queries (l2-normalised here).
        k: N x D keys, row i is the positive of ``q[i]`` (l2-normalised here).
        queue: K x D negatives, already l2-normalised, or None for in-batch negatives.
        temperature: tau > 0.

    Returns:
        0-dim float32 tensor, the mean cross entropy over the N queries.

    Examples:
        >>> q = torch.randn(4, 8)
        >>> info_nce(q, q, None, 0.2) < info_nce(q, -q, None, 0.2)
        tensor(True)
    """
    with torch.autocast(device_type=q.device.type, enabled=False):
        q = F.normalize(q.float(), dim=1)  # N x D
        k = F.normalize(k.float(), dim=1)  # N x D
        if queue is None:
            logits = q @ k.T  # N x N, positives on the diagonal
        else:
            positive = (q * k).sum(dim=1, keepdim=True)  # N x 1
            negatives = q @ queue.float().T  # N x K
            logits = torch.cat([positive, negatives], dim=1)  # N x (1 + K), positive at column 0
        targets = torch.arange(q.shape[0], device=q.device) if queue is None else q.new_zeros(q.shape[0]).long()
        return F.cross_entropy(logits / temperature, targets)


def negative_cosine(p: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """SimSiam's D(p, z) = -cos(p, z), averaged over the batch; in [-1, 1].

    Args:
        p: N x D predictions.
        z: N x D targets; pass ``z.detach()`` for the stop-gradient.

    Returns:
        0-dim tensor.
    """
    return -F.cosine_similarity(p.float(), z.float(), dim=1).mean()


def byol_loss(p: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """BYOL's ||p/|p| - z/|z|||^2 = 2 - 2 cos(p, z), averaged over the batch; in [0, 4].

    Args:
        p: N x D online predictions.
        z: N x D target projections; pass them detached (or computed under ``no_grad``).

    Returns:
        0-dim tensor.
    """
    return 2 - 2 * F.cosine_similarity(p.float(), z.float(), dim=1).mean()
