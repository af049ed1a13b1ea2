"""``ordercmd bulk``, ``batch …`` and ``hash-secret`` with click's CliRunner on a private Redis."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import pytest
import redis
from argon2 import PasswordHasher
from click.testing import CliRunner, Result

from cli.main import cli
from config.settings import get_settings
from config.web import KEY, hash_of, key_id_of
from store import keys
from tests.integration.harness import ROOT

EXAMPLES = ROOT / "examples"
HEADER = "kind,provider,account,order_id,reason,amount,changes,line_items,idempotency_key\n"
ACCOUNTS = {
    "ACME": {"PROVIDER": "backd", "PUBLIC_KEY": "pk", "SECRET_KEY": "sk"},
    "STORE": {"PROVIDER": "shoplazza", "ACCESS_TOKEN": "tok"},
    "POD": {"PROVIDER": "fastpod", "TOKEN": "tok"},
}

Run = Callable[..., Result]


@pytest.fixture
def run(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Run]:
    """``ordercmd ARGS...`` in this process, with the examples' three accounts configured."""
    monkeypatch.setenv("ORDERCMD_REDIS_URL", redis_url)
    for name, fields in ACCOUNTS.items():
        monkeypatch.setenv(f"ORDERCMD_ACCOUNTS__{name}__BASE_URL", "http://provider.invalid")
        for field, value in fields.items():
            monkeypatch.setenv(f"ORDERCMD_ACCOUNTS__{name}__{field}", value)
    get_settings.cache_clear()

    def invoke(*args: str, input: str | bytes | None = None) -> Result:
        return CliRunner().invoke(cli, [str(a) for a in args], input=input)

    yield invoke
    get_settings.cache_clear()


def ok(result: Result) -> str:
    assert result.exit_code == 0, (result.output, result.exception)
    return result.stdout


def refused(result: Result) -> str:
    assert result.exit_code == 1, (result.output, result.exception)
    assert isinstance(result.exception, SystemExit), result.exception
    return result.output


def commands(client: redis.Redis) -> list[str]:
    return [str(k) for k in client.keys(keys.command("*")) if not str(k).endswith(":attempts")]


def test_a_dry_run_shows_counts_and_first_rows_and_admits_nothing(run, redis_client):
    output = ok(run("bulk", EXAMPLES / "bulk_orders.csv", "--dry-run"))
    assert "bulk_orders.csv: 8 rows, 8 valid, 0 invalid, 0 duplicate, 0 already admitted" in output
    assert "commands by provider, account and kind" in output
    assert "row 1:" in output
    assert "cancel-BO-000001" in output
    assert "dry run: nothing was admitted" in output
    assert commands(redis_client) == []


def test_the_examples_admit_as_a_batch_then_status_and_export_follow_it(run, redis_client):
    admitted = json.loads(ok(run("bulk", EXAMPLES / "bulk_orders.jsonl", "--json")))
    batch_id = admitted["batch_id"]
    assert (admitted["rows"], admitted["admitted"]) == (8, {"new": 8})
    again = json.loads(ok(run("bulk", EXAMPLES / "bulk_orders.csv", "--json")))
    assert (again["existing"], again["admitted"]) == (8, {"existing": 8})
    status = json.loads(ok(run("batch", "status", batch_id, "--json")))
    # waiting in their accounts' backlogs (no worker runs here), not queued on the broker
    assert (status["commands"], status["counts"]["waiting"], status["done"]) == (8, 8, False)
    lines = ok(run("batch", "export", batch_id, "--format", "csv")).splitlines()
    assert lines[0] == "row,command_id,admission,state,reason"
    assert [line.split(",")[2:4] for line in lines[1:]] == [["new", "waiting"]] * 8
    listed = json.loads(ok(run("batch", "list", "--json")))
    assert listed[-1] == {"batch_id": batch_id, "file_name": "bulk_orders.jsonl", "rows": 8}


def test_invalid_rows_are_reported_by_row_and_field_and_nothing_is_admitted(
    run, redis_client, tmp_path
):
    path = tmp_path / "bad.csv"
    path.write_text(HEADER + 'cancel,backd,acme,BO-1,,,,,\nrefund,backd,acme,BO-2,,"1,5",,,\n')
    errors = tmp_path / "errors.csv"
    output = refused(run("bulk", path, "--errors", errors))
    assert "Input should be a valid decimal" in output
    assert "1 of 2 rows are invalid: nothing was admitted" in output
    assert errors.read_text().splitlines() == [
        "row,field,reason",
        "2,amount,Input should be a valid decimal",
    ]
    assert commands(redis_client) == []
    skipped = json.loads(ok(run("bulk", path, "--skip-invalid", "--json")))
    assert skipped["admitted"] == {"new": 1, "invalid": 1}


@pytest.mark.parametrize(
    ("content", "args", "message"),
    [
        ((HEADER + "cancel,backd,acme,caf\xe9,,,,,\n").encode("latin-1"), [], "line 2: not UTF-8"),
        (b"kind,provider\ncancel,backd\n", [], "missing columns: account, order_id"),
        (
            (HEADER + "cancel,backd,acme,BO-1,,,,,\n").encode(),
            ["--max-bytes", "50"],
            "over the limit of 50",
        ),
    ],
)
def test_unusable_files_are_refused_with_one_clear_line(run, tmp_path, content, args, message):
    path = tmp_path / "orders.csv"
    path.write_bytes(content)
    assert message in refused(run("bulk", path, *args))


def test_standard_input_is_read_as_csv_with_the_limit_checked_while_streaming(run):
    text = HEADER + "cancel,backd,acme,BO-1,,,,,\n"
    assert json.loads(ok(run("bulk", "-", "--json", input=text)))["admitted"] == {"new": 1}
    assert "larger than the limit of 60 bytes" in refused(
        run("bulk", "-", "--max-bytes", "60", input=text)
    )


def test_cancel_discards_the_batch_and_watch_ends_once_all_have_ended(run, redis_client):
    batch_id = json.loads(ok(run("bulk", EXAMPLES / "bulk_orders.csv", "--json")))["batch_id"]
    cancelled = json.loads(ok(run("batch", "cancel", batch_id, "--why", "wrong file", "--json")))
    assert cancelled == {"discarded": 8, "untouched": 0}
    output = ok(run("batch", "watch", batch_id, "--interval", "0.05"))
    assert "cancelled by" in output
    assert "discarded" in output
    assert "unknown, or expired" in refused(run("batch", "status", "nope"))


def test_hash_secret_reads_stdin_and_generate_prints_a_new_key_once():
    runner = CliRunner()
    hashed = runner.invoke(cli, ["hash-secret"], input="s3cret\n").stdout.strip()
    assert PasswordHasher().verify(hashed, "s3cret")
    generated = runner.invoke(cli, ["hash-secret", "--generate"])
    key = generated.stderr.split("new key (shown once): ")[1].strip()
    assert KEY.fullmatch(key), "oc_<key id>_<secret>"
    stored = generated.stdout.strip()
    assert key_id_of(stored) == key.split("_")[1], "the stored form starts with the key id"
    assert PasswordHasher().verify(hash_of(stored), key)
    again = runner.invoke(cli, ["hash-secret", "--stdin"], input=key + "\n").stdout.strip()
    assert key_id_of(again) == key_id_of(stored)
    assert runner.invoke(cli, ["hash-secret", "--stdin"], input="\n").exit_code == 2
