"""Failure limits kept in Redis: sign-ins per name and per address, credentials per address/key.

Every attempt is counted as a failure before the secret is checked and given back when it was
right, so concurrent guesses cannot slip past a limit between the check and the count.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import redis

from config.web import SignInLimits
from store import keys

# KEYS: 1 the name's hash, 2 the address's counter
# ARGV: 1 now ms, 2 window ms, 3 lockout after, 4 lockout ms, 5 first delay ms, 6 max delay ms,
#       7 failures per address
SIGN_IN_GATE = """
local now = tonumber(ARGV[1])
local by_address = tonumber(redis.call('GET', KEYS[2]) or '0')
if by_address >= tonumber(ARGV[7]) then return {'address', redis.call('PTTL', KEYS[2])} end
local f = redis.call('HMGET', KEYS[1], 'failures', 'not_before_ms', 'locked_until_ms')
local locked = tonumber(f[3] or '0')
if locked > now then return {'locked', locked - now} end
local not_before = tonumber(f[2] or '0')
if not_before > now then return {'wait', not_before - now} end
local n = tonumber(f[1] or '0')
if locked > 0 then n = 0 end -- a lockout that ran out starts the count again
n = n + 1
local delay = math.min(tonumber(ARGV[5]) * 2 ^ (n - 1), tonumber(ARGV[6]))
local until_ms = 0
local ttl = tonumber(ARGV[2])
if n >= tonumber(ARGV[3]) then
  until_ms = now + tonumber(ARGV[4])
  ttl = math.max(ttl, tonumber(ARGV[4]))
end
redis.call('HSET', KEYS[1], 'failures', n, 'not_before_ms', math.floor(now + delay),
  'locked_until_ms', until_ms)
if n == 1 or until_ms > 0 then redis.call('PEXPIRE', KEYS[1], ttl) end
by_address = redis.call('INCR', KEYS[2])
redis.call('PEXPIRE', KEYS[2], ARGV[2], 'NX')
return {'go', n, by_address}
"""
GIVE_BACK = "if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('DECR', KEYS[1]) end"


def digest(value: str) -> str:
    """A short SHA-256 of a name, address or key id, for key names."""
    return hashlib.sha256(value.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Gate:
    """The answer of the sign-in gate."""

    verdict: str  # go, wait (growing delay), locked (the name), address (too many from it)
    retry_after_ms: int = 0
    failures: int = 0  # with go: the failures this attempt makes if the password is wrong
    by_address: int = 0


class SignInThrottle:
    """Failed sign-ins: a delay doubling per failure, a lockout of the name, a cap per address."""

    def __init__(self, client: redis.Redis, limits: SignInLimits) -> None:
        self.client = client
        self.limits = limits
        self._gate = client.register_script(SIGN_IN_GATE)

    def enter(self, name: str, address: str, now_ms: int) -> Gate:
        """Count this attempt as a failure unless it is refused outright (no password check)."""
        limits = self.limits
        reply = self._gate(
            keys=[keys.sign_in_account(digest(name)), self._address_key(address)],
            args=[now_ms, limits.window_s * 1000, limits.lockout_after, limits.lockout_s * 1000,
                  int(limits.first_delay_s * 1000), int(limits.max_delay_s * 1000),
                  limits.failures_per_address],
        )  # fmt: skip
        verdict = str(reply[0])
        if verdict != "go":
            return Gate(verdict, retry_after_ms=max(int(reply[1]), 0))
        return Gate(verdict, failures=int(reply[1]), by_address=int(reply[2]))

    def succeeded(self, name: str, address: str) -> None:
        """The password was right: the name starts afresh and the address gets its count back."""
        self.client.delete(keys.sign_in_account(digest(name)))
        give_back(self.client, self._address_key(address))

    def locks_now(self, gate: Gate) -> bool:
        """Whether a wrong password at this gate locks the name."""
        return gate.failures >= self.limits.lockout_after

    def _address_key(self, address: str) -> str:
        return keys.limit_counter("signin-addr", digest(address))


def take(client: redis.Redis, key: str, limit: int, window_s: int) -> bool:
    """Count one failure in ``key``'s window; False when it is past ``limit``."""
    pipe = client.pipeline(transaction=True)
    pipe.incr(key)
    pipe.expire(key, window_s, nx=True)
    count, _ = pipe.execute()
    return int(count) <= limit


def give_back(client: redis.Redis, key: str) -> None:
    """Undo a ``take`` that turned out to be a success (nothing once the window has ended)."""
    client.eval(GIVE_BACK, 1, key)
