"""``ordercmd worker --queue``: a worker consuming commands consumes their re-sends too."""

from __future__ import annotations

from cli.worker import with_resends


def test_a_worker_consuming_commands_consumes_their_resends():
    assert with_resends(("ordercmd",)) == ("ordercmd.resend", "ordercmd")
    assert with_resends(("ordercmd.bulk", "ordercmd.resend")) == (
        "ordercmd.bulk",
        "ordercmd.resend",
    )
    assert with_resends(("ordercmd.webhooks",)) == ("ordercmd.webhooks",), "no commands: none"
    assert with_resends(()) == (), "no queue named: all of them"
