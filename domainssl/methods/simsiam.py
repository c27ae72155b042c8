"""SimSiam: Exploring Simple Siamese Representation Learning (Chen & He, CVPR 2021).

one encoder f (backbone + projector) shared by both views, predictor h on one side, stop-gradient
on the other:  L = D(p1, stopgrad(z2)) / 2 + D(p2, stopgrad(z1)) / 2,  D(p, z) = −cos(p, z).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn as nn

from domainssl.methods.base import MethodOutput, SSLMethod
from domainssl.methods.losses import negative_cosine
from domainssl.methods.registry import register_method
from domainssl.models.heads import MLP


@dataclass
class SimSiamOptions:
    """``method.*`` keys of SimSiam."""

    proj_dim: int | None = None  # projector width and output; None = backbone features (2048 for ResNet-50)
    pred_dim: int | None = None  # predictor bottleneck; None = proj_dim / 4 (512 for 2048)


@register_method
class SimSiam(SSLMethod):
    """SimSiam built from a backbone returning N x ``num_features`` pooled features.

    Projector: 3 Linear layers with BN on every layer including the output (affine-free), as in
    the reference. Predictor: ``proj_dim → pred_dim → proj_dim`` with BN on the hidden layer only.
    Optimiser defaults: the paper uses SGD, lr 0.05 x batch/256, wd 1e-4, momentum 0.9. The defaults
    here are BYOL's, which fit the short runs this toolkit mostly does: AdamW, peak lr 2e-3 x batch/256,
    wd 0.05 on weights (ToF segmentation after 2,000 steps: see ``docs/benchmarks/seg_2000.md``).
    ``optim.name=sgd optim.weight_decay=1e-4`` is the paper's (SGD's generic base lr is its 0.05). Either
    way the predictor's lr is not decayed (its parameter group carries ``fixed_lr: True``).

    Examples:
        >>> from domainssl.models import create_backbone
        >>> net = create_backbone("resnet18", in_chans=1)
        >>> SimSiam(net, net.num_features)([torch.randn(4, 1, 32, 32)] * 2).embedding.shape
        torch.Size([4, 512])
    """

    name = "simsiam"
    description = "Simple Siamese: shared encoder, predictor, stop-gradient (Chen & He 2021)"
    num_views = 2
    Options = SimSiamOptions

    def __init__(self, backbone: nn.Module, num_features: int, options: SimSiamOptions | None = None) -> None:
        super().__init__()
        self.options = options or SimSiamOptions()
        dim = self.options.proj_dim or num_features
        pred_dim = self.options.pred_dim or max(1, dim // 4)
        self.encoder = backbone
        self.projector = MLP(num_features, dim, dim, num_layers=3, bn_last=True, bn_last_affine=False)
        self.predictor = MLP(dim, pred_dim, dim)

    def forward(self, views: list[torch.Tensor]) -> MethodOutput:
        if len(views) != 2:
            raise ValueError(f"simsiam: expected 2 views, got {len(views)}; set the modality views to 2")
        x1, x2 = views  # N x C x H x W (or N x C x D x H x W)
        z1 = self.projector(self.encoder(x1))  # N x D
        z2 = self.projector(self.encoder(x2))  # N x D
        p1 = self.predictor(z1)  # N x D
        p2 = self.predictor(z2)  # N x D
        loss = negative_cosine(p1, z2.detach()) / 2 + negative_cosine(p2, z1.detach()) / 2  # stop-gradient on z
        return MethodOutput(loss=loss, embedding=z1.detach())

    def param_groups(self) -> list[dict[str, Any]]:
        """Encoder + projector follow the lr schedule; the predictor keeps the peak lr."""
        body = [*self.encoder.parameters(), *self.projector.parameters()]
        return [
            {"params": [p for p in body if p.requires_grad]},
            {"params": [p for p in self.predictor.parameters() if p.requires_grad], "fixed_lr": True},
        ]
