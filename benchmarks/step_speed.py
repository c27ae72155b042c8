"""Training-step speed of each SSL method under fp32, channels_last and bf16 autocast + channels_last.

Measures one optimizer step (forward of all branches, backward, AdamW step, EMA update) on random
tensors, so the number is the model's cost alone (no data loading). Prints a table; ratios taken
in one run are what to compare (these machines are shared and noisy).

    python benchmarks/step_speed.py                      # resnet18, 1 channel, 64x64, batch 64
    python benchmarks/step_speed.py --methods byol --steps 5 --size 32 --batch 16
    python benchmarks/step_speed.py --device cuda --batch 128 --steps 20   # a GPU (CUDA synchronised)
"""

from __future__ import annotations

import argparse
import time

import torch

from domainssl.device import autocast, resolve_device
from domainssl.methods import get_method_class
from domainssl.models import create_backbone


def synchronize(device: torch.device) -> None:
    """Wait for queued CUDA kernels, so a wall-clock interval covers the work it timed."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def seconds_per_step(method_name: str, args, device: torch.device, channels_last: bool, precision: str) -> float:
    torch.manual_seed(0)
    backbone = create_backbone(args.backbone, in_chans=1)
    method = get_method_class(method_name)(backbone, backbone.num_features)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    method = method.to(device, memory_format=fmt).train()
    optimizer = torch.optim.AdamW(method.parameters(), lr=1e-4)
    views = [torch.randn(args.batch, 1, args.size, args.size, device=device).to(memory_format=fmt) for _ in range(2)]
    times = []
    for step in range(args.warmup + args.steps):
        synchronize(device)
        start = time.perf_counter()
        with autocast(precision, device):
            loss = method(views).loss
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if method.momentum_start is not None:
            method.update_target(0.99)
        synchronize(device)
        if step >= args.warmup:
            times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]  # median


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--methods", nargs="+", default=["byol", "simsiam", "moco", "simclr"])
    parser.add_argument("--backbone", default="resnet18")
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    args = parser.parse_args()
    device = resolve_device(args.device)
    where = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    print(f"{args.backbone}, 1 channel, {args.size}x{args.size}, batch {args.batch}, {where}, "
          f"median of {args.steps} steps")
    print(f"{'method':<8} {'fp32 s/step':>12} {'+channels_last':>15} {'+bf16':>8} {'speed-up':>9} {'img/s (best)':>13}")
    for name in args.methods:
        fp32 = seconds_per_step(name, args, device, channels_last=False, precision="fp32")
        cl = seconds_per_step(name, args, device, channels_last=True, precision="fp32")
        bf16 = seconds_per_step(name, args, device, channels_last=True, precision="bf16")
        print(f"{name:<8} {fp32:>12.3f} {cl:>15.3f} {bf16:>8.3f} {fp32 / bf16:>8.2f}x {args.batch / bf16:>13.1f}")


if __name__ == "__main__":
    main()
