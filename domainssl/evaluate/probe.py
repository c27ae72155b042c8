"""Quick probes of a frozen backbone: linear probe (multinomial logistic regression) and kNN.

Both run on l2-normalised pooled features of a BatchNorm-recalibrated copy of the backbone
(:func:`~domainssl.evaluate.knn.recalibrate_batchnorm`): an uncalibrated BN gives meaningless features.
The linear probe standardises the features with the training mean/std and fits a linear layer by
full-batch L-BFGS on cross-entropy + L2, as the usual SSL linear evaluations do on small sets.

Examples:
    >>> result = probe_backbone(backbone, train_x, train_y, val_x, val_y, kind="linear")
    >>> sorted(result)
    ['accuracy', 'kind', 'majority_class', 'num_train', 'num_val']
"""

from __future__ import annotations

import copy
from typing import Literal

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from domainssl.evaluate.knn import extract_features, knn_accuracy, recalibrate_batchnorm


def linear_probe_accuracy(
    train_feats: torch.Tensor,
    train_labels: torch.Tensor,
    val_feats: torch.Tensor,
    val_labels: torch.Tensor,
    weight_decay: float = 1e-4,
    max_iter: int = 200,
) -> float:
    """Accuracy on ``val`` of a logistic-regression head fitted on ``train`` features.

    Args:
        train_feats / val_feats: N x F and M x F float features.
        train_labels / val_labels: int64 (N,) and (M,), classes 0..K-1.
        weight_decay: L2 penalty on the weights (not the bias), times ½‖W‖².
        max_iter: L-BFGS iterations (full batch, strong-Wolfe line search).
    """
    mean, std = train_feats.mean(0), train_feats.std(0).clamp_min(1e-6)
    x_train, x_val = (train_feats - mean) / std, (val_feats - mean) / std  # N x F, M x F
    num_classes = int(max(train_labels.max(), val_labels.max())) + 1
    head = nn.Linear(x_train.shape[1], num_classes)
    nn.init.zeros_(head.weight)
    nn.init.zeros_(head.bias)
    optimizer = torch.optim.LBFGS(head.parameters(), lr=1.0, max_iter=max_iter, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = F.cross_entropy(head(x_train), train_labels) + 0.5 * weight_decay * head.weight.pow(2).sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    with torch.no_grad():
        return float((head(x_val).argmax(1) == val_labels).float().mean())


def frozen_features(backbone: nn.Module, calibration_x: np.ndarray, *sets: np.ndarray) -> list[torch.Tensor]:
    """L2-normalised pooled features of each of ``sets`` from a copy of ``backbone`` whose BatchNorm
    statistics are recomputed on ``calibration_x`` (float32 (N, C, H, W) normalised input; unlabelled
    frames do). ``backbone`` is not modified. Returns one (len(set), F) float32 tensor per set.
    """
    net = recalibrate_batchnorm(copy.deepcopy(backbone).float().cpu(), torch.from_numpy(calibration_x))
    return [extract_features(net, torch.from_numpy(x)) for x in sets]


def probe_backbone(
    backbone: nn.Module,
    train_x: np.ndarray,
    train_y: np.ndarray,
    val_x: np.ndarray,
    val_y: np.ndarray,
    kind: Literal["knn", "linear"] = "knn",
    k: int = 20,
) -> dict[str, float | int | str]:
    """kNN or linear-probe accuracy of a (copied, BN-recalibrated) backbone on labelled normalised frames.

    Args:
        backbone: a timm model with pooled features (``num_classes=0``); it is not modified.
        train_x / val_x: float32 (N, C, H, W) normalised network input.
        train_y / val_y: int64 (N,) classes 0..K-1.
        kind: ``knn`` (weighted kNN, Wu et al. 2018) or ``linear`` (logistic regression).

    Returns:
        ``accuracy``, the val split's ``majority_class`` rate, ``num_train``, ``num_val``, ``kind``.
    """
    if kind not in ("knn", "linear"):
        raise ValueError(f"probe kind {kind!r}: choose knn or linear")
    ytrain, yval = torch.from_numpy(train_y), torch.from_numpy(val_y)
    f_train, f_val = frozen_features(backbone, train_x, train_x, val_x)  # N x F, M x F
    if kind == "knn":
        accuracy = knn_accuracy(f_train, ytrain, f_val, yval, k=k)
    else:
        accuracy = linear_probe_accuracy(f_train, ytrain, f_val, yval)
    counts = np.bincount(val_y)
    return {"kind": kind, "accuracy": accuracy, "majority_class": float(counts.max() / counts.sum()),
            "num_train": int(len(train_y)), "num_val": int(len(val_y))}
