"""Which deliveries ``finish`` may ack, and that each is taken once (worker.folded_acks)."""

from __future__ import annotations

import os

from store.delivery_ack import DeliveryAck
from worker.folded_acks import FoldedAcks


def test_only_a_tag_this_process_received_on_redis_is_acked_with_its_outcome(monkeypatch):
    acks = FoldedAcks()
    assert acks.ack_for("tag") is None  # no Redis channel consumes in this process

    acks.consume_on("unacked", "unacked_index")
    assert acks.ack_for("tag") == DeliveryAck("unacked", "unacked_index", "tag")
    assert acks.ack_for(None) is None  # run without a broker message (tests, eager calls)
    assert acks.ack_for("") is None
    assert acks.ack_for(7) is None  # AMQP's tags are numbers

    monkeypatch.setattr(os, "getpid", lambda: -1)  # a prefork child: the channel is its parent's
    assert acks.ack_for("tag") is None


def test_a_delivery_acked_with_its_outcome_is_taken_once():
    acks = FoldedAcks()
    acks.acked("t")
    assert acks.take("t") is True
    assert acks.take("t") is False  # the channel acks a delivery once
    assert acks.take("other") is False
    assert acks.take(["unhashable"]) is False
