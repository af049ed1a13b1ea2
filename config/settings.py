"""ordercmd's settings: one pydantic-settings object built at the edge (env ``ORDERCMD_*`` + TOML).

Accounts name credential sets; a command names its account, never its credentials::

    ORDERCMD_ACCOUNTS__ACME__PROVIDER=backd
    ORDERCMD_ACCOUNTS__ACME__BASE_URL=https://sandbox.service.bnpl.backd.com/v1/backd/bnpl/api
    ORDERCMD_ACCOUNTS__ACME__PUBLIC_KEY=pk_...
    ORDERCMD_ACCOUNTS__ACME__SECRET_KEY=sk_...

or the same under ``[accounts.acme]`` in the TOML file named by ``ORDERCMD_CONFIG``.
"""

from __future__ import annotations

import difflib
import os
import tomllib
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from config.env_names import unknown_variables
from config.web import WebSettings
from config.webhooks import WebhookPolicy, WebhookSubscription, check_subscription_names
from providers.accounts import Account, BackdAccount, FastpodAccount, ShoplazzaAccount
from providers.errors import ConfigError
from schemas import Provider


class RetryPolicy(BaseModel):
    """Backoff and attempt budgets for one provider (DESIGN.md: base 2 s, cap 10 min, 8 / 5)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    base_s: float = Field(default=2.0, gt=0)
    cap_s: float = Field(default=600.0, gt=0)
    max_attempts: int = Field(default=8, ge=1, le=100)  # 5xx, 408 and network errors
    max_unprocessable: int = Field(default=5, ge=1, le=100)  # 422 / 409 / 423


# A lease is at least this many provider-call deadlines (an account's timeout_s): renewed by a
# heartbeat every third of it, it always outlasts a call that starts (worker/heartbeat.py).
LEASE_PER_CALL = 2


class BreakerPolicy(BaseModel):
    """When a provider account's circuit breaker opens, and for how long."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    failures: int = Field(default=5, ge=1)  # 5xx / network failures in a row within the window
    window_s: float = Field(default=60.0, gt=0)
    cool_down_s: float = Field(default=30.0, gt=0)
    probe_lease_s: float = Field(default=60.0, gt=0)  # one probe call at a time while half-open
    recheck_s: float = Field(default=1.0, gt=0)  # when callers a probe turned away look again


class QuarantinePolicy(BaseModel):
    """What the worker accepts from the broker, and how much of the refused traffic is kept."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_message_bytes: int = Field(default=64 * 1024, ge=1024)  # larger messages are refused
    max_count: int = Field(default=1000, ge=1)  # quarantined messages kept; the oldest go first
    max_age_s: int = Field(default=7 * 24 * 3600, gt=0)
    max_raw_bytes: int = Field(default=4096, ge=64)  # of each message's bytes kept


class Settings(BaseSettings):
    """Every deployment setting of ordercmd."""

    model_config = SettingsConfigDict(
        env_prefix="ORDERCMD_", env_nested_delimiter="__", extra="forbid", frozen=True
    )

    redis_url: str | None = None  # None: the CLI finds or starts a local Redis
    broker_url: str | None = None  # None: the same Redis as the store
    accounts: dict[str, Account] = Field(default_factory=dict)
    retry: dict[str, RetryPolicy] = Field(default_factory=dict)  # keyed by provider name
    # a claim's lease, renewed while its delivery works: a dead worker's commands resume after it
    lease_s: float = Field(default=20.0, gt=0)
    max_deliveries: int = Field(default=5, ge=1)  # deliveries that never finish before "poison"
    key_retention_s: int = Field(default=7 * 24 * 3600, gt=0)
    dead_letter_max_age_s: int = Field(default=30 * 24 * 3600, gt=0)
    dead_letter_max_count: int = Field(default=1_000_000, gt=0)
    dispatch_guard_s: float = Field(default=300.0, gt=0)  # re-send a message not claimed by then
    bulk_dispatch_guard_s: float = Field(default=3600.0, gt=0)  # the same for bulk commands
    scheduler_tick_s: float = Field(default=0.5, gt=0)
    # the least share of an account's rate bulk work gets while live traffic takes the rest
    bulk_share_pct: float = Field(default=10.0, ge=0, le=100)
    visibility_timeout_s: int = Field(default=3600, gt=0)
    outcomes_max_len: int = Field(default=100_000, ge=100)  # events kept in the outcome stream
    webhooks: dict[str, WebhookSubscription] = Field(default_factory=dict)
    webhook_policy: WebhookPolicy = Field(default_factory=WebhookPolicy)
    breaker: BreakerPolicy = Field(default_factory=BreakerPolicy)
    quarantine: QuarantinePolicy = Field(default_factory=QuarantinePolicy)
    # the longest any store or broker call may take before it gives up (a producer's answer,
    # a health check); at least 4 s: a socket timeout of 0.7 of it outlasts the outcome
    # stream's 2 s XREAD BLOCK (store.outcomes.BLOCK_STEP_MS)
    store_timeout_s: float = Field(default=5.0, ge=4.0, le=60.0)
    allow_evicting_redis: bool = False  # True: start on an evicting maxmemory-policy anyway
    require_secure_redis: bool = False  # True: refuse a non-loopback Redis without TLS+password
    web: WebSettings = Field(default_factory=WebSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Environment wins over the TOML file named by ``ORDERCMD_CONFIG``."""
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config = os.environ.get("ORDERCMD_CONFIG")
        if config:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(config)))
        return tuple(sources)

    @model_validator(mode="after")
    def _webhook_names(self) -> Settings:
        check_subscription_names(list(self.webhooks))
        return self

    @model_validator(mode="after")
    def _lease_outlasts_calls(self) -> Settings:
        """A call's deadline must stay well inside the lease, or it could outlive its claim."""
        for name, account in self.accounts.items():
            if self.lease_s < LEASE_PER_CALL * account.timeout_s:
                raise ValueError(
                    f"lease_s ({self.lease_s:g}) must be at least {LEASE_PER_CALL} x "
                    f"accounts.{name}.timeout_s ({account.timeout_s:g}), a provider call's deadline"
                )
        return self

    @model_validator(mode="after")
    def _retry_names_providers(self) -> Settings:
        """A retry policy under a misspelt provider name would silently never apply."""
        known = sorted(str(p) for p in Provider)
        for name in self.retry:
            if name not in known:
                nearest = difflib.get_close_matches(name, known, n=1, cutoff=0.5)
                hint = f"did you mean {nearest[0]!r}?" if nearest else f"known: {', '.join(known)}"
                raise ValueError(f"retry.{name}: no provider is called {name!r}; {hint}")
        return self

    @model_validator(mode="after")
    def _no_credentials_in_urls(self) -> Settings:
        """Userinfo in a base_url would travel into logs and messages with the URL."""
        for name, account in self.accounts.items():
            parts = urlsplit(str(account.base_url))
            if parts.username or parts.password:
                raise ValueError(
                    f"accounts.{name}.base_url: credentials in the URL are refused (they would "
                    "be logged with it); put them in the account's key or token fields"
                )
        return self

    def retry_policy(self, provider: str) -> RetryPolicy:
        """The retry policy for ``provider``: its own entry, else the defaults."""
        return self.retry.get(provider, RetryPolicy())

    def account(self, name: str) -> BackdAccount | ShoplazzaAccount | FastpodAccount:
        """The account called ``name``.

        Raises:
            ConfigError: no account has that name.
        """
        try:
            return self.accounts[name]
        except KeyError:
            known = ", ".join(sorted(self.accounts)) or "none"
            raise ConfigError(f"account {name!r} is not configured (known: {known})") from None


def load_settings(**overrides: object) -> Settings:
    """Build the settings from the environment and ``ORDERCMD_CONFIG``.

    Raises:
        ConfigError: a setting is missing or malformed; the message names the field.
    """
    config = os.environ.get("ORDERCMD_CONFIG")
    if config and not Path(config).is_file():
        raise ConfigError(f"ORDERCMD_CONFIG: no such file: {config}")
    unknown = unknown_variables(os.environ, Settings)
    if unknown:
        raise ConfigError("unknown settings in the environment:\n  " + "\n  ".join(unknown))
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise ConfigError(describe_settings_error(exc)) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"ORDERCMD_CONFIG: {config} is not valid TOML: {exc}") from None
    except ValueError as exc:  # an env value that is not valid JSON
        raise ConfigError(f"settings: {exc}") from None


def describe_settings_error(exc: ValidationError) -> str:
    """One line per problem, naming the setting: ``accounts.acme.secret_key: Field required``."""
    lines = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"])
        lines.append(f"{where}: {error['msg']}")
    return "invalid settings:\n  " + "\n  ".join(lines)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, built once."""
    return load_settings()
