"""Every Redis key ordercmd uses, built here and only here, under the ``{ordercmd}:`` prefix.

The braces are a Redis Cluster hash tag: every key hashes to one slot, so each Lua script may
touch any of them — including keys it finds at run time, such as the next command of a lane —
and the store can move to Redis Cluster unchanged (BullMQ tags its keys the same way).
"""

from __future__ import annotations

PREFIX = "{ordercmd}"


def command(command_id: str) -> str:
    """Hash: the command's record (state, envelope, counters)."""
    return f"{PREFIX}:cmd:{command_id}"


def attempts(command_id: str) -> str:
    """List: the command's attempts as JSON, oldest first."""
    return f"{PREFIX}:cmd:{command_id}:attempts"


def idempotency(key: str) -> str:
    """String: the command id admitted under an idempotency key."""
    return f"{PREFIX}:idem:{key}"


def lane(lane_name: str) -> str:
    """List: the unfinished commands of one order lane, head first."""
    return f"{PREFIX}:lane:{lane_name}"


def order_history(lane_name: str) -> str:
    """Sorted set: every command admitted for one order, by admission sequence."""
    return f"{PREFIX}:order:{lane_name}"


def dispatch() -> str:
    """Sorted set: commands with a broker message out, by the time to re-send it if unclaimed."""
    return f"{PREFIX}:dispatch"


def schedule() -> str:
    """Sorted set: commands waiting to retry, by due time (ms)."""
    return f"{PREFIX}:schedule"


def running() -> str:
    """Sorted set: claimed commands, by lease expiry (ms)."""
    return f"{PREFIX}:running"


def dead_letters() -> str:
    """Sorted set: dead-lettered commands, by the time they died (ms)."""
    return f"{PREFIX}:dlq"


def dead_letters_by(field: str, value: str) -> str:
    """Sorted set: dead letters with one field value (``reason``, ``provider``), by time."""
    return f"{PREFIX}:dlq:{field}:{value}"


def sequence() -> str:
    """Counter: admission sequence numbers."""
    return f"{PREFIX}:seq"


def recent() -> str:
    """Sorted set: every admitted command, by admission time (ms)."""
    return f"{PREFIX}:recent"


def index(field: str, value: str) -> str:
    """Sorted set: commands whose ``field`` (state, provider, account, kind, reason) is ``value``.

    Scored by admission time (ms), like ``recent``, so a search cursor holds in any of them.
    """
    return f"{index_prefix()}{field}:{value}"


def index_prefix() -> str:
    """The common prefix of the search indexes (the Lua scripts build index keys from it)."""
    return f"{PREFIX}:ix:"


def unindex_queue() -> str:
    """Sorted set: ``id state provider account kind`` of records with a TTL, by expiry (ms)."""
    return f"{PREFIX}:unindex"


def audit() -> str:
    """Stream: every operator action (who, what, which command, why)."""
    return f"{PREFIX}:audit"


def outcomes() -> str:
    """Stream: one event per outcome a producer cares about (store/outcomes.py), bounded."""
    return f"{PREFIX}:outcomes"


def stats() -> str:
    """Hash: all-time outcome counters and histogram buckets, ``kind|label|label...`` fields."""
    return f"{PREFIX}:stats"


def stats_hour(epoch_hour: int | str) -> str:
    """Hash: outcome counters of one hour (hours since the epoch); kept ``store.series`` long."""
    return f"{PREFIX}:stats:h:{epoch_hour}"


def stats_minute(epoch_minute: int | str) -> str:
    """Hash: chart counters of one minute (minutes since the epoch); kept ``store.series`` long."""
    return f"{PREFIX}:stats:m:{epoch_minute}"


def quarantine() -> str:
    """Sorted set: quarantined broker messages as JSON, by the time they arrived (ms)."""
    return f"{PREFIX}:quarantine"


def quarantine_counts() -> str:
    """Hash: all-time count of quarantined broker messages per reason."""
    return f"{PREFIX}:quarantine:counts"


# --- Bulk batches and the intake stream (producer/batches.py, producer/streams.py) ---


def batch(batch_id: str) -> str:
    """Hash: a bulk batch's meta (file, rows, created, actor, state, counters of admission)."""
    return f"{PREFIX}:batch:{batch_id}"


def batch_commands(batch_id: str) -> str:
    """List: the distinct command ids of a bulk batch, in admission order."""
    return f"{PREFIX}:batch:{batch_id}:commands"


def batch_rows(batch_id: str) -> str:
    """List: one entry per row of a bulk batch's file (row, command id, admission, note)."""
    return f"{PREFIX}:batch:{batch_id}:rows"


def batches() -> str:
    """Sorted set: bulk batch ids, by creation time (ms)."""
    return f"{PREFIX}:batches"


def event_stream() -> str:
    """Stream: the default stream the intake consumer reads order events from."""
    return f"{PREFIX}:events"


def dead_events(stream: str) -> str:
    """Stream: events of ``stream`` the intake refused, each with the reason."""
    return f"{PREFIX}:dead-events:{stream}"


# The flow-control keys of one account.


def breaker(provider: str, account: str) -> str:
    """Hash: the circuit breaker of one provider account (state, failures, open_until)."""
    return f"{PREFIX}:breaker:{provider}:{account}"


def rate(provider: str, account: str) -> str:
    """String: the rate limit's theoretical arrival time (ms) for one provider account."""
    return f"{PREFIX}:rate:{provider}:{account}"


def rate_pause(provider: str, account: str) -> str:
    """String with a TTL: the account is paused after a 429 until it expires."""
    return f"{PREFIX}:pause:{provider}:{account}"


def backlog(account: str) -> str:
    """Sorted set: one account's bulk commands waiting their turn, by admission sequence."""
    return f"{backlog_prefix()}{account}"


def backlog_prefix() -> str:
    """The common prefix of the bulk backlogs (the Lua scripts build them from the account)."""
    return f"{PREFIX}:backlog:"


def backlog_released(account: str) -> str:
    """Stream, trimmed: releases from one account's backlog, each with its count ('n')."""
    return f"{PREFIX}:released:{account}"


def backlogs() -> str:
    """Set: the accounts whose bulk backlog may hold commands (the scheduler releases them)."""
    return f"{PREFIX}:backlogs"


def bulk_share(account: str) -> str:
    """String: the time (ms) from which bulk is owed a slot of the account (its minimum share)."""
    return f"{PREFIX}:share:{account}"


def paused() -> str:
    """Hash: operator pauses, by ``provider`` or ``provider:account``, as JSON (no TTL).

    An account's field may also say ``draining``: resumed, its held commands not yet all out.
    """
    return f"{PREFIX}:paused"


def held(account: str) -> str:
    """Sorted set: one account's live commands held by an operator pause, by admission sequence."""
    return f"{held_prefix()}{account}"


def held_prefix() -> str:
    """The common prefix of the held sets (the Lua scripts build them from the account)."""
    return f"{PREFIX}:held:"


def held_accounts() -> str:
    """Set: the accounts whose held set may hold commands (the scheduler releases them)."""
    return f"{PREFIX}:helds"


def workers_seen() -> str:
    """Sorted set: worker node names, by the last time (ms) their scheduler ticked."""
    return f"{PREFIX}:workers"


def worker_card(name: str) -> str:
    """Hash with a TTL: a live worker's pool, concurrency, queues, processes (store/workers.py)."""
    return f"{PREFIX}:worker:{name}"


def health_probe() -> str:
    """String: written (with a short TTL) by ``/health`` to prove the store accepts writes."""
    return f"{PREFIX}:health:probe"


def replay_run(run_id: str) -> str:
    """Hash: one bulk replay/discard run (status, filter, actor, counters)."""
    return f"{PREFIX}:run:{run_id}"


def replay_run_ids(run_id: str) -> str:
    """List: the command ids a bulk run has still to hand out."""
    return f"{PREFIX}:run:{run_id}:ids"


def replay_run_in_flight(run_id: str) -> str:
    """Sorted set: ids a bulk run handed out whose result has not come, by ms handed out."""
    return f"{PREFIX}:run:{run_id}:in_flight"


def replay_run_skipped(run_id: str) -> str:
    """Set: ids a bulk run counted ``skipped`` (a late report of an act replaces the skip)."""
    return f"{PREFIX}:run:{run_id}:skipped"


def replay_run_counts(run_id: str) -> str:
    """Hash: a run's snapshot counted by ``provider|kind|reason``."""
    return f"{PREFIX}:run:{run_id}:counts"


def replay_runs() -> str:
    """Sorted set: bulk runs by creation time (ms)."""
    return f"{PREFIX}:runs"


def replay_runs_active() -> str:
    """Sorted set: bulk runs the workers drive now (planning or running), by creation time."""
    return f"{PREFIX}:runs:active"


# --- The web app's sessions and limits (web/sessions.py, web/throttle.py, web/credentials.py) ---


def session(digest: str) -> str:
    """String: a dashboard session (JSON), by the SHA-256 of its id; expires when idle."""
    return f"{PREFIX}:session:{digest}"


def sign_in_account(digest: str) -> str:
    """Hash: failed sign-ins of one name (digest): count, next allowed time, lockout end."""
    return f"{PREFIX}:signin:name:{digest}"


def limit_counter(scope: str, digest: str) -> str:
    """Counter: failures (or new sessions) in ``scope`` of one address or key id, this window."""
    return f"{PREFIX}:limit:{scope}:{digest}"


# --- Webhooks (store/webhooks/) ---


def webhook(subscription_id: str) -> str:
    """Hash: a subscription made through the operator API (URL, event kinds, filter, secrets)."""
    return f"{PREFIX}:wh:{subscription_id}"


def webhooks() -> str:
    """Sorted set: the ids of subscriptions made through the operator API, by creation (ms)."""
    return f"{PREFIX}:wh"


def webhook_state(subscription_id: str) -> str:
    """Hash: how far deliveries to one subscription got (cursor, lease, backoff, disabled)."""
    return f"{PREFIX}:wh:{subscription_id}:state"


def webhook_redeliver(subscription_id: str) -> str:
    """List: events to deliver again (replayed dead letters), before the stream's next ones."""
    return f"{PREFIX}:wh:{subscription_id}:redeliver"


def webhook_queued(subscription_id: str) -> str:
    """String with a TTL: a delivery task for the subscription is on the broker."""
    return f"{PREFIX}:wh:{subscription_id}:queued"


def webhook_dead_letters() -> str:
    """Sorted set: ``<subscription id> <event id>`` of dead deliveries, by time (ms)."""
    return f"{PREFIX}:whdlq"


def webhook_gaps(subscription_id: str) -> str:
    """List: the subscription's delivery gaps (events trimmed before it read them), newest first."""
    return f"{PREFIX}:wh:{subscription_id}:gaps"


def webhook_runs() -> str:
    """Sorted set: bulk replays of dead deliveries (``runs.delivery_runs``), by creation (ms)."""
    return f"{PREFIX}:whruns"


def webhook_runs_active() -> str:
    """Sorted set: bulk replays of dead deliveries planning or running, by creation (ms)."""
    return f"{PREFIX}:whruns:active"


def webhook_dead_letter_bodies() -> str:
    """Hash: each dead delivery (member of ``webhook_dead_letters``) as JSON."""
    return f"{PREFIX}:whdlq:bodies"
