"""bf16 only where the hardware runs it natively, unless asked for; asked for on a CPU that emulates it, a warning."""

import pytest
import torch

import domainssl.device
from domainssl.device import resolve_precision


@pytest.mark.parametrize("native, expected", [(True, "bf16"), (False, "fp32")])
def test_the_benchmarks_auto_is_bf16_only_on_native_hardware(bench, monkeypatch, native, expected):
    monkeypatch.setattr(domainssl.device, "native_bf16", lambda device: native)
    assert bench.finetune_precision("auto", "cpu") == expected
    assert bench.finetune_precision("bf16", "cpu") == "bf16"


def test_bf16_asked_for_on_a_cpu_without_it_is_kept_with_a_warning(monkeypatch, recwarn):
    monkeypatch.setattr(domainssl.device, "native_bf16", lambda device: False)
    assert resolve_precision("bf16", torch.device("cpu")) == "bf16"
    assert len(recwarn) == 1 and "no native bf16" in str(recwarn[0].message)
    assert resolve_precision("fp32", torch.device("cpu")) == "fp32"
    assert len(recwarn) == 1
