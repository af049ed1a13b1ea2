"""Account settings per provider: where to call it and with which credentials."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, SecretStr


class _Account(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    base_url: HttpUrl
    timeout_s: float = Field(default=10.0, gt=0, le=120)  # a whole request's deadline
    rate_per_s: float | None = Field(default=None, gt=0)  # None: the provider's default
    burst: int | None = Field(default=None, ge=1)


class BackdAccount(_Account):
    """A Backd key pair (HTTP Basic: public key as user, secret key as password)."""

    provider: Literal["backd"]
    public_key: str = Field(min_length=1)
    secret_key: SecretStr


class ShoplazzaAccount(_Account):
    """A Shoplazza store: its full host as ``base_url`` and an ``Access-Token``."""

    provider: Literal["shoplazza"]
    access_token: SecretStr
    api_version: Literal["2022-01"] = "2022-01"


class FastpodAccount(_Account):
    """A FastPOD API token (``Authorization: Bearer``)."""

    provider: Literal["fastpod"]
    token: SecretStr


Account = Annotated[
    BackdAccount | ShoplazzaAccount | FastpodAccount, Field(discriminator="provider")
]
