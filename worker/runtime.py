"""Long-lived resources of one worker process: settings, store, one adapter per account."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from config.settings import Settings
from providers import OrderProvider, build_client, build_provider
from store.command_store import CommandStore
from store.dispatching import Publish
from store.flow import FlowControl
from worker.folded_acks import FoldedAcks

ProviderFactory = Callable[[str], OrderProvider]


@dataclass
class Runtime:
    """What an execution needs, built once per process and passed down."""

    settings: Settings
    store: CommandStore
    publish: Publish  # sends one broker message per command id
    provider_factory: ProviderFactory
    flow: FlowControl  # shared rate limits and circuit breakers
    rng: random.Random = field(default_factory=random.Random)
    acks: FoldedAcks | None = None  # when the broker is the store's Redis
    _providers: dict[str, OrderProvider] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def provider_for(self, account: str) -> OrderProvider:
        """The adapter for ``account``, built on first use.

        Raises:
            ConfigError: no account has that name.
        """
        with self._lock:
            if account not in self._providers:
                self._providers[account] = self.provider_factory(account)
            return self._providers[account]


def account_providers(settings: Settings) -> ProviderFactory:
    """A factory building each account's adapter with its own HTTP client."""

    def build(account: str) -> OrderProvider:
        account_settings = settings.account(account)
        return build_provider(account_settings, build_client(account_settings))

    return build
