"""SimCLR: A Simple Framework for Contrastive Learning (Chen et al., ICML 2020).

x → encoder → projector → z for both views; NT-Xent over the 2N projections.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn

from domainssl.methods.base import MethodOutput, SSLMethod
from domainssl.methods.losses import nt_xent
from domainssl.methods.registry import register_method
from domainssl.models.heads import MLP


@dataclass
class SimCLROptions:
    """``method.*`` keys of SimCLR."""

    hidden_dim: int | None = None  # projector width; None = backbone features (2048 for ResNet-50)
    out_dim: int = 128  # projection size
    temperature: float = 0.5  # NT-Xent tau: 0.5 is the paper's CIFAR / small-batch value (0.1 for ImageNet)

    def __post_init__(self) -> None:
        if self.temperature <= 0:
            raise ValueError(f"method.temperature: must be > 0, got {self.temperature}")


@register_method
class SimCLR(SSLMethod):
    """SimCLR built from a backbone returning N x ``num_features`` pooled features.

    Each batch of N samples gives 2N views; every view has one positive and 2N − 2 negatives, so
    small batches see few negatives. Optimiser (paper): LARS, lr 0.3 x batch/256, wd 1e-6. The
    paper also synchronises BN across devices; under DDP the loop should convert to SyncBatchNorm.

    Examples:
        >>> from domainssl.models import create_backbone
        >>> net = create_backbone("resnet18", in_chans=1)
        >>> SimCLR(net, net.num_features)([torch.randn(4, 1, 32, 32)] * 2).embedding.shape
        torch.Size([4, 128])
    """

    name = "simclr"
    description = "Contrastive learning with NT-Xent over 2N views (Chen et al. 2020)"
    num_views = 2
    Options = SimCLROptions
    base_lr = 0.3
    default_optimizer = "lars"
    default_weight_decay = 1e-6

    def __init__(self, backbone: nn.Module, num_features: int, options: SimCLROptions | None = None) -> None:
        super().__init__()
        self.options = options or SimCLROptions()
        hidden = self.options.hidden_dim or num_features
        self.encoder = backbone
        self.projector = MLP(num_features, hidden, self.options.out_dim)

    def forward(self, views: list[torch.Tensor]) -> MethodOutput:
        if len(views) != 2:
            raise ValueError(f"simclr: expected 2 views, got {len(views)}; set the modality views to 2")
        x1, x2 = views  # N x C x H x W (or N x C x D x H x W)
        z1 = self.projector(self.encoder(x1))  # N x D
        z2 = self.projector(self.encoder(x2))  # N x D
        loss = nt_xent(z1, z2, self.options.temperature)
        return MethodOutput(loss=loss, embedding=z1.detach())
