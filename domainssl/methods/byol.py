"""BYOL: Bootstrap Your Own Latent (Grill et al., NeurIPS 2020).

online:  x → encoder → projector → predictor → p
target:  x → target_encoder → target_projector → z'   (EMA of online, no gradient)
loss:    (2 − 2 cos(p1, z2')) + (2 − 2 cos(p2, z1'))   (symmetrised, summed as in the paper)
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
import torch.nn as nn

from domainssl.methods.base import MethodOutput, SSLMethod
from domainssl.methods.losses import byol_loss
from domainssl.methods.momentum import update_momentum
from domainssl.methods.registry import register_method
from domainssl.models.heads import MLP


@dataclass
class BYOLOptions:
    """``method.*`` keys of BYOL."""

    hidden_dim: int | None = None  # projector/predictor width; None = 2 x backbone features (4096 for 2048)
    out_dim: int = 256  # projection size
    tau_base: float = 0.996  # target EMA momentum at step 0, cosine-scheduled to 1 by the loop

    def __post_init__(self) -> None:
        if not 0.0 <= self.tau_base <= 1.0:
            raise ValueError(f"method.tau_base: must be in [0, 1], got {self.tau_base}")


@register_method
class BYOL(SSLMethod):
    """BYOL built from a backbone returning N x ``num_features`` pooled features.

    Optimiser defaults: the paper uses LARS, lr 0.2 x batch/256, wd 1.5e-6 at batch 4096. The
    defaults here target the small single-device runs this toolkit mostly does (batch 32–256,
    a few thousand steps): AdamW, peak lr 2e-3 x batch/256 (5e-4 at batch 64), wd 0.05 on weights
    (the loop leaves biases and norms undecayed). Use ``optim.name=lars optim.lr=...`` for the paper.

    Examples:
        >>> from domainssl.models import create_backbone
        >>> net = create_backbone("resnet18", in_chans=1)
        >>> byol = BYOL(net, net.num_features)
        >>> out = byol([torch.randn(4, 1, 32, 32), torch.randn(4, 1, 32, 32)])
        >>> out.embedding.shape
        torch.Size([4, 256])
    """

    name = "byol"
    description = "Bootstrap Your Own Latent: online/target networks, predictor, EMA target (Grill et al. 2020)"
    num_views = 2
    Options = BYOLOptions

    def __init__(self, backbone: nn.Module, num_features: int, options: BYOLOptions | None = None) -> None:
        super().__init__()
        self.options = options or BYOLOptions()
        hidden = self.options.hidden_dim or 2 * num_features
        out = self.options.out_dim
        self.encoder = backbone
        self.projector = MLP(num_features, hidden, out)
        self.predictor = MLP(out, hidden, out)
        self.target_encoder = copy.deepcopy(backbone).requires_grad_(False)
        self.target_projector = copy.deepcopy(self.projector).requires_grad_(False)
        self.momentum_start = self.options.tau_base

    def forward(self, views: list[torch.Tensor]) -> MethodOutput:
        if len(views) != 2:
            raise ValueError(f"byol: expected 2 views, got {len(views)}; set the modality views to 2")
        x1, x2 = views  # N x C x H x W (or N x C x D x H x W)
        z1 = self.projector(self.encoder(x1))  # N x D
        z2 = self.projector(self.encoder(x2))  # N x D
        p1 = self.predictor(z1)  # N x D
        p2 = self.predictor(z2)  # N x D
        with torch.no_grad():  # stop-gradient: the target is moved only by update_target()
            t1 = self.target_projector(self.target_encoder(x1))  # N x D
            t2 = self.target_projector(self.target_encoder(x2))  # N x D
        loss = byol_loss(p1, t2.detach()) + byol_loss(p2, t1.detach())
        return MethodOutput(loss=loss, embedding=z1.detach())

    @torch.no_grad()
    def update_target(self, momentum: float) -> None:
        update_momentum(self.encoder, self.target_encoder, momentum)
        update_momentum(self.projector, self.target_projector, momentum)
