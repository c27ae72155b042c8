"""The SSL method registry: ``register_method`` (a class decorator), ``get_method_class``, ``list_methods``.

Importing :mod:`domainssl.methods` registers the built-in methods (byol, moco, simclr, simsiam).
"""

from __future__ import annotations

from domainssl.methods.base import SSLMethod
from domainssl.registry import Registry

METHODS: Registry[type[SSLMethod]] = Registry("method")
register_method = METHODS.register
get_method_class = METHODS.get
list_methods = METHODS.names
