"""Hypothesis strategies for valid command input, as a producer sends it."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import strategies as st

ids = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,20}", fullmatch=True)
money = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999.99"), places=2)
text = st.text(
    st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), min_size=1, max_size=40
).filter(str.strip)
patches = {
    "backd": st.fixed_dictionaries(
        {}, optional={"merchant_order_status": text, "tax_amount": money, "discount_amount": money}
    ),
    "shoplazza": st.fixed_dictionaries(
        {},
        optional={
            "note": text,
            "buyer_accepts_marketing": st.booleans(),
            "tags": st.lists(text.filter(lambda t: "," not in t), max_size=3),
        },
    ),
    "fastpod": st.fixed_dictionaries(
        {}, optional={"shipping_method": st.sampled_from([1, 2, 3, 4]), "gift_message": text}
    ),
}


@st.composite
def commands(draw: st.DrawFn) -> dict[str, object]:
    provider = draw(st.sampled_from(sorted(patches)))
    base = {"provider": provider, "account": draw(ids), "order_id": draw(ids)}
    kind = draw(st.sampled_from(["cancel", "update", "refund"]))
    if kind == "cancel":
        return {**base, "kind": kind, "reason": draw(st.none() | text)}
    if kind == "update":
        return {**base, "kind": kind, "changes": draw(patches[provider].filter(bool))}
    return {**base, "kind": kind, "amount": draw(st.none() | money)}
