"""Bulk runs on a fakeredis store: check every row first, then admit one batch, tracked per row."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest

from config.settings import Settings
from producer import Producer
from producer.batches import Admission, Batches, BatchExists, BatchState, RowResult
from producer.bulk import BulkCheck, BulkRefused, BulkResult, BulkRun, Problem
from producer.bulk_export import ExportFormat, export
from producer.bulk_progress import UNREAD, ProgressReader
from producer.bulk_rows import BulkFormat
from schemas import CommandState
from store import keys
from store.command_store import CommandStore
from store.records import read_record
from tests.factories import make_envelope
from worker.scheduler import Scheduler

HEADER = "kind,provider,account,order_id,reason,amount,changes,line_items,idempotency_key\n"
SETTINGS = Settings(
    accounts={
        "acme": {
            "provider": "backd",
            "base_url": "http://b.invalid",
            "public_key": "pk",
            "secret_key": "sk",
        },
        "store": {"provider": "shoplazza", "base_url": "http://s.invalid", "access_token": "t"},
        "pod": {"provider": "fastpod", "base_url": "http://f.invalid", "token": "t"},
    }
)

Bulk = Callable[..., tuple[BulkCheck, BulkResult | None]]


@pytest.fixture
def producer(store: CommandStore, published: list[str]) -> Producer:
    return Producer(SETTINGS, store, published.extend)


@pytest.fixture
def run_bulk(producer: Producer, store: CommandStore) -> Bulk:
    """Check ``text`` and, unless ``admit=False``, admit it; returns (check, result)."""

    def run(text: str, *, admit: bool = True, skip_invalid: bool = False, fmt: str = "csv"):
        with BulkRun(producer, file_name=f"orders.{fmt}", fmt=BulkFormat(fmt)) as bulk:
            check = bulk.check(io.BytesIO(text.encode()))
            if not admit:
                return check, None
            return check, bulk.admit(Batches(store), actor="alice", skip_invalid=skip_invalid)

    return run


def csv_rows(n: int, *, start: int = 1) -> str:
    return "".join(f"cancel,backd,acme,BO-{i},,,,,k-{i}\n" for i in range(start, start + n))


def scheduled(store: CommandStore) -> list[str]:
    """What one scheduler tick sends now."""
    sent: list[str] = []
    Scheduler(store, sent.extend, tick_s=1).run_once()
    return sent


def exported(store: CommandStore, batch_id: str) -> list[str]:
    out = io.StringIO()
    export(Batches(store), batch_id, out, ExportFormat.CSV)
    return out.getvalue().splitlines()


def test_a_valid_file_is_one_batch_whose_envelopes_name_it(run_bulk, store, published):
    # Given three valid rows, When the file is checked and admitted
    check, result = run_bulk(HEADER + csv_rows(3))
    # Then the check counts them, and one batch holds three new commands, in the outbox: the
    # producer sends no message, the next scheduler tick sends one each
    assert (check.rows, check.valid, check.invalid, check.by_group) == (
        3,
        3,
        0,
        {("backd", "acme", "cancel"): 3},
    )
    batch_id = result.batch_id
    assert result.rows == {Admission.NEW: 3}
    ids = [i for chunk in Batches(store).command_ids(batch_id) for i in chunk]
    assert published == []
    assert sorted(scheduled(store)) == sorted(ids)
    assert len(set(ids)) == 3
    record = read_record(store.client, ids[0])
    assert (record.envelope.source, record.envelope.batch_id) == (f"bulk:{batch_id}", batch_id)
    assert record.envelope.idempotency_key == "k-1"
    meta = Batches(store).meta(batch_id)
    assert (meta.file_name, meta.rows, meta.actor, meta.state) == (
        "orders.csv",
        3,
        "alice",
        BatchState.ADMITTED,
    )


def test_with_any_invalid_row_nothing_is_admitted_and_each_problem_is_named(run_bulk, store):
    text = HEADER + (
        "cancel,backd,acme,BO-1,,,,,\n"
        'refund,backd,acme,BO-2,,"12,50",,,\n'
        "refund,backd,acme,BO-3,,-3,,,\n"
        "refund,backd,acme,BO-4,,1.234,,,\n"
        "cancel,backd,nobody,BO-5,,,,,\n"
        "update,shoplazza,store,633-1,,,{},,\n"
        "cancel,fastpod,pod,,,,,,\n"
    )
    check, _ = run_bulk(text, admit=False)
    assert check.problems == [
        Problem(2, "amount", "Input should be a valid decimal"),
        Problem(3, "amount", "Input should be greater than 0"),
        Problem(4, "amount", "Decimal input should have no more than 2 decimal places"),
        Problem(5, "account", "'nobody' is not configured (acme, pod, store)"),
        Problem(6, "changes", "name at least one field to change"),
        Problem(7, "order_id", "Field required"),
    ]
    with BulkRun(Producer(SETTINGS, store, list), file_name="x.csv", fmt=BulkFormat.CSV) as bulk:
        bulk.check(io.BytesIO(text.encode()))
        with pytest.raises(BulkRefused, match="6 of 7 rows are invalid: nothing was admitted"):
            bulk.admit(Batches(store), actor="alice")
    assert store.client.keys("*") == []


def test_the_same_key_twice_is_an_error_unless_the_content_is_the_same(run_bulk):
    text = HEADER + (
        "cancel,backd,acme,BO-1,,,,,k-1\n"
        "cancel,backd,acme,BO-1,,,,,k-1\n"
        "cancel,backd,acme,BO-2,,,,,k-1\n"
        "cancel,backd,acme,BO-3,,,,,\n"
        "cancel,backd,acme,BO-3,,,,,\n"
    )
    check, _ = run_bulk(text, admit=False)
    assert (check.valid, check.duplicates, check.invalid) == (4, 2, 1)
    assert check.problems == [
        Problem(3, "idempotency_key", "'k-1' is used by row 1 for other content")
    ]


def test_skip_invalid_admits_the_rest_and_the_report_has_every_row(run_bulk, store):
    text = HEADER + (
        "cancel,backd,acme,BO-1,,,,,k-1\n"
        "refund,backd,acme,BO-2,,abc,,,\n"
        "cancel,backd,acme,BO-1,,,,,k-1\n"
    )
    _, result = run_bulk(text, skip_invalid=True)
    assert result.rows == {Admission.NEW: 1, Admission.INVALID: 1, Admission.DUPLICATE: 1}
    [first] = [i for chunk in Batches(store).command_ids(result.batch_id) for i in chunk]
    assert exported(store, result.batch_id) == [
        "row,command_id,admission,state,reason",
        f"1,{first},new,waiting,",  # in its account's backlog
        "2,,invalid,invalid,amount: Input should be a valid decimal",
        f"3,{first},duplicate,waiting,same as row 1",
    ]


def test_running_the_same_file_again_returns_the_existing_commands(run_bulk, store, published):
    text = HEADER + csv_rows(3) + "cancel,fastpod,pod,F-1,,,,,\n"
    _, first = run_bulk(text)
    assert len(scheduled(store)) == 4
    check, again = run_bulk(text)
    assert (check.existing, again.rows) == (4, {Admission.EXISTING: 4})
    ids = [next(iter(Batches(store).command_ids(r.batch_id))) for r in (first, again)]
    assert ids[0] == ids[1]
    assert (published, scheduled(store)) == ([], []), "nothing new is sent"


def test_a_rerun_with_an_edited_row_is_refused_before_anything_is_admitted(run_bulk, store):
    run_bulk(HEADER + csv_rows(2))
    edited = HEADER + csv_rows(1) + "cancel,backd,acme,BO-99,,,,,k-2\n" + csv_rows(1, start=3)
    check, _ = run_bulk(edited, admit=False)
    [problem] = check.problems
    assert (problem.row, problem.field) == (2, "idempotency_key")
    assert problem.reason.startswith("'k-2' was admitted before for other content (")


def test_jsonl_files_are_bulk_files_too(run_bulk):
    text = (
        '{"kind": "update", "provider": "fastpod", "account": "pod", "order_id": "F-1",'
        ' "changes": {"gift_message": "hi"}}\n'
        '{"kind": "refund", "provider": "shoplazza", "account": "store", "order_id": "6",'
        ' "amount": "2.00", "line_items": [{"id": "L1", "quantity": 1}], "bogus": 1}\n'
    )
    check, _ = run_bulk(text, admit=False, fmt="jsonl")
    assert (check.valid, check.problems) == (
        1,
        [Problem(2, "bogus", "Extra inputs are not permitted")],
    )


def test_many_rows_go_in_chunks_with_counts_kept_in_the_batch(producer, store, published):
    with BulkRun(producer, file_name="x.csv", fmt=BulkFormat.CSV, chunk_rows=10) as bulk:
        bulk.check(io.BytesIO((HEADER + csv_rows(95)).encode()))
        result = bulk.admit(Batches(store), actor="alice")
    meta = Batches(store).meta(result.batch_id)
    assert meta.admitted[Admission.NEW] == 95
    assert store.client.llen(keys.batch_rows(result.batch_id)) == 95
    assert store.client.llen(keys.batch_commands(result.batch_id)) == 95
    assert (len(published), len(scheduled(store))) == (0, 95)


def test_progress_counts_commands_by_state_and_knows_when_the_batch_is_done(run_bulk, store):
    _, result = run_bulk(HEADER + csv_rows(3))
    reader = ProgressReader(Batches(store), result.batch_id)
    progress = reader.read()
    assert (progress.total, progress.counts, progress.done) == (3, {"waiting": 3}, False)
    ids = [i for chunk in Batches(store).command_ids(result.batch_id) for i in chunk]
    for command_id, state in zip(ids, ["succeeded", "dead", "discarded"], strict=True):
        store.client.hset(keys.command(command_id), "state", state)
    store.client.hset(
        keys.command(ids[1]), mapping={"dead_reason": "not_found", "last_message": "404"}
    )
    done = reader.read()
    assert (done.counts, done.finished, done.done) == (
        {"succeeded": 1, "dead": 1, "discarded": 1},
        3,
        True,
    )
    assert exported(store, result.batch_id)[2] == f"2,{ids[1]},new,dead,not_found: 404"


def test_export_as_jsonl_has_one_object_per_row(run_bulk, store):
    _, result = run_bulk(HEADER + csv_rows(2))
    out = io.StringIO()
    assert export(Batches(store), result.batch_id, out, ExportFormat.JSONL) == 2
    assert out.getvalue().count("\n") == 2
    assert '"admission": "new", "state": "waiting"' in out.getvalue().splitlines()[0]


def test_cancel_discards_what_has_not_started_and_leaves_the_rest(run_bulk, store, producer):
    # Given a batch of three commands on one order lane: the head is claimed (running)
    text = HEADER + "".join(f"cancel,backd,acme,BO-1,r{i},,,,\n" for i in range(3))
    _, result = run_bulk(text)
    ids = [i for chunk in Batches(store).command_ids(result.batch_id) for i in chunk]
    claim = store.claim(ids[0])
    assert not isinstance(claim, str)
    # When the batch is cancelled
    summary = Batches(store).cancel(result.batch_id, actor="alice", why="wrong file")
    # Then the two that had not started are discarded, the running one is left alone
    assert (summary.discarded, summary.untouched) == (2, 1)
    states = [read_record(store.client, i).state for i in ids]
    assert states == [CommandState.RUNNING, CommandState.DISCARDED, CommandState.DISCARDED]
    assert Batches(store).meta(result.batch_id).cancelled_by == "alice"


def test_admission_stops_at_the_next_chunk_once_the_batch_is_cancelled(producer, store):
    class CancelAfterFirstChunk(Batches):
        def append(self, batch_id: str, rows: list[RowResult], command_ids: list[str]) -> None:
            super().append(batch_id, rows, command_ids)
            self.client.hset(keys.batch(batch_id), "cancelled_by", "bob")

    with BulkRun(producer, file_name="big.csv", fmt=BulkFormat.CSV, chunk_rows=10) as bulk:
        bulk.check(io.BytesIO((HEADER + csv_rows(25)).encode()))
        result = bulk.admit(CancelAfterFirstChunk(store), actor="alice")
    assert (result.cancelled, result.rows) == (True, {Admission.NEW: 10})


def test_a_conflict_found_only_at_admission_is_reported_on_its_row(producer, store):
    with BulkRun(producer, file_name="x.csv", fmt=BulkFormat.CSV) as bulk:
        bulk.check(io.BytesIO((HEADER + csv_rows(2)).encode()))
        # another producer takes key k-2 for other content between the check and admission
        store.admit(make_envelope("k-2", order_id="BO-OTHER"))
        result = bulk.admit(Batches(store), actor="alice")
    assert result.rows == {Admission.NEW: 1, Admission.CONFLICT: 1}
    assert exported(store, result.batch_id)[2].startswith(
        "2,,conflict,conflict,key admitted before for other content ("
    )


def test_a_batch_id_starts_once_and_its_start_and_cancel_are_audited(producer, store):
    # Given a file admitted as batch b-1
    with BulkRun(producer, file_name="a.csv", fmt=BulkFormat.CSV, batch_id="b-1") as bulk:
        bulk.check(io.BytesIO((HEADER + csv_rows(2)).encode()))
        bulk.admit(Batches(store), actor="alice")
        # When the same run (a double submit) or a copy admits it again
        with pytest.raises(BatchExists):
            bulk.admit(Batches(store), actor="bob")
    # Then nothing is admitted twice and the batch keeps its first meta
    assert store.client.llen(keys.batch_rows("b-1")) == 2
    assert Batches(store).meta("b-1").actor == "alice"
    Batches(store).cancel("b-1", actor="carol", why="wrong file")
    audited = [f for _, f in store.client.xrange(keys.audit()) if f["action"].startswith("bulk")]
    assert [(f["action"], f["batch"], f["actor"], f["count"], f["why"]) for f in audited] == [
        ("bulk_start", "b-1", "alice", "2", "a.csv"),
        ("bulk_cancel", "b-1", "carol", "2", "wrong file"),
    ]


def test_a_reader_with_a_budget_reads_that_many_a_time_taking_turns(run_bulk, store):
    # Given a batch of 25 commands, 3 of them discarded (final)
    _, result = run_bulk(HEADER + csv_rows(25))
    ids = [i for chunk in Batches(store).command_ids(result.batch_id) for i in chunk]
    for command_id in ids[:3]:
        assert store.discard_pending(command_id, actor="a", why="test")
    reader = ProgressReader(Batches(store), result.batch_id, budget=10)
    reads = []
    original = store.command_fields

    def counted(command_ids, fields):
        reads.append(len(command_ids))
        return original(command_ids, fields)

    store.command_fields = counted
    # When it reads three times, Then each read refreshes at most 10; the unread count drains
    unread = [reader.read().counts.get(UNREAD, 0) for _ in range(3)]
    assert (unread, reads) == ([15, 5, 0], [10, 10, 10])  # the third: 5 unread, 5 again
    progress = reader.read()  # the fourth: the 22 still open, 10 of them
    assert (
        progress.counts["queued"] + progress.counts["waiting"],
        progress.counts["discarded"],
    ) == (
        22,
        3,
    )
    assert reads[-1] == 10
    assert not progress.done
