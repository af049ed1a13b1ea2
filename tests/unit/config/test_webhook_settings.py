"""Webhook URLs and secrets are checked when a subscription is configured, not when it fails."""

from __future__ import annotations

import pytest

from config.settings import load_settings
from config.webhooks import InvalidWebhookUrl, check_webhook_url
from providers.errors import ConfigError
from store.webhooks.signing import new_secret
from store.webhooks.subscriptions import Subscriptions, from_settings


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("https://user:pa55@hooks.example.com/in", "credentials"),
        ("https://hooks.example.com/in?token=abc", "'token'"),
        ("https://hooks.example.com/in?api_key=abc", "'api_key'"),
        ("https://hooks.example.com/in?x=whsec_abc", "'x'"),
        ("https://hooks.example.com/whsec_abc/in", "path"),
        ("http://hooks.example.com/in", "loopback"),
        ("ftp://hooks.example.com/in", "https://"),
        ("https:///in", "https://"),
        ("https://hooks.example.com/in#frag", "fragment"),
    ],
)
def test_a_url_with_a_secret_or_no_tls_is_refused(url, why):
    with pytest.raises(InvalidWebhookUrl) as info:
        check_webhook_url(url)
    assert why in str(info.value)
    assert "pa55" not in str(info.value)
    assert "whsec_abc" not in str(info.value)


@pytest.mark.parametrize(
    "url",
    ["https://hooks.example.com/in?tenant=7", "http://127.0.0.1:8080/hooks", "http://localhost/h"],
)
def test_plain_urls_are_accepted(url):
    assert check_webhook_url(url) == url


def test_a_settings_subscription_with_a_bad_url_or_secret_fails_at_startup(monkeypatch):
    monkeypatch.setenv("ORDERCMD_WEBHOOKS__SHOP__URL", "https://u:p@hooks.example.com/in")
    monkeypatch.setenv("ORDERCMD_WEBHOOKS__SHOP__SECRET", new_secret())
    with pytest.raises(ConfigError, match=r"webhooks\.shop\.url: .*credentials"):
        load_settings()
    monkeypatch.setenv("ORDERCMD_WEBHOOKS__SHOP__URL", "https://hooks.example.com/in")
    monkeypatch.setenv("ORDERCMD_WEBHOOKS__SHOP__SECRET", "plain-password")
    with pytest.raises(ConfigError, match=r"webhooks\.shop\.secret: .*whsec_") as info:
        load_settings()
    assert "plain-password" not in str(info.value)
    monkeypatch.setenv("ORDERCMD_WEBHOOKS__SHOP__SECRET", new_secret())
    monkeypatch.setenv("ORDERCMD_WEBHOOKS__SHOP__EVENTS", '["dead", "exploded"]')
    with pytest.raises(ConfigError, match="exploded"):
        load_settings()


def test_the_api_refuses_a_bad_subscription_before_storing_it(redis_client):
    subs = Subscriptions(redis_client, load_settings())
    with pytest.raises(InvalidWebhookUrl):
        subs.create("https://hooks.example.com/in?secret=x", ["dead"])
    with pytest.raises(ConfigError):
        subs.create("https://hooks.example.com/in", ["nope"])
    assert subs.all() == []


def test_a_settings_subscription_names_its_producer_and_gets_only_its_commands(monkeypatch):
    monkeypatch.setenv("ORDERCMD_WEBHOOKS__SHOP__URL", "https://hooks.example.com/in")
    monkeypatch.setenv("ORDERCMD_WEBHOOKS__SHOP__SECRET", new_secret())
    monkeypatch.setenv("ORDERCMD_WEBHOOKS__SHOP__PRODUCER", "shop events")
    with pytest.raises(ConfigError, match=r"webhooks\.shop\.producer"):
        load_settings()
    monkeypatch.setenv("ORDERCMD_WEBHOOKS__SHOP__PRODUCER", "shop-events")
    sub = from_settings("shop", load_settings().webhooks["shop"])
    assert sub.producer == "shop-events"
    assert sub.public()["producer"] == "shop-events"
