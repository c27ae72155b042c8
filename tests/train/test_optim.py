"""Optimiser defaults: the method's own base lr scaled by batch / 256, a generic one for another optimiser."""

import pytest

from domainssl.api import make_config
from domainssl.config import OptimConfig
from domainssl.methods import get_method_class
from domainssl.train.optim import resolve_optim, with_resolved_optim


@pytest.mark.parametrize(("method", "expected"), [
    ("byol", ("adamw", 1e-3, 0.05)), ("simsiam", ("adamw", 1e-3, 0.05)), ("simclr", ("lars", 0.15, 1e-6)),
    ("moco", ("adamw", 1e-3, 0.05))])
def test_auto_takes_the_methods_optimiser_and_scales_its_lr_by_batch_over_256(method, expected):
    settings = resolve_optim(OptimConfig(), get_method_class(method), batch_size=128)
    assert (settings.name, settings.weight_decay) == (expected[0], expected[2])
    assert settings.lr == pytest.approx(expected[1])


def test_another_optimiser_gets_its_familys_base_lr_and_an_explicit_lr_wins():
    byol = get_method_class("byol")
    assert resolve_optim(OptimConfig(name="sgd"), byol, batch_size=512).lr == pytest.approx(0.1)
    explicit = resolve_optim(OptimConfig(name="sgd", lr=0.3, weight_decay=0.0), byol, batch_size=512)
    assert (explicit.lr, explicit.weight_decay) == (0.3, 0.0)


def test_the_run_config_records_the_resolved_optimiser_and_keeps_everything_else():
    asked = make_config(overrides={"modality.name": "tof", "method.name": "simclr", "train.batch_size": 512})
    resolved = with_resolved_optim(asked)
    assert (resolved.optim.name, resolved.optim.weight_decay) == ("lars", 1e-6)
    assert resolved.optim.lr == pytest.approx(0.6)
    assert resolved.optim.momentum == asked.optim.momentum and resolved.train == asked.train
