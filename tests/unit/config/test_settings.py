"""Settings from ``ORDERCMD_CONFIG``'s TOML file and the environment, and their errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.settings import RetryPolicy, Settings, load_settings
from providers.errors import ConfigError

SECRETS = ("sk_live_TOPSECRET", "shp_TOKEN_TOPSECRET", "pod_TOKEN_TOPSECRET")

BACKD = """
[accounts.acme]
provider = "backd"
base_url = "https://sandbox.backd.example/api"
public_key = "pk_live_acme"
secret_key = "sk_live_TOPSECRET"
"""
SHOPLAZZA = """
[accounts.shop]
provider = "shoplazza"
base_url = "https://shop.myshoplaza.example"
access_token = "shp_TOKEN_TOPSECRET"
"""
FASTPOD = """
[accounts.pod]
provider = "fastpod"
base_url = "https://api.fastpod.example"
token = "pod_TOKEN_TOPSECRET"
"""
POLICIES = """
lease_s = 142
[retry.backd]
base_s = 0.5
cap_s = 30
max_attempts = 3
"""


@pytest.fixture
def write_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Write a TOML file and point ``ORDERCMD_CONFIG`` at it."""

    def write(*parts: str) -> Path:
        path = tmp_path / "ordercmd.toml"
        path.write_text("\n".join(parts))
        monkeypatch.setenv("ORDERCMD_CONFIG", str(path))
        return path

    return write


def config_error(*parts: str, write_config) -> str:
    """The message of the ``ConfigError`` that loading ``parts`` raises."""
    write_config(*parts)
    with pytest.raises(ConfigError) as info:
        load_settings()
    return str(info.value)


def assert_no_secret(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text


def test_the_toml_file_is_read(write_config):
    # Given a TOML file with three accounts, a retry policy and a lease
    write_config(POLICIES, BACKD, SHOPLAZZA, FASTPOD)
    # When the settings are loaded
    settings = load_settings()
    # Then all of it is there
    assert sorted(settings.accounts) == ["acme", "pod", "shop"]
    acme = settings.account("acme")
    assert (acme.provider, str(acme.base_url)) == ("backd", "https://sandbox.backd.example/api")
    assert acme.secret_key.get_secret_value() == "sk_live_TOPSECRET"  # type: ignore[union-attr]
    assert settings.account("shop").access_token.get_secret_value() == "shp_TOKEN_TOPSECRET"  # type: ignore[union-attr]
    assert settings.retry_policy("backd") == RetryPolicy(base_s=0.5, cap_s=30, max_attempts=3)
    assert settings.retry_policy("fastpod") == RetryPolicy()
    assert settings.lease_s == 142


def test_the_environment_overrides_the_file(write_config, monkeypatch):
    # Given a file, and environment variables for a top-level and a nested setting
    write_config(POLICIES, BACKD)
    monkeypatch.setenv("ORDERCMD_LEASE_S", "77")
    monkeypatch.setenv("ORDERCMD_RETRY__BACKD__BASE_S", "0.25")
    monkeypatch.setenv("ORDERCMD_ACCOUNTS__ACME__TIMEOUT_S", "3")
    # When the settings are loaded
    settings = load_settings()
    # Then the environment wins, field by field; the rest still comes from the file
    assert settings.lease_s == 77
    assert settings.retry_policy("backd") == RetryPolicy(base_s=0.25, cap_s=30, max_attempts=3)
    acme = settings.account("acme")
    assert (acme.timeout_s, acme.public_key) == (3.0, "pk_live_acme")  # type: ignore[union-attr]


def test_without_a_file_the_environment_alone_configures_an_account(monkeypatch):
    monkeypatch.setenv("ORDERCMD_ACCOUNTS__POD__PROVIDER", "fastpod")
    monkeypatch.setenv("ORDERCMD_ACCOUNTS__POD__BASE_URL", "https://api.fastpod.example")
    monkeypatch.setenv("ORDERCMD_ACCOUNTS__POD__TOKEN", "pod_TOKEN_TOPSECRET")
    settings = load_settings()
    assert settings.account("pod").provider == "fastpod"


def test_a_missing_file_is_named(tmp_path, monkeypatch):
    # Given ORDERCMD_CONFIG naming a file that does not exist
    missing = tmp_path / "nowhere.toml"
    monkeypatch.setenv("ORDERCMD_CONFIG", str(missing))
    # When / Then loading says which setting and which file
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert "ORDERCMD_CONFIG" in str(info.value)
    assert str(missing) in str(info.value)


def test_a_toml_syntax_error_names_the_file_and_line(write_config):
    # Given a file with an unterminated string on line 3 (after a secret on line 2)
    path = write_config('[accounts.acme]\nsecret_key = "sk_live_TOPSECRET"\nprovider = "backd\n')
    # When / Then the error says where the file is broken, and never repeats its secret
    with pytest.raises(ConfigError) as info:
        load_settings()
    message = str(info.value)
    assert "line 3" in message
    assert str(path) in message or "ORDERCMD_CONFIG" in message, message
    assert_no_secret(message)


@pytest.mark.parametrize(
    ("broken", "field", "reason"),
    [
        pytest.param(
            BACKD.replace('secret_key = "sk_live_TOPSECRET"', ""),
            "accounts.acme",
            "secret_key: Field required",
            id="missing-credential",
        ),
        pytest.param(
            SHOPLAZZA.replace('base_url = "https://shop.myshoplaza.example"', 'base_url = "shop"'),
            "accounts.shop",
            "base_url: Input should be a valid URL",
            id="malformed-base-url",
        ),
        pytest.param(
            FASTPOD + 'tokn = "pod_TOKEN_TOPSECRET"\n',
            "accounts.pod",
            "tokn: Extra inputs are not permitted",
            id="extra-field",
        ),
        pytest.param(
            BACKD.replace('provider = "backd"', 'provider = "amazon"'),
            "accounts.acme",
            "'amazon' found using 'provider'",
            id="unknown-provider",
        ),
        pytest.param(
            "[retry.backd]\nbase_s = -1\n",
            "retry.backd.base_s",
            "greater than 0",
            id="bad-retry-policy",
        ),
        pytest.param("lease = 5\n", "lease", "Extra inputs are not permitted", id="unknown-key"),
    ],
)
def test_a_bad_setting_is_named_and_its_secrets_are_not_shown(broken, field, reason, write_config):
    # Given a file with the other accounts fine and one thing broken
    # When it is loaded
    others = [block for block in (BACKD, SHOPLAZZA, FASTPOD) if block.split("]")[0] not in broken]
    message = config_error(*others, broken, write_config=write_config)
    # Then the message names the field and the reason, and shows none of the secrets
    assert field in message
    assert reason in message
    assert_no_secret(message)


def test_an_environment_value_that_is_not_json_is_named(monkeypatch):
    monkeypatch.setenv("ORDERCMD_ACCOUNTS", "{not json sk_live_TOPSECRET")
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert "accounts" in str(info.value)
    assert_no_secret(str(info.value))


def test_an_unknown_account_lists_the_known_ones(write_config):
    write_config(BACKD, SHOPLAZZA)
    settings = load_settings()
    with pytest.raises(ConfigError) as info:
        settings.account("nope")
    assert str(info.value) == "account 'nope' is not configured (known: acme, shop)"


def test_no_accounts_says_so():
    with pytest.raises(ConfigError, match=r"known: none"):
        Settings().account("nope")


def test_secrets_never_show_in_repr_str_or_dumps(write_config):
    # Given settings holding three kinds of credential
    write_config(BACKD, SHOPLAZZA, FASTPOD)
    settings = load_settings()
    # When they are printed or dumped the usual ways
    shown = [repr(settings), str(settings), settings.model_dump_json(), str(settings.model_dump())]
    # Then no secret appears in any of them
    for text in shown:
        assert_no_secret(text)
    assert "**********" in repr(settings)


def test_a_lease_shorter_than_two_call_deadlines_is_refused_at_startup(monkeypatch, tmp_path):
    config = tmp_path / "ordercmd.toml"
    config.write_text("lease_s = 19\n" + FASTPOD)
    monkeypatch.setenv("ORDERCMD_CONFIG", str(config))
    refused = r"lease_s \(19\) must be at least 2 x accounts.pod.timeout_s \(10\)"
    with pytest.raises(ConfigError, match=refused):
        load_settings()


def test_the_default_lease_is_short_and_covers_a_default_call(monkeypatch, tmp_path):
    config = tmp_path / "ordercmd.toml"
    config.write_text(FASTPOD)
    monkeypatch.setenv("ORDERCMD_CONFIG", str(config))
    settings = load_settings()
    assert settings.lease_s <= 30  # a dead worker's commands resume within about one lease
    assert settings.lease_s >= 2 * settings.account("pod").timeout_s
