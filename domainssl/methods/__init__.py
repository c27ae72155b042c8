"""SSL methods: ``get_method_class("byol")``, ``list_methods()``; importing this package registers them."""

from domainssl.methods import byol, moco, simclr, simsiam  # noqa: F401  (register the built-in methods)
from domainssl.methods.base import MethodOutput, SSLMethod
from domainssl.methods.registry import get_method_class, list_methods, register_method

__all__ = ["MethodOutput", "SSLMethod", "get_method_class", "list_methods", "register_method"]
