"""kombu's Redis transport with a screen where it decodes a message: hostile ones are quarantined.

kombu's Redis channel pops a message (``BRPOP``, ``RPOP``) and decodes its JSON envelope and
body in the consumer loop; what raises there (an envelope that is not JSON, a JSON list, an
unknown ``body_encoding``) stops the worker with "Unrecoverable error", and the message is
already off the list. This channel reads the popped bytes through
`worker.message_screen.parse_envelope` and a trial decoding first, and quarantines instead.
``_brpop_read`` and ``_get`` repeat kombu 5.7's code but for that one step. Its QoS writes what
kombu's does, in one script call instead of a client and a ``MULTI`` per delivery, and skips the
ack's round trip for a delivery already acked with its outcome (`worker.folded_acks`).
"""

from __future__ import annotations

import json
from time import time
from typing import Any

import redis
from kombu.exceptions import KombuError
from kombu.transport import redis as kombu_redis
from kombu.transport import virtual
from kombu.transport.virtual import Empty
from kombu.utils.encoding import bytes_to_str
from kombu.utils.json import dumps

from schemas.quarantine import QuarantineReason
from worker.folded_acks import FOLDED_ACKS
from worker.message_screen import Hostile, check_envelope, parse_envelope
from worker.quarantining import LOG_ONLY, MessageScreen

# kombu's QoS.append as one script: the delivery in the unacked hash, its time in the index
RECORD_UNACKED = """
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
"""


class FoldingQoS(kombu_redis.QoS):
    """kombu's ack emulation at less cost: one script call records a delivery as unacked.

    A delivery that ``finish`` acked with its outcome (`worker.folded_acks`) costs no ack.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[no-untyped-call]
        prefix = self.channel.global_keyprefix or ""
        hash_key, index_key = prefix + self.unacked_key, prefix + self.unacked_index_key
        self._unacked_keys = [index_key, hash_key]  # RECORD_UNACKED's KEYS
        FOLDED_ACKS.consume_on(hash_key, index_key)
        # one client for every delivery (kombu builds a client and a MULTI pipeline for each);
        # a plain one on the channel's pool: the keys above carry the prefix already
        client = redis.Redis(connection_pool=self.channel.pool)
        self._record_unacked = client.register_script(RECORD_UNACKED)

    def append(self, message: Any, delivery_tag: Any) -> None:
        """Keep ``message`` as delivered, not acked: what kombu writes, in one script call."""
        delivery = message.delivery_info
        entry = dumps([message._raw, delivery["exchange"], delivery["routing_key"]])  # type: ignore[no-untyped-call]
        self._record_unacked(keys=self._unacked_keys, args=[time(), delivery_tag, entry])
        virtual.QoS.append(self, message, delivery_tag)  # type: ignore[no-untyped-call]

    def ack(self, delivery_tag: Any) -> None:
        """Ack ``delivery_tag``: in Redis, unless ``finish`` already removed its entries."""
        if FOLDED_ACKS.take(delivery_tag):
            virtual.QoS.ack(self, delivery_tag)  # type: ignore[no-untyped-call]
        else:
            super().ack(delivery_tag)  # type: ignore[no-untyped-call]

    def reject(self, delivery_tag: Any, requeue: bool = False) -> None:
        """Reject ``delivery_tag``; one acked with its outcome has nothing left to restore."""
        FOLDED_ACKS.take(delivery_tag)
        super().reject(delivery_tag, requeue=requeue)  # type: ignore[no-untyped-call]


class GuardedChannel(kombu_redis.Channel):
    """A Redis channel that quarantines what it cannot decode instead of raising."""

    QoS = FoldingQoS

    from_transport_options = (  # type: ignore[assignment]
        *kombu_redis.Channel.from_transport_options,
        "ordercmd_screen",
    )
    ordercmd_screen: MessageScreen = LOG_ONLY

    def _brpop_read(self, **options: Any) -> bool:
        try:
            try:
                dest__item = self.client.parse_response(self.client.connection, "BRPOP", **options)
            except self.connection_errors:
                self.client.connection.disconnect()
                raise
            if not dest__item:
                raise Empty()
            dest, item = dest__item
            dest = bytes_to_str(dest).rsplit(self.sep, 1)[0]  # type: ignore[no-untyped-call]
            self._queue_cycle.rotate(dest)
            payload = self._screened(item, dest)
            if payload is not None:
                self.connection._deliver(payload, dest)
            return True
        finally:
            self._in_poll = None  # type: ignore[assignment]
            self._flush_brpop_reauth()  # type: ignore[no-untyped-call]

    def _get(self, queue: str, timeout: float | None = None) -> dict[str, Any]:
        with self.conn_or_acquire() as client:
            for pri in self.priority_steps:
                item = client.rpop(self._q_for_pri(queue, pri))  # type: ignore[no-untyped-call]
                if item:
                    self._maybe_update_queues_expire(client, queue)  # type: ignore[no-untyped-call]
                    payload = self._screened(item, queue)
                    if payload is None:
                        raise Empty()
                    return payload
            self._maybe_update_queues_expire(client, queue)  # type: ignore[no-untyped-call]
            raise Empty()

    def _deliver_fanout_message(self, message: Any, exchange: str) -> bool:
        try:
            check_envelope(message, self.codecs)
            self._trial(message)
        except Hostile as hostile:
            raw = json.dumps(message, default=repr).encode()
            self.ordercmd_screen.refuse(hostile, raw, queue=exchange)
            return True
        return bool(super()._deliver_fanout_message(message, exchange))  # type: ignore[no-untyped-call]

    def _screened(self, item: bytes | str, queue: str) -> dict[str, Any] | None:
        """The envelope in ``item``, or None once it is quarantined."""
        raw = item if isinstance(item, bytes) else str(item).encode()
        screen = self.ordercmd_screen
        try:
            payload = parse_envelope(raw, max_bytes=screen.max_message_bytes, codecs=self.codecs)
            self._trial(payload)
        except Hostile as hostile:
            screen.refuse(hostile, raw, queue=queue)
            return None
        return payload

    def _trial(self, payload: dict[str, Any]) -> None:
        """Decode the body and build the kombu message once, as delivery will, to see it holds."""
        properties = payload["properties"]
        try:
            body, encoding = payload.get("body") or "", properties.get("body_encoding")
            self.decode_body(body, encoding)  # type: ignore[no-untyped-call]
        except Exception as exc:  # binascii.Error, UnicodeError, and whatever a codec raises
            raise Hostile(QuarantineReason.BAD_ENCODING, f"{type(exc).__name__}: {exc}") from None
        try:
            message = self.Message(payload, channel=self)  # type: ignore[no-untyped-call]
        except (KombuError, LookupError, TypeError, ValueError, AttributeError) as exc:
            raise Hostile(QuarantineReason.BAD_ENVELOPE, f"{type(exc).__name__}: {exc}") from None
        if message.errors:
            raise Hostile(QuarantineReason.BAD_ENCODING, "the body does not decode")


class GuardedTransport(kombu_redis.Transport):
    """``redis://`` and ``rediss://`` with `GuardedChannel`."""

    Channel = GuardedChannel
