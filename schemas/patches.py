"""Per-provider patches an ``UpdateOrder`` carries: only the fields that change."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from schemas.money import to_cents

Text = Annotated[str, Field(max_length=500)]
Tag = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[^,]+$")]
Amount = Annotated[
    Decimal,
    Field(ge=0, max_digits=14, decimal_places=2, allow_inf_nan=False),
    AfterValidator(to_cents),
]


class _Patch(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    @model_validator(mode="after")
    def _not_empty(self) -> _Patch:
        if all(getattr(self, name) is None for name in self.model_fields_set - {"provider"}):
            raise ValueError("name at least one field to change")
        return self

    def changed(self) -> dict[str, object]:
        """The fields this patch sets, as JSON-ready values."""
        return self.model_dump(mode="json", exclude_none=True)


class BackdName(_Patch):
    """A person's name in a Backd contact."""

    first: Text | None = None
    last: Text | None = None


class BackdAddress(_Patch):
    """A postal address in a Backd contact."""

    line1: Text | None = None
    line2: Text | None = None
    city: Text | None = None
    state: Text | None = None
    zipcode: Text | None = None
    country: Text | None = None


class BackdContact(_Patch):
    """Shipping or billing contact of a Backd order."""

    name: BackdName | None = None
    company_name: Text | None = None
    address: BackdAddress | None = None
    phone_number: Text | None = None
    email: Text | None = None


class BackdItem(BaseModel):
    """One item of a Backd order; a patch that has ``items`` replaces the whole list."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    display_name: Text
    sku: Text
    unit_price: Amount
    qty: Annotated[int, Field(ge=1)]
    item_image_url: Text | None = None
    item_url: Text | None = None


class BackdPatch(_Patch):
    """Fields of a Backd order that an update may change (Backd wants a full snapshot)."""

    provider: Literal["backd"] = Field(default="backd", exclude=True)

    merchant_order_status: Text | None = None
    cart_amount: Amount | None = None
    tax_amount: Amount | None = None
    shipping_amount: Amount | None = None
    discount_amount: Amount | None = None
    shipping: BackdContact | None = None
    billing: BackdContact | None = None
    items: Annotated[list[BackdItem], Field(min_length=1)] | None = None


class ShoplazzaAddress(_Patch):
    """Shipping address fields Shoplazza's 2022-01 order update accepts."""

    first_name: Text | None = None
    last_name: Text | None = None
    email: Text | None = None
    phone: Text | None = None
    country: Text | None = None
    country_code: Text | None = None
    province: Text | None = None
    province_code: Text | None = None
    area: Text | None = None
    city: Text | None = None
    address1: Text | None = None
    address2: Text | None = None
    company: Text | None = None
    zip: Text | None = None
    phone_area_code: Text | None = None


class ShoplazzaPatch(_Patch):
    """Fields of a Shoplazza order that an update may change."""

    provider: Literal["shoplazza"] = Field(default="shoplazza", exclude=True)

    note: Text | None = None
    tags: Annotated[list[Tag], Field(max_length=250)] | None = None
    buyer_accepts_marketing: bool | None = None
    shipping_address: ShoplazzaAddress | None = None


class FastpodAddress(_Patch):
    """Ship-to address of a FastPOD order."""

    name: Text | None = None
    company: Text | None = None
    email: Text | None = None
    phone: Text | None = None
    street1: Text | None = None
    street2: Text | None = None
    city: Text | None = None
    state: Text | None = None
    country: Text | None = None
    zip: Text | None = None


class FastpodLineItem(BaseModel):
    """One FastPOD line item; a patch that has ``line_items`` replaces the whole list."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    item_id: Annotated[int, Field(ge=1)] | None = None
    sku: Text
    name: Text | None = None
    quantity: Annotated[int, Field(ge=1)]
    print_areas: dict[str, Text] = Field(default_factory=dict)
    preview_areas: dict[str, Text] = Field(default_factory=dict)


class FastpodPatch(_Patch):
    """Fields of a FastPOD order that an update may change (FastPOD wants the whole order)."""

    provider: Literal["fastpod"] = Field(default="fastpod", exclude=True)

    shipping_method: Literal[1, 2, 3, 4] | None = None
    rush_production: bool | None = None
    gift_message: Text | None = None
    address: FastpodAddress | None = None
    line_items: Annotated[list[FastpodLineItem], Field(min_length=1)] | None = None


OrderPatch = Annotated[BackdPatch | ShoplazzaPatch | FastpodPatch, Field(discriminator="provider")]
PATCH_MODELS: dict[str, type[_Patch]] = {
    "backd": BackdPatch,
    "shoplazza": ShoplazzaPatch,
    "fastpod": FastpodPatch,
}
