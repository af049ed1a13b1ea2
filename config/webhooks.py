"""Webhook settings: subscriptions named in the settings, the delivery policy, URL checks.

A subscription's URL is refused when it carries credentials (``user:pass@``) or a secret in its
query (a ``whsec_`` value, or a parameter named like a token or key): the URL is shown to
operators and written to logs, the secret is not. Plain ``http`` is for loopback receivers only.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from providers.errors import ConfigError

EVENT_KINDS = (
    "succeeded",
    "already_done",
    "dead",
    "discarded",
    "retry_scheduled",
    "replayed",
    "edited",
)
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
_SECRET_NAMES = re.compile(
    r"(secret|token|passw|pwd|api[-_]?key|apikey|access[-_]?key|signature|sig|auth|credential)",
    re.IGNORECASE,
)
_SECRET_VALUES = re.compile(r"(whsec_|sk_|pk_live|bearer\s)", re.IGNORECASE)


NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")  # fits a broker task id


def check_subscription_names(names: list[str]) -> None:
    """Raise ``ValueError`` for a subscription name that is not letters, digits, ``_.-``."""
    for name in names:
        if not NAME_PATTERN.fullmatch(name):
            raise ValueError(f"webhook subscription name {name!r}: letters, digits, _ . - only")


class InvalidWebhookUrl(ConfigError):
    """The webhook URL is refused (not http(s), credentials or a secret in it, or no host)."""


def check_webhook_url(url: str) -> str:
    """The URL if a webhook may be sent to it.

    Raises:
        InvalidWebhookUrl: it is not ``https`` (or ``http`` to a loopback host), has no host,
            or carries credentials or a secret; the message never repeats the secret.
    """
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidWebhookUrl("a webhook URL is https://host/path (http only for loopback)")
    if parts.scheme == "http" and parts.hostname not in LOOPBACK_HOSTS:
        raise InvalidWebhookUrl(f"plain http is for loopback receivers only, not {parts.hostname}")
    if parts.username is not None or parts.password is not None:
        raise InvalidWebhookUrl("credentials in a webhook URL are refused: the secret signs")
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        if _SECRET_NAMES.search(name) or _SECRET_VALUES.search(value):
            raise InvalidWebhookUrl(
                f"a webhook URL may not carry a secret (query parameter {name!r}): "
                "receivers verify the signature instead"
            )
    if _SECRET_VALUES.search(parts.path):
        raise InvalidWebhookUrl("a webhook URL may not carry a secret in its path")
    if parts.fragment:
        raise InvalidWebhookUrl("a webhook URL has no #fragment")
    return url.strip()


class InvalidProducerName(ConfigError):
    """A subscription's producer is not a producer's name."""


def check_producer_name(name: str | None) -> str | None:
    """The name (None: every producer) if it can be a producer's.

    Raises:
        InvalidProducerName: it is not letters, digits, ``_.-`` (at most 64).
    """
    if name is not None and not NAME_PATTERN.fullmatch(name):
        raise InvalidProducerName(f"producer {name!r}: letters, digits, _ . - only (at most 64)")
    return name


def check_event_kinds(kinds: list[str]) -> list[str]:
    """The kinds if each is an outcome event kind (``EVENT_KINDS``).

    Raises:
        ConfigError: one is not.
    """
    unknown = sorted(set(kinds) - set(EVENT_KINDS))
    if unknown or not kinds:
        raise ConfigError(f"event kinds must be some of {', '.join(EVENT_KINDS)}: got {unknown}")
    return kinds


class WebhookSubscription(BaseModel):
    """A subscription named in the settings (``[webhooks.<name>]``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    url: str
    secret: SecretStr  # whsec_<base64>, as ``ordercmd webhooks new-secret`` prints it
    previous_secret: SecretStr | None = None  # also signs while a rotation overlaps
    events: list[str] = Field(default_factory=lambda: list(EVENT_KINDS[:4]))
    provider: str | None = None
    account: str | None = None
    # the producer (web.producers.<name>, or a Python Producer's name) whose commands it gets;
    # None: every command's
    producer: str | None = Field(default=None, pattern=f"^{NAME_PATTERN.pattern}$")

    @field_validator("url")
    @classmethod
    def _url(cls, url: str) -> str:
        try:
            return check_webhook_url(url)
        except InvalidWebhookUrl as exc:
            raise ValueError(str(exc)) from None

    @field_validator("events")
    @classmethod
    def _events(cls, events: list[str]) -> list[str]:
        try:
            return check_event_kinds(events)
        except ConfigError as exc:
            raise ValueError(str(exc)) from None

    @field_validator("secret", "previous_secret")
    @classmethod
    def _secret(cls, secret: SecretStr | None) -> SecretStr | None:
        if secret is not None and not secret.get_secret_value().startswith("whsec_"):
            raise ValueError("a webhook secret is whsec_<base64> (ordercmd webhooks new-secret)")
        return secret


class WebhookPolicy(BaseModel):
    """How webhooks are delivered: deadline, retries, rate, breaker, when to disable."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    timeout_s: float = Field(default=10.0, gt=0)  # total deadline of one delivery call
    max_attempts: int = Field(default=8, ge=1)  # then the delivery is dead-lettered
    base_s: float = Field(default=1.0, gt=0)
    cap_s: float = Field(default=300.0, gt=0)
    rate_per_s: float = Field(default=200.0, gt=0)  # calls per second to one endpoint (origin)
    burst: int = Field(default=20, ge=1)  # calls it may take at once after a quiet spell
    breaker_failures: int = Field(default=5, ge=1)  # failed calls within the window: open
    breaker_window_s: float = Field(default=60.0, gt=0)
    cool_down_s: float = Field(default=30.0, gt=0)  # open this long, then one probe call
    disable_after_s: float = Field(default=24 * 3600.0, gt=0)  # failing this long: disabled
    batch: int = Field(default=100, ge=1)  # events one delivery task looks at
    batch_budget_s: float = Field(default=2.0, gt=0)  # a task hands over after this long
