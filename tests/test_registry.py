"""The name → class registry behind modalities and methods."""

import pytest

from domainssl.methods import list_methods
from domainssl.modalities import get_modality_class, list_modalities
from domainssl.registry import Registry


def test_register_get_and_list():
    shapes = Registry("shape")

    @shapes.register
    class Disc:
        name = "disc"

    assert shapes.get("disc") is Disc and shapes.names() == ["disc"]
    with pytest.raises(KeyError, match=r"unknown shape 'cube'; registered: \['disc'\]"):
        shapes.get("cube")


def test_the_built_in_entries_are_registered():
    assert {"byol", "moco", "simclr", "simsiam"} <= set(list_methods())
    assert {"ct", "gray", "mri", "rgb", "tof"} <= set(list_modalities())
    assert get_modality_class("tof").name == "tof"
