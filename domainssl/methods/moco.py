"""MoCo v2 (Chen et al. 2020, He et al. CVPR 2020) and MoCo v3 (Chen, Xie & He, ICCV 2021).

v2: q = g(f_q(x1)), k = g_k(f_k(x2)) with (f_k, g_k) an EMA of (f_q, g); InfoNCE of q against k and a
    FIFO queue of past keys. ``forward`` enqueues this batch's keys after computing the loss: the one
    side effect in any method's forward, as in the reference code.
v3: no queue; q = h(g(f_q(x))), in-batch keys, symmetric loss ctr(q1, k2) + ctr(q2, k1), each scaled
    by 2τ as in the reference code.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn as nn
import torch.nn.functional as F

from domainssl.methods.base import MethodOutput, SSLMethod
from domainssl.methods.losses import info_nce
from domainssl.methods.momentum import update_momentum
from domainssl.methods.queue import KeyQueue
from domainssl.methods.registry import register_method
from domainssl.models.heads import MLP


@dataclass
class MoCoOptions:
    """``method.*`` keys of MoCo; None means the version's paper default."""

    version: Literal[2, 3] = 2
    temperature: float = 0.2  # InfoNCE tau
    queue_size: int = 4096  # v2 only; the paper's 65,536 suits ImageNet-size data and batches of 256
    # Key-encoder EMA at step 0, cosine-scheduled to 1. 0.99 for both versions (MoCo v3's value): the v2 paper's
    # 0.999 suits 10^5+ steps; over a 1,000-step run it leaves ~60 % of the random init in the key encoder.
    momentum: float = 0.99
    hidden_dim: int | None = None  # head width; None = backbone features (v2), 2 x backbone features (v3)
    out_dim: int | None = None  # key/query size; None = 128 (v2), 256 (v3)
    symmetric: bool | None = None  # both views as queries; None = False (v2), True (v3, always)

    def __post_init__(self) -> None:
        if self.temperature <= 0:
            raise ValueError(f"method.temperature: must be > 0, got {self.temperature}")
        if self.queue_size < 1:
            raise ValueError(f"method.queue_size: must be >= 1, got {self.queue_size}")
        if not 0.0 <= self.momentum <= 1.0:
            raise ValueError(f"method.momentum: must be in [0, 1], got {self.momentum}")
        if self.version == 3 and self.symmetric is False:
            raise ValueError("method.symmetric: MoCo v3 is always symmetric; leave it unset or set version=2")


@register_method
class MoCo(SSLMethod):
    """MoCo v2 / v3 built from a backbone returning N x ``num_features`` pooled features.

    Optimiser defaults are `SSLMethod`'s, as for BYOL and SimSiam, which fit the short runs this toolkit mostly
    does: AdamW, peak lr 2e-3 x batch/256, wd 0.05 on weights (ToF segmentation after 2,000 steps:
    ``docs/benchmarks/seg_2000.md``).
    MoCo v2's paper settings are ``optim.name=sgd optim.weight_decay=1e-4`` with ``optim.lr`` set to
    0.03 x batch/256 (SGD's generic base lr is 0.05). Not reproduced: shuffle-BN
    across GPUs (use SyncBatchNorm under DDP) and the all-gather of keys before enqueueing (under
    DDP each rank keeps its own queue of local keys).

    Examples:
        >>> from domainssl.models import create_backbone
        >>> net = create_backbone("resnet18", in_chans=1)
        >>> moco = MoCo(net, net.num_features, MoCoOptions(queue_size=16))
        >>> moco([torch.randn(4, 1, 32, 32)] * 2).embedding.shape
        torch.Size([4, 128])
    """

    name = "moco"
    description = "Momentum Contrast v2 (key queue) or v3 (in-batch keys, predictor) (He et al. 2020; Chen et al. 2021)"
    num_views = 2
    Options = MoCoOptions

    def __init__(self, backbone: nn.Module, num_features: int, options: MoCoOptions | None = None) -> None:
        super().__init__()
        self.options = opts = options or MoCoOptions()
        v3 = opts.version == 3
        hidden = opts.hidden_dim or (2 * num_features if v3 else num_features)
        out = opts.out_dim or (256 if v3 else 128)
        self.symmetric = v3 or bool(opts.symmetric)
        self.encoder = backbone
        if v3:
            self.projector = MLP(num_features, hidden, out, bn_last=True, bn_last_affine=False)
            self.predictor = MLP(out, hidden, out)
        else:
            self.projector = MLP(num_features, hidden, out, hidden_bn=False)
            self.queue = KeyQueue(opts.queue_size, out)
        self.key_encoder = copy.deepcopy(backbone).requires_grad_(False)
        self.key_projector = copy.deepcopy(self.projector).requires_grad_(False)
        self.momentum_start = opts.momentum

    def forward(self, views: list[torch.Tensor]) -> MethodOutput:
        if len(views) != 2:
            raise ValueError(f"moco: expected 2 views, got {len(views)}; set the modality views to 2")
        x1, x2 = views  # N x C x H x W (or N x C x D x H x W)
        z1 = self.projector(self.encoder(x1))  # N x D
        with torch.no_grad():  # stop-gradient: keys come from the momentum encoder
            k2 = F.normalize(self.key_projector(self.key_encoder(x2)), dim=1).detach()  # N x D
            k1 = F.normalize(self.key_projector(self.key_encoder(x1)), dim=1).detach() if self.symmetric else None
        z2 = self.projector(self.encoder(x2)) if self.symmetric else None  # N x D
        tau = self.options.temperature
        if self.options.version == 3:
            q1, q2 = self.predictor(z1), self.predictor(z2)  # N x D each
            loss = (info_nce(q1, k2, None, tau) + info_nce(q2, k1, None, tau)) * 2 * tau
            return MethodOutput(loss=loss, embedding=z1.detach())
        negatives = self.queue.negatives()  # K x D, a copy: the enqueue below must not touch the graph
        loss = info_nce(z1, k2, negatives, tau)
        if self.symmetric:
            loss = (loss + info_nce(z2, k1, negatives, tau)) / 2
        self.queue.enqueue(k2)  # side effect: FIFO update, after the loss has read the old keys
        if self.symmetric:
            self.queue.enqueue(k1)
        return MethodOutput(loss=loss, embedding=z1.detach())

    @torch.no_grad()
    def update_target(self, momentum: float) -> None:
        update_momentum(self.encoder, self.key_encoder, momentum)
        update_momentum(self.projector, self.key_projector, momentum)
