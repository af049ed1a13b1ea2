"""The dashboard's quarantine: the overview's count, the list page and the ``/metrics`` counters."""

from __future__ import annotations

from datetime import UTC, datetime

from schemas.quarantine import QuarantinedMessage, QuarantineReason
from store.quarantine import Quarantine
from tests.unit.web.test_web_app import bearer, client, published, sign_in  # noqa: F401

HOSTILE = b'<script>alert(1)</script>{"task": "celery.backend_cleanup"}'


def refuse(store, reason: QuarantineReason, raw: bytes = HOSTILE) -> None:
    Quarantine(store.client).add(
        QuarantinedMessage(
            reason=reason, detail="task 'celery.backend_cleanup' is not ordercmd's",
            queue="ordercmd", received_at=datetime.now(UTC), size_bytes=len(raw), raw=raw,
        )
    )  # fmt: skip


def test_the_overview_counts_and_the_page_lists_them_escaped(client, store):  # noqa: F811
    refuse(store, QuarantineReason.FOREIGN_TASK)
    refuse(store, QuarantineReason.NOT_JSON, b"not json")
    assert client.get("/quarantine").status_code == 303  # signed-in users only
    sign_in(client, "vic")
    overview = client.get("/").text
    assert 'Quarantined broker messages</th><td class="n"><a href="/quarantine">2</a>' in overview
    page = client.get("/quarantine")
    assert page.status_code == 200
    assert "foreign_task 1, not_json 1" in page.text
    assert "celery.backend_cleanup" in page.text
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;" in page.text


def test_metrics_count_quarantined_messages_by_reason(client, store):  # noqa: F811
    refuse(store, QuarantineReason.FOREIGN_TASK)
    refuse(store, QuarantineReason.FOREIGN_TASK)
    text = client.get("/metrics", headers=bearer("vic")).text
    assert 'ordercmd_broker_messages_quarantined_total{reason="foreign_task"} 2.0' in text
    assert 'ordercmd_broker_messages_quarantined_total{reason="not_json"} 0.0' in text
    assert "ordercmd_quarantine_depth 2.0" in text
