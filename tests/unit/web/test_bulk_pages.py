"""Bulk files on the dashboard over fakeredis: upload, dry run, start once, progress, cancel."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from starlette.testclient import TestClient

from config.web import BulkUploads
from producer.batches import Batches
from producer.bulk_export import ExportFormat, export
from store import keys
from tests.unit.web.test_web_app import Published, csrf_of, sign_in, web_settings
from web import create_app

HEADER = "kind,provider,account,order_id,reason,amount,changes,line_items,idempotency_key\n"
GOOD = (
    HEADER
    + "".join(f"cancel,backd,acme,BO-{i},bulk,,,,k-{i}\n" for i in range(3))
    + ("refund,shoplazza,store,1001-1,,5.00,,,k-s\n")
)
BAD = HEADER + (
    "cancel,backd,acme,BO-1,,,,,\n"
    'refund,backd,acme,BO-2,,"12,50",,,\n'
    "cancel,backd,nobody,BO-3,,,,,\n"
)
LIMIT = 4096


@pytest.fixture
def client(store, tmp_path) -> TestClient:
    bulk = BulkUploads(max_bytes=LIMIT, drafts_dir=tmp_path / "drafts")
    app = create_app(web_settings(bulk=bulk), store, Published())
    return TestClient(app, follow_redirects=False)


def upload(client: TestClient, name: str, content: bytes | str, csrf: str | None, **fields):
    data = {"csrf_token": csrf, **fields} if csrf else fields
    body = content.encode() if isinstance(content, str) else content
    return client.post("/bulk", data=data, files={"file": (name, body, "text/csv")})


def error_of(reply) -> str:
    found = re.search(r'<div class="error" role="alert" id="upload-error">(.*?)</div>', reply.text)
    assert found, reply.text[:800]
    return found.group(1)


def command_keys(store) -> list[str]:
    return [k for k in store.client.scan_iter(keys.command("*")) if k.count(":") == 2]


def audit(store) -> list[dict[str, str]]:
    return [fields for _, fields in store.client.xrange(keys.audit())]


def preview_of(client: TestClient, reply) -> tuple[str, str]:
    assert reply.status_code == 303, reply.text[:800]
    location = reply.headers["location"]
    assert location.startswith("/bulk/drafts/")
    page = client.get(location)
    assert page.status_code == 200
    return location.removeprefix("/bulk/drafts/"), page.text


def test_a_stranger_a_viewer_and_a_form_without_csrf_are_refused_before_anything_is_kept(
    client, store, tmp_path
):
    assert upload(client, "a.csv", GOOD, None).status_code == 401
    csrf = sign_in(client, "vic")
    assert 'id="upload-form"' not in client.get("/bulk").text
    refused = upload(client, "a.csv", GOOD, csrf)
    assert refused.status_code == 403
    assert "viewer" in refused.text
    client.post("/logout", data={"csrf_token": csrf})
    sign_in(client, "alice")
    assert upload(client, "a.csv", GOOD, None).status_code == 403
    assert upload(client, "a.csv", GOOD, "not-the-token").status_code == 403
    assert not (tmp_path / "drafts").exists() or not list((tmp_path / "drafts").iterdir())
    assert command_keys(store) == []


@pytest.mark.parametrize(
    ("name", "content", "status", "reason"),
    [
        ("empty.csv", "", 422, "the file is empty: a CSV file starts with a header row"),
        ("empty.jsonl", "\n\n", 422, "the file has no rows: nothing to admit"),
        ("orders.txt", GOOD, 422, "orders.txt: not a .csv or .jsonl file name"),
        ("photo.csv", b"\x89PNG\r\n\x1a\n\x00\xff", 422, "not UTF-8"),
        ("orders.csv", "order,amount\n1,2\n", 422, "CSV header: missing columns: kind"),
        ("big.csv", HEADER + "x" * LIMIT, 413, "larger than the limit of 4,096 bytes"),
        ("huge.csv", HEADER + "x" * 100_000, 413, "larger than the limit of 4,096 bytes"),
    ],
)
def test_a_file_refused_whole_says_why_and_is_not_kept(
    client, store, tmp_path, name, content, status, reason
):
    csrf = sign_in(client)
    reply = upload(client, name, content, csrf)
    assert reply.status_code == status, reply.text[:500]
    assert reason in error_of(reply)
    assert list((tmp_path / "drafts").glob("*")) == []
    assert command_keys(store) == []


def test_no_file_chosen_is_an_error_naming_the_field(client):
    csrf = sign_in(client)
    reply = client.post("/bulk", data={"csrf_token": csrf}, files={"file": ("", b"", "text/csv")})
    assert reply.status_code == 422
    assert error_of(reply) == "file: choose a CSV or JSONL file"


def test_an_upload_over_the_limit_is_refused_before_its_body_is_read(client):
    csrf = sign_in(client)
    reply = client.post(
        "/bulk",
        content=b"x" * 10,
        headers={"content-length": str(LIMIT + 70_000), "content-type": "multipart/form-data"},
    )
    assert reply.status_code == 413
    assert "larger than the limit" in error_of(reply)
    assert csrf


def test_the_dry_run_names_every_bad_row_and_admits_nothing(client, store):
    csrf = sign_in(client)
    draft_id, page = preview_of(client, upload(client, "bad.csv", BAD, csrf))
    assert "3 rows: 1 valid" in page
    assert "2 invalid" in page
    problems = re.findall(r"<tr><td class=\"n\">(\d+)</td><td><code>(\w+)</code></td>", page)
    assert problems == [("2", "amount"), ("3", "account")]
    assert "not a configured account" in page or "nobody" in page
    assert command_keys(store) == []
    listed = client.get(f"/bulk/drafts/{draft_id}/problems.csv")
    rows = list(csv.reader(io.StringIO(listed.text)))
    assert rows[0] == ["row", "field", "reason"]
    assert [(r[0], r[1]) for r in rows[1:]] == [("2", "amount"), ("3", "account")]
    # starting without skipping the invalid rows admits nothing
    refused = client.post(f"/bulk/drafts/{draft_id}/start", data={"csrf_token": csrf})
    assert refused.headers["location"] == f"/bulk/drafts/{draft_id}"
    assert "Not started: 2 rows are invalid" in client.get(refused.headers["location"]).text
    assert command_keys(store) == []
    # with them skipped, the valid row is admitted and the others are in the result file
    started = client.post(
        f"/bulk/drafts/{draft_id}/start", data={"csrf_token": csrf, "skip_invalid": "true"}
    )
    assert started.headers["location"] == f"/bulk/{draft_id}"
    results = client.get(f"/bulk/{draft_id}/results.csv").text.splitlines()
    assert [line.split(",")[2:4] for line in results[1:]] == [
        ["new", "waiting"],  # in its account's backlog
        ["invalid", "invalid"],
        ["invalid", "invalid"],
    ]


def test_a_good_file_counts_by_provider_account_and_kind_then_starts_once(client, store):
    csrf = sign_in(client)
    draft_id, page = preview_of(client, upload(client, "good.csv", GOOD, csrf))
    groups = re.findall(
        r"<tr><td>(\w+)</td><td>(\w+)</td><td>(\w+)</td><td class=\"n\">(\d+)</td></tr>", page
    )
    assert groups == [("backd", "acme", "cancel", "3"), ("shoplazza", "store", "refund", "1")]
    assert "Nothing has been admitted" in page
    assert command_keys(store) == []
    started = client.post(f"/bulk/drafts/{draft_id}/start", data={"csrf_token": csrf})
    assert started.status_code == 303
    assert started.headers["location"] == f"/bulk/{draft_id}"
    assert len(command_keys(store)) == 4
    again = client.post(f"/bulk/drafts/{draft_id}/start", data={"csrf_token": csrf})
    assert again.headers["location"] == f"/bulk/{draft_id}"
    assert "started before" in client.get(f"/bulk/{draft_id}").text
    assert len(command_keys(store)) == 4
    assert store.client.llen(keys.batch_rows(draft_id)) == 4, "rows recorded once"
    starts = [e for e in audit(store) if e["action"] == "bulk_start"]
    assert [(e["batch"], e["actor"], e["count"]) for e in starts] == [(draft_id, "alice", "4")]
    assert f'<a href="/bulk/{draft_id}">batch {draft_id}</a> (4)' in client.get("/audit").text
    assert client.get(f"/bulk/drafts/{draft_id}").headers["location"] == f"/bulk/{draft_id}"


def test_the_same_file_uploaded_again_is_a_new_batch_of_existing_commands(client, store):
    csrf = sign_in(client)
    first, _ = preview_of(client, upload(client, "good.csv", GOOD, csrf))
    client.post(f"/bulk/drafts/{first}/start", data={"csrf_token": csrf})
    second, page = preview_of(client, upload(client, "good.jsonl", jsonl(GOOD), csrf))
    assert "4 already admitted" in page
    client.post(f"/bulk/drafts/{second}/start", data={"csrf_token": csrf})
    assert Batches(store).meta(second).admitted["existing"] == 4
    assert len(command_keys(store)) == 4


def jsonl(text: str) -> str:
    rows = csv.DictReader(io.StringIO(text))
    return "".join(json.dumps({k: v for k, v in r.items() if v}) + "\n" for r in rows)


def test_the_batch_page_its_progress_and_the_result_files_match_the_cli(client, store):
    csrf = sign_in(client)
    draft_id, _ = preview_of(client, upload(client, "good.csv", GOOD, csrf))
    client.post(f"/bulk/drafts/{draft_id}/start", data={"csrf_token": csrf})
    page = client.get(f"/bulk/{draft_id}")
    assert page.status_code == 200
    assert 'id="cancel-form"' in page.text
    assert "data-confirm" in page.text
    progress = client.get(f"/bulk/{draft_id}/progress").json()
    assert (progress["admission"], progress["commands"], progress["done"]) == ("admitted", 4, False)
    assert progress["admitted"]["new"] == 4
    assert progress["counts"]["queued"] + progress["counts"]["waiting"] == 4
    for fmt in ExportFormat:
        cli = io.StringIO()
        export(Batches(store), draft_id, cli, fmt)
        download = client.get(f"/bulk/{draft_id}/results.{fmt}")
        assert download.status_code == 200
        assert download.text == cli.getvalue()
        assert "attachment" in download.headers["content-disposition"]
    assert client.get("/bulk/nope/progress").status_code == 404
    assert client.get("/bulk/../etc/results.csv").status_code == 404


def test_cancel_discards_what_has_not_started_and_is_audited(client, store):
    csrf = sign_in(client)
    draft_id, _ = preview_of(client, upload(client, "good.csv", GOOD, csrf))
    client.post(f"/bulk/drafts/{draft_id}/start", data={"csrf_token": csrf})
    assert client.post(f"/bulk/{draft_id}/cancel", data={"why": "x"}).status_code == 403
    assert client.post(f"/bulk/{draft_id}/cancel", data={"csrf_token": csrf}).status_code == 422
    reply = client.post(f"/bulk/{draft_id}/cancel", data={"csrf_token": csrf, "why": "wrong file"})
    assert reply.headers["location"] == f"/bulk/{draft_id}"
    assert "Cancelled: 4 commands discarded" in client.get(f"/bulk/{draft_id}").text
    progress = client.get(f"/bulk/{draft_id}/progress").json()
    assert (progress["counts"]["discarded"], progress["done"]) == (4, True)
    assert progress["cancelled_by"] == "alice"
    cancels = [e for e in audit(store) if e["action"] == "bulk_cancel"]
    assert [(e["batch"], e["actor"], e["why"], e["count"]) for e in cancels] == [
        (draft_id, "alice", "wrong file", "4")
    ]


def test_a_viewer_sees_a_batch_and_its_results_but_cannot_cancel(client, store):
    csrf = sign_in(client)
    draft_id, _ = preview_of(client, upload(client, "good.csv", GOOD, csrf))
    client.post(f"/bulk/drafts/{draft_id}/start", data={"csrf_token": csrf})
    client.post("/logout", data={"csrf_token": csrf})
    csrf = sign_in(client, "vic")
    page = client.get(f"/bulk/{draft_id}")
    assert page.status_code == 200
    assert 'id="cancel-form"' not in page.text
    assert client.get(f"/bulk/{draft_id}/results.jsonl").status_code == 200
    assert (
        client.post(f"/bulk/{draft_id}/cancel", data={"csrf_token": csrf, "why": "x"}).status_code
        == 403
    )
    assert (
        client.post(f"/bulk/drafts/{draft_id}/start", data={"csrf_token": csrf}).status_code == 403
    )
    assert csrf_of(client, "/bulk")
