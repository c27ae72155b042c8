"""Device and mixed-precision choices, shared by training, evaluation and fine-tuning."""

from __future__ import annotations

import contextlib
import warnings

import torch

from domainssl.errors import ConfigError


def resolve_device(name: str) -> torch.device:
    """``auto`` → CUDA when available, else CPU. Asking for CUDA without one is an error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("--device cuda was asked for, but torch sees no CUDA device; use --device cpu")
    return torch.device(name)


def resolve_precision(name: str, device: torch.device, spatial_dims: int = 2) -> str:
    """``auto`` → bf16 where the hardware runs it natively (recent GPUs, CPUs with AVX512-BF16/AMX), else fp32.

    3D models on CPU stay fp32: oneDNN's bf16 Conv3d backward gave non-finite gradients on 2³ feature
    maps (MONAI ResNet-18, 32³ crops) in our tests.
    """
    if name != "auto":
        warn_if_emulated(name, device)
        return name
    if device.type == "cuda":
        return "bf16" if native_bf16(device) else "fp16"
    if spatial_dims == 3:
        return "fp32"
    return "bf16" if native_bf16(device) else "fp32"


def native_bf16(device: torch.device) -> bool:
    """Whether ``device`` runs bf16 natively: a recent GPU, or a CPU with AVX512-BF16 or AMX."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported()


def warn_if_emulated(precision: str, device: torch.device) -> None:
    """Warn when bf16 is asked for on a CPU that only emulates it (AVX2 only: a ToF segmentation fine-tuning step
    took 44 s on one core, against 0.76 s on a CPU with AVX512-BF16)."""
    if precision == "bf16" and device.type == "cpu" and not native_bf16(device):
        warnings.warn("bf16 was asked for, but this CPU has no native bf16 (AVX512-BF16 or AMX) and emulates it, "
                      "some 50x slower than on one that has; use fp32 here (train.precision=fp32)", stacklevel=2)


def autocast(precision: str, device: torch.device) -> contextlib.AbstractContextManager:
    """Autocast context for ``precision`` (a no-op for fp32)."""
    if precision == "fp32":
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast(device_type=device.type, dtype=dtype)
