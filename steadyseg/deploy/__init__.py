"""Deployment helpers: reparameterization before export, timing and FLOP counting."""

from .reparameterize import reparameterize

__all__ = ["reparameterize"]
