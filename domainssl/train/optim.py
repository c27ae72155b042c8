"""Optimiser (SGD, AdamW, LARS from timm) and the cosine schedule with linear warmup."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch
from timm.optim import Lars

from domainssl.config import OptimConfig, RunConfig
from domainssl.methods import get_method_class
from domainssl.methods.base import SSLMethod
from domainssl.schedules import warmup_cosine


@dataclass
class ResolvedOptim:
    """The optimiser settings actually used (written to the resolved config)."""

    name: str
    lr: float
    weight_decay: float


#: Base lr at batch 256 when the optimiser is not the method's own (its base_lr fits only that one).
GENERIC_BASE_LR = {"sgd": 0.05, "lars": 0.3, "adamw": 1e-3}


def resolve_optim(config: OptimConfig, method: type[SSLMethod], batch_size: int) -> ResolvedOptim:
    """Fill ``auto``/None from the method's defaults; the base lr scales linearly with batch / 256.

    A method's ``base_lr`` belongs to its ``default_optimizer``; another optimiser gets a generic
    base lr for its family (SGD 0.05, LARS 0.3, AdamW 1e-3) unless ``optim.lr`` is set.
    """
    name = method.default_optimizer if config.name == "auto" else config.name
    base_lr = method.base_lr if name == method.default_optimizer else GENERIC_BASE_LR[name]
    lr = config.lr if config.lr is not None else base_lr * batch_size / 256
    wd = config.weight_decay if config.weight_decay is not None else method.default_weight_decay
    return ResolvedOptim(name=name, lr=lr, weight_decay=wd)


def with_resolved_optim(config: RunConfig) -> RunConfig:
    """``config`` with ``optim.name``, ``lr`` and ``weight_decay`` as `resolve_optim` fills them: what a run
    trains with and saves in its ``config.yaml``."""
    settings = resolve_optim(config.optim, get_method_class(config.method.name), config.train.batch_size)
    return dataclasses.replace(config, optim=dataclasses.replace(config.optim, **dataclasses.asdict(settings)))


def build_optimizer(method: SSLMethod, settings: OptimConfig) -> torch.optim.Optimizer:
    """Optimiser over ``method.param_groups()`` with ``settings`` resolved by `with_resolved_optim`;
    biases and norm weights (1-D) get no weight decay."""
    groups = []
    for group in method.param_groups():
        params = [p for p in group["params"] if p.requires_grad]
        extra = {k: v for k, v in group.items() if k != "params"}
        decay = [p for p in params if p.ndim > 1]
        no_decay = [p for p in params if p.ndim <= 1]
        groups.append({"params": decay, "weight_decay": settings.weight_decay, **extra})
        groups.append({"params": no_decay, "weight_decay": 0.0, **extra})
    groups = [g for g in groups if g["params"]]
    if settings.name == "sgd":
        return torch.optim.SGD(groups, lr=settings.lr, momentum=settings.momentum)
    if settings.name == "adamw":
        return torch.optim.AdamW(groups, lr=settings.lr)
    if settings.name == "lars":
        return Lars(groups, lr=settings.lr, momentum=settings.momentum)
    raise ValueError(f"optim.name: {settings.name!r} is not one of sgd, adamw, lars")


def build_scheduler(optimizer: torch.optim.Optimizer, total_steps: int, config: OptimConfig):
    """Per-step LambdaLR; groups flagged ``fixed_lr`` (SimSiam's predictor) keep the peak lr."""
    warmup = int(round(config.warmup_fraction * total_steps))

    def decayed(step: int) -> float:
        return warmup_cosine(step, total_steps, warmup, config.min_lr_ratio)

    lambdas = [(lambda step: 1.0) if g.get("fixed_lr") else decayed for g in optimizer.param_groups]
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambdas)
