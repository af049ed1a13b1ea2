"""FastPOD (print-on-demand): the adapter, its whole-order update body and its reconcile rules."""

from providers.fastpod.adapter import FastpodProvider

__all__ = ["FastpodProvider"]
