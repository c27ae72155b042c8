"""Backbones and heads."""

from domainssl.models.backbone import create_backbone

__all__ = ["create_backbone"]
