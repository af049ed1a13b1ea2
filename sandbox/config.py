"""Start-up configuration of the sandbox: credentials, seed, provider rules and initial faults."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from sandbox.dialects import (
    BackdCancelled,
    BackdRefusalStatus,
    BackdReplacedRefund,
    BackdTime,
    FastpodErrors,
    ShoplazzaRefundList,
    ShoplazzaRefundStatus,
    ShoplazzaStateRefusal,
)
from sandbox.faults import FaultSettings
from schemas import Provider

DEFAULT_BACKD_PUBLIC_KEY = "pk_sandbox"
DEFAULT_BACKD_SECRET_KEY = "sk_sandbox"
DEFAULT_SHOPLAZZA_TOKEN = "shoplazza-sandbox-token"
DEFAULT_FASTPOD_TOKEN = "fastpod-sandbox-token"
# Documented default of the Shoplazza app/store bucket (providers.md 2.8).
DEFAULT_BUCKET_SIZE = 40
DEFAULT_LEAK_PER_S = 2.0
DEFAULT_ORDERS_PER_PROVIDER = 24


class SandboxConfig(BaseModel):
    """Everything the sandbox starts from; ``POST /_admin/reset`` returns to it.

    Attributes:
        seed: seed of the one ``random.Random`` behind faults and jitter.
        orders_per_provider: how many seeded orders each provider starts with.
        backd_keys: Backd public key -> secret key (HTTP Basic user:password).
        shoplazza_tokens: Shoplazza access tokens, each valid for every store.
        fastpod_tokens: FastPOD bearer tokens.
        shoplazza_bucket_size: leaky-bucket capacity per store.
        shoplazza_leak_per_s: requests drained from each store's bucket per second.
        backd_credit_limit: highest ``order_total`` an update may raise an order to.
        backd_refusal_status, backd_time, backd_cancelled, backd_replaced_refund,
            shoplazza_state_refusal, shoplazza_retry_after, shoplazza_refund_list,
            shoplazza_refund_status, fastpod_errors: the dialect (``sandbox.dialects``).
        faults: initial fault settings per provider.
    """

    model_config = ConfigDict(extra="forbid")

    seed: int = 0
    orders_per_provider: int = Field(default=DEFAULT_ORDERS_PER_PROVIDER, ge=0)
    backd_keys: dict[str, str] = Field(
        default_factory=lambda: {DEFAULT_BACKD_PUBLIC_KEY: DEFAULT_BACKD_SECRET_KEY}
    )
    shoplazza_tokens: list[str] = Field(default_factory=lambda: [DEFAULT_SHOPLAZZA_TOKEN])
    fastpod_tokens: list[str] = Field(default_factory=lambda: [DEFAULT_FASTPOD_TOKEN])
    shoplazza_bucket_size: int = Field(default=DEFAULT_BUCKET_SIZE, ge=1)
    shoplazza_leak_per_s: float = Field(default=DEFAULT_LEAK_PER_S, gt=0)
    backd_credit_limit: float = Field(default=1_000_000.0, gt=0)
    backd_refusal_status: BackdRefusalStatus = 200
    backd_time: BackdTime = "chicago"
    backd_cancelled: BackdCancelled = "order_cancelled"
    backd_replaced_refund: BackdReplacedRefund = "declined"
    shoplazza_state_refusal: ShoplazzaStateRefusal = 406
    shoplazza_retry_after: bool = True
    shoplazza_refund_list: ShoplazzaRefundList = "refund_orders"
    shoplazza_refund_status: ShoplazzaRefundStatus = "finished"
    fastpod_errors: FastpodErrors = "mixed"
    faults: dict[Provider, FaultSettings] = Field(default_factory=dict)


class RuntimeSettings(BaseModel):
    """The provider rules and dialect ``POST /_admin/settings`` may change while it runs."""

    model_config = ConfigDict(extra="forbid")

    shoplazza_bucket_size: int | None = Field(default=None, ge=1)
    shoplazza_leak_per_s: float | None = Field(default=None, gt=0)
    backd_credit_limit: float | None = Field(default=None, gt=0)
    backd_refusal_status: BackdRefusalStatus | None = None
    backd_time: BackdTime | None = None
    backd_cancelled: BackdCancelled | None = None
    backd_replaced_refund: BackdReplacedRefund | None = None
    shoplazza_state_refusal: ShoplazzaStateRefusal | None = None
    shoplazza_retry_after: bool | None = None
    shoplazza_refund_list: ShoplazzaRefundList | None = None
    shoplazza_refund_status: ShoplazzaRefundStatus | None = None
    fastpod_errors: FastpodErrors | None = None
