"""The pretraining loop: one readable function from a resolved config to a run directory.

``RUN/config.yaml`` (resolved), ``RUN/checkpoints/last.pt`` (+ periodic ``step_N.pt``),
``RUN/metrics.csv``, ``RUN/export/`` (timm folder or MONAI state dict) and, for modalities with a
labelled evaluation split, ``RUN/evaluation.json``.
"""

from __future__ import annotations

import json
import math
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from domainssl.config import RunConfig
from domainssl.data.pipeline import build_loader, fit_stats, resolve_files, steps_per_epoch
from domainssl.device import autocast, resolve_device, resolve_precision
from domainssl.errors import ConfigError, Interrupted, NonFiniteLoss, TooManyBadFiles
from domainssl.methods import get_method_class
from domainssl.methods.momentum import cosine_schedule
from domainssl.modalities import get_modality
from domainssl.models import create_backbone
from domainssl.train.checkpoint import copy_checkpoint, load_checkpoint, rng_state, save_checkpoint, set_rng_state
from domainssl.train.metrics_log import MetricsLog
from domainssl.train.monitors import CollapseMonitor, Throughput, collapse_std
from domainssl.train.optim import build_optimizer, build_scheduler, with_resolved_optim
from domainssl.train.plots import plot_metrics


@dataclass
class RunResult:
    """What :func:`pretrain` produced."""

    run_dir: Path
    steps: int
    final_loss: float | None
    export_dir: Path | None
    evaluation: dict[str, Any] | None


def pretrain(config: RunConfig, resume: bool = False, progress: bool = True) -> RunResult:
    """Pretrain a backbone with the configured SSL method and write the run directory.

    Args:
        config: a resolved configuration (:meth:`domainssl.config.RunConfig.resolve`).
        resume: continue from ``RUN/checkpoints/last.pt`` (same views, same batch order).
        progress: show a tqdm progress bar.
    """
    run_dir = Path(config.train.out)
    checkpoint_path = run_dir / "checkpoints" / "last.pt"
    state = load_checkpoint(checkpoint_path) if resume else None
    device = resolve_device(config.train.device)
    modality = get_modality(config.modality.name, config.modality.options)
    precision = resolve_precision(config.train.precision, device, modality.spatial_dims)
    if state is not None:  # the statistics the run was trained with travel with it
        saved = state["config"]["modality"]
        modality.options.mean, modality.options.std = saved["mean"], saved["std"]
    files = resolve_files(config, modality)
    bad_files: dict[str, str] = {}
    if modality.options.mean is None:
        bad_files.update(fit_stats(modality, files, config.data.stats_samples))

    method_cls = get_method_class(config.method.name)
    total_steps = config.train.steps or config.train.epochs * steps_per_epoch(config, modality, len(files))
    if total_steps < 1:
        raise ConfigError(f"train.steps must be at least 1, got {total_steps}")
    config = with_resolved_optim(config)
    run_dir.mkdir(parents=True, exist_ok=True)
    config.save(run_dir / "config.yaml")

    torch.manual_seed(config.train.seed)
    backbone = create_backbone(config.model.backbone, modality.in_chans, modality.spatial_dims)
    method = method_cls(backbone, backbone.num_features, config.method.options).to(device)
    memory_format = torch.channels_last if config.train.channels_last and modality.spatial_dims == 2 else None
    if memory_format is not None:
        method = method.to(memory_format=memory_format)
    optimizer = build_optimizer(method, config.optim)
    scheduler = build_scheduler(optimizer, total_steps, config.optim)
    scaler = torch.amp.GradScaler(device.type, enabled=precision == "fp16")

    step = 0
    if state is not None:
        method.load_state_dict(state["method"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        set_rng_state(state["rng"])
        step = state["step"]
        bad_files.update(state.get("bad_files", {}))

    loader = build_loader(config, modality, files, method_cls.num_views, total_steps, start_step=step)
    epoch_steps = steps_per_epoch(config, modality, len(files))
    log_every = config.train.log_every or (1 if total_steps <= 50 else 10)
    metrics = MetricsLog(run_dir / "metrics.csv", resume_step=step if state is not None else None)
    monitor, speed = CollapseMonitor(config.train.collapse_threshold), Throughput()
    last_loss: float | None = None

    def checkpoint(path: Path) -> None:
        save_checkpoint(path, {
            "method": method.state_dict(), "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(), "step": step, "rng": rng_state(),
            "config": config.to_dict(), "bad_files": bad_files, "metrics": _monitored(last_loss),
        })

    bar = tqdm(total=total_steps, initial=step, disable=not progress, desc=f"{config.method.name}", unit="step")
    method.train()
    with _StopRequest() as stop:
        for views, bad in loader:
            bad_files.update((b.path, b.reason) for b in bad)
            _check_bad_files(bad_files, len(files), config.data.max_bad_fraction)
            if not views:  # every file of this batch was unreadable (and the limit allows it)
                continue
            views = [v.to(device, non_blocking=True, memory_format=memory_format or torch.contiguous_format)
                     for v in views]
            with autocast(precision, device):
                out = method(views)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(out.loss).backward()
            scaler.step(optimizer)
            scaler.update()
            lr = optimizer.param_groups[0]["lr"]  # the lr this step used
            scheduler.step()
            momentum = None
            if method.momentum_start is not None:
                momentum = cosine_schedule(step, total_steps, method.momentum_start, 1.0)
                method.update_target(momentum)
            step += 1
            speed.add(views[0].shape[0])
            bar.update(1)
            if step % log_every == 0 or step == total_steps:  # the only host syncs
                last_loss = out.loss.item()
                if not math.isfinite(last_loss):
                    raise NonFiniteLoss(
                        f"step {step}: the loss is {last_loss} (precision {precision}, lr {lr:.2e}); "
                        f"the last good checkpoint is {checkpoint_path}. Try --precision fp32 or a lower --lr."
                    )
                std = collapse_std(out.embedding).item()
                monitor.update(std, step)
                row = dict(step=step, epoch=(step - 1) // epoch_steps, loss=round(last_loss, 6), lr=lr,
                           momentum=momentum if momentum is not None else "", collapse_std=round(std, 4),
                           images_per_s=round(speed.rate(), 1), bad_files=len(bad_files))
                metrics.write(**row)
                bar.set_postfix(loss=f"{last_loss:.4f}", lr=f"{row['lr']:.2e}", std=f"{std:.2f}",
                                img_s=row["images_per_s"])
            if step % config.train.checkpoint_every == 0 and step < total_steps:
                periodic = run_dir / "checkpoints" / f"step_{step}.pt"
                checkpoint(periodic)
                copy_checkpoint(periodic, checkpoint_path)
            if stop.requested:
                break
    bar.close()
    checkpoint(checkpoint_path)
    if stop.requested:
        raise Interrupted(f"interrupted at step {step}; {checkpoint_path} saved — continue with --resume")
    return _finish(config, modality, method.encoder, run_dir, checkpoint_path, step, last_loss)


def _monitored(last_loss: float | None) -> dict[str, float]:
    """The monitored values a checkpoint and the export record."""
    return {"loss": last_loss} if last_loss is not None else {}


def _finish(config: RunConfig, modality, encoder: torch.nn.Module, run_dir: Path, checkpoint_path: Path,
            step: int, last_loss: float | None) -> RunResult:
    """Export the trained backbone from memory and run the modality's built-in evaluation, if it has one.

    The export equals ``domainssl export RUN`` of the checkpoint just written: the same spec
    (:func:`~domainssl.export.run.run_spec`) and writer, without reading config.yaml or last.pt back.
    """
    from domainssl.export.run import run_spec, write_export

    plot_metrics(run_dir / "metrics.csv", run_dir / "metrics.png")
    spec = run_spec(config.to_dict(), modality, steps=step, metrics=_monitored(last_loss),
                    checkpoint=checkpoint_path.name)
    export_dir = write_export(encoder, run_dir / "export", spec)
    evaluation = None
    if config.train.evaluate and not config.data.paths:  # it scores the synthetic world, not the user's data
        from domainssl.evaluate.knn import evaluate_before_after

        evaluation = evaluate_before_after(config, modality, encoder.float().to(memory_format=torch.contiguous_format))
        if evaluation is not None:
            (run_dir / "evaluation.json").write_text(json.dumps(evaluation, indent=2))
    return RunResult(run_dir=run_dir, steps=step, final_loss=last_loss, export_dir=export_dir, evaluation=evaluation)


def _check_bad_files(bad_files: dict[str, str], num_files: int, max_fraction: float) -> None:
    if bad_files and len(bad_files) > max_fraction * num_files:
        listing = "\n  ".join(list(bad_files.values())[:10])
        raise TooManyBadFiles(
            f"{len(bad_files)} of {num_files} files could not be used (limit: data.max_bad_fraction = "
            f"{max_fraction}):\n  {listing}\nFix or remove these files, or raise the limit with "
            f"--set data.max_bad_fraction=F."
        )


class _StopRequest:
    """First Ctrl-C / SIGTERM asks the loop to stop after the current step; a second one aborts."""

    def __enter__(self) -> "_StopRequest":
        self.requested = False
        self.previous = {}
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                self.previous[sig] = signal.signal(sig, self._request)
            except ValueError:  # not in the main thread: leave signals alone
                pass
        return self

    def __exit__(self, *exc) -> None:
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)

    def _request(self, signum, frame) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
