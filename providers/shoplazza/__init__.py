"""Shoplazza (storefront platform): the adapter, its 2022-01 bodies and its reconcile rules."""

from providers.shoplazza.adapter import ShoplazzaProvider

__all__ = ["ShoplazzaProvider"]
