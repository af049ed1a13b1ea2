"""Which adapter class serves which provider name, and building one for an account."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import cast

from providers.accounts import BackdAccount, FastpodAccount, ShoplazzaAccount
from providers.backd import BackdProvider
from providers.base import OrderProvider
from providers.errors import ConfigError
from providers.fastpod import FastpodProvider
from providers.http import Client, Sleep
from providers.shoplazza import ShoplazzaProvider

# Typed as the Protocol, so mypy proves every registered class implements OrderProvider.
PROVIDERS: dict[str, type[OrderProvider]] = {
    BackdProvider.name: BackdProvider,
    ShoplazzaProvider.name: ShoplazzaProvider,
    FastpodProvider.name: FastpodProvider,
}


def build_provider(
    account: BackdAccount | ShoplazzaAccount | FastpodAccount,
    client: Client,
    *,
    sleep: Sleep = time.sleep,
) -> OrderProvider:
    """The adapter registered for ``account.provider``, talking through ``client``.

    Args:
        account: The account settings.
        client: The account's client, from ``providers.http.build_client(account)``.
        sleep: How read retries wait; tests pass a no-op.

    Raises:
        ConfigError: No adapter is registered for the account's provider.
    """
    adapter = PROVIDERS.get(account.provider)
    if adapter is None:
        raise ConfigError(f"no adapter registered for provider {account.provider!r}")
    # A Protocol declares no constructor; every adapter takes (account, client, *, sleep).
    construct = cast("Callable[..., OrderProvider]", adapter)
    return construct(account, client, sleep=sleep)
