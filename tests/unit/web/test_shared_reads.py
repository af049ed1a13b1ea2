"""A web process's shared reads: reused within their time, re-read after it, bounded."""

from __future__ import annotations

from web.shared_reads import SharedReads


def test_a_key_is_read_once_per_ttl_and_the_oldest_keys_go_past_the_bound():
    now = [0.0]
    asked: list[str] = []
    reads = SharedReads(lambda key: asked.append(key) or key.upper(), ttl_s=1.0,
                        clock=lambda: now[0], max_keys=2)  # fmt: skip
    assert [reads.get("a"), reads.get("a")] == ["A", "A"]
    assert asked == ["a"], "the second ask within the ttl is served from memory"
    now[0] = 1.0
    reads.get("a")
    assert asked == ["a", "a"], "past the ttl it is read again"
    reads.get("b")
    reads.get("c")  # a third key: "a", read longest ago, is let go
    reads.get("a")
    assert asked == ["a", "a", "b", "c", "a"]
    assert reads.reads == 5
