"""Settings fail closed: misspelt variables, unknown retry providers, credentials in URLs."""

from __future__ import annotations

import pytest

from cli.demo.env import demo_env
from config.settings import Settings, load_settings
from providers.errors import ConfigError
from redisconn.guard import check_store, url_problem

BACKD_ENV = {
    "ORDERCMD_ACCOUNTS__ACME__PROVIDER": "backd",
    "ORDERCMD_ACCOUNTS__ACME__BASE_URL": "https://backd.example/api",
    "ORDERCMD_ACCOUNTS__ACME__PUBLIC_KEY": "pk_live_acme",
    "ORDERCMD_ACCOUNTS__ACME__SECRET_KEY": "sk_live_TOPSECRET",
}


def load_error(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> str:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as info:
        load_settings()
    return str(info.value)


@pytest.mark.parametrize(
    ("name", "nearest"),
    [
        ("ORDERCMD_REDIS_ULR", "ORDERCMD_REDIS_URL"),
        ("ORDERCMD_LEASE_SS", "ORDERCMD_LEASE_S"),
        ("ORDERCMD_BREAKER__FAILRES", "ORDERCMD_BREAKER__FAILURES"),
        ("ORDERCMD_ACCOUNTS__ACME__SECRET_KY", "ORDERCMD_ACCOUNTS__ACME__SECRET_KEY"),
        ("ORDERCMD_WEB__SECURE_COOKIE", "ORDERCMD_WEB__SECURE_COOKIES"),
        ("ordercmd_store_timeout", "ORDERCMD_STORE_TIMEOUT_S"),
    ],
)
def test_a_misspelt_variable_is_an_error_naming_the_nearest_setting(monkeypatch, name, nearest):
    # Given a valid account and one misspelt variable (its value a would-be secret)
    # When the settings are loaded
    message = load_error(monkeypatch, {**BACKD_ENV, name: "redis://:sk_live_TOPSECRET@h:1/0"})
    # Then the error names the variable and the nearest valid name, and shows no value
    assert f"{name} is not a setting: did you mean {nearest}?" in message
    assert "TOPSECRET" not in message


def test_a_setting_below_a_plain_value_is_refused(monkeypatch):
    message = load_error(monkeypatch, {"ORDERCMD_LEASE_S__MAX": "3"})
    assert "ORDERCMD_LEASE_S takes no sub-settings" in message


def test_every_variable_the_project_sets_is_known(monkeypatch):
    # Given the variables of the demo's worker, the CLI's and the integration tests' extras
    class Sandbox:
        backd_url = fastpod_url = "http://127.0.0.1:1/x"

        @staticmethod
        def shoplazza_url(store: str) -> str:
            return f"http://127.0.0.1:1/{store}"

    env = demo_env("redis://127.0.0.1:1/0", Sandbox())  # type: ignore[arg-type]
    env |= {
        "ORDERCMD_DATA_DIR": "/tmp/x",
        "ORDERCMD_API_KEY": "k",
        "ORDERCMD_BULK_MAX_BYTES": "10",
        "ORDERCMD_STORE_TIMEOUT_S": "4",
        "ORDERCMD_ALLOW_EVICTING_REDIS": "true",
        "ORDERCMD_REQUIRE_SECURE_REDIS": "false",
        "ORDERCMD_WEB__OPERATORS__ALICE__ROLE": "viewer",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    # When loaded, Then nothing is refused
    settings = load_settings()
    assert settings.store_timeout_s == 4
    assert settings.allow_evicting_redis is True


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ({"ORDERCMD_RETRY__BACKDD__BASE_S": "1"}, "retry.backdd: no provider is called 'backdd'; "
         "did you mean 'backd'?"),
        ({"ORDERCMD_RETRY__SHOPLAZA__CAP_S": "9"}, "did you mean 'shoplazza'?"),
    ],
)  # fmt: skip
def test_a_retry_policy_for_an_unknown_provider_is_refused(monkeypatch, where, expected):
    assert expected in load_error(monkeypatch, where)


def test_a_retry_section_in_the_toml_file_names_the_nearest_provider(monkeypatch, tmp_path):
    config = tmp_path / "ordercmd.toml"
    config.write_text("[retry.fastpd]\nbase_s = 1\n")
    message = load_error(monkeypatch, {"ORDERCMD_CONFIG": str(config)})
    assert "retry.fastpd: no provider is called 'fastpd'; did you mean 'fastpod'?" in message


@pytest.mark.parametrize(
    "url",
    [
        "https://user:sk_live_TOPSECRET@backd.example/api",
        "https://sk_live_TOPSECRET@backd.example/api",
        "https://:sk_live_TOPSECRET@backd.example/api",
    ],
)
def test_credentials_in_a_base_url_are_refused_without_showing_them(monkeypatch, url):
    message = load_error(monkeypatch, {**BACKD_ENV, "ORDERCMD_ACCOUNTS__ACME__BASE_URL": url})
    assert "accounts.acme.base_url: credentials in the URL are refused" in message
    assert "TOPSECRET" not in message


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("redis://127.0.0.1:6379/0", None),
        ("redis://localhost/0", None),
        ("redis://[::1]:6379/0", None),
        ("unix:///run/redis.sock", None),
        ("rediss://:pw@redis.example:6380/0", None),
        ("redis://redis.example:6379/0", "no TLS (rediss://) and no password"),
        ("redis://:hunter2@10.0.0.5:6379/0", "has no TLS (rediss://)"),
        ("rediss://redis.example:6380/0", "has no password"),
    ],
)
def test_a_redis_over_the_network_needs_tls_and_a_password(url, problem):
    found = url_problem(url)
    if problem is None:
        assert found is None
    else:
        assert found is not None
        assert problem in found
        assert "hunter2" not in found


class NoEvictionRedis:
    """A stand-in server that answers CONFIG GET as a well-configured Redis does."""

    def config_get(self, *names: str) -> dict[str, str]:
        return {"maxmemory-policy": "noeviction", "appendonly": "yes", "save": ""}


def test_an_open_redis_is_a_warning_and_under_require_secure_redis_a_refusal():
    url = "redis://:hunter2@redis.example:6379/0"
    # Given a Redis over the network without TLS
    warned = check_store(Settings(redis_url=url), NoEvictionRedis(), url)  # type: ignore[arg-type]
    # Then by default it is a warning at start
    assert len(warned) == 1
    assert "has no TLS" in warned[0]
    # And under require_secure_redis a refusal, naming the setting, password hidden
    strict = Settings(redis_url=url, require_secure_redis=True)
    with pytest.raises(ConfigError, match="require_secure_redis") as info:
        check_store(strict, NoEvictionRedis(), url)  # type: ignore[arg-type]
    assert "hunter2" not in str(info.value)


def test_an_open_broker_redis_is_checked_too():
    store, broker = "redis://127.0.0.1:6379/0", "redis://broker.example:6379/0"
    settings = Settings(redis_url=store, broker_url=broker, require_secure_redis=True)
    with pytest.raises(ConfigError, match=r"broker\.example"):
        check_store(settings, NoEvictionRedis(), store)  # type: ignore[arg-type]
