"""The benchmark fine-tunes in bf16 only where the hardware runs it natively, unless asked otherwise."""

import pytest

import domainssl.device


@pytest.mark.parametrize("native, expected", [("bf16", "bf16"), ("fp32", "fp32")])
def test_auto_is_bf16_only_on_native_hardware(bench, monkeypatch, native, expected):
    monkeypatch.setattr(domainssl.device, "resolve_precision", lambda *args: native)
    assert bench.finetune_precision("auto", "cpu") == expected


def test_bf16_asked_for_on_a_cpu_without_it_is_kept_with_a_warning(bench, monkeypatch, capsys):
    monkeypatch.setattr(domainssl.device, "resolve_precision", lambda *args: "fp32")
    assert bench.finetune_precision("bf16", "cpu") == "bf16"
    assert "no native bf16" in capsys.readouterr().err
    assert bench.finetune_precision("fp32", "cpu") == "fp32"
    assert capsys.readouterr().err == ""
