"""Backd (B2B pay-later): the adapter, its full-snapshot update body and its reconcile rules."""

from providers.backd.adapter import BackdProvider

__all__ = ["BackdProvider"]
