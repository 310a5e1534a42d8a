"""Leader duties between bot replicas (issue 16): a lease in Redis with fencing tokens.

Work that must have one actor at a time (the lost-worker job sweep, the audit anchor, the retention
purge, and since issue 17 outbound webhook deliveries and scheduled reports) runs only on the
replica holding the lease. The lease is a Redis key taken like ``SET key … NX PX ttl`` and renewed
by its holder every third of its ttl; each new holder gets a fencing token from ``INCR``, kept in
the key's value. Before acting, a duty checks the token (``fenced``): locally that the lease has not
outlived its ttl by this process's clock, and in Redis that the key still holds this owner's token.
A holder paused past its ttl (GC, SIGSTOP, a frozen VM) finds on waking that another replica took
the lease with a newer token, and does not act.
A dead holder's duties move to another replica within ttl + ttl/3 (the default 15 s: within 20 s).
Inbound sources with one consumer (Telegram polling, Matrix sync) follow the same lease through
``dihya.leader_sources``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the embedded default (one process, ``Solo``) starts without the Redis client
    import redis

log = logging.getLogger("dihya.leader")
DUTIES = ("job-sweep", "audit-anchor", "retention", "webhooks", "reports")  # the last two: issue 17
SAFETY = 0.8  # act only within this share of the ttl since the last renewal (clock drift)

# Take the lease when free (a new fencing token), renew it when ours; nil when another holds it.
_HOLD = """
local current = redis.call('GET', KEYS[1])
if current then
  local sep = string.find(current, '|', 1, true)
  if sep and string.sub(current, 1, sep - 1) == ARGV[1] then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    return tonumber(string.sub(current, sep + 1))
  end
  return false
end
local token = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1] .. '|' .. token, 'NX', 'PX', ARGV[2])
return token
"""
# Give the lease up only if it is still ours (a successor's must not be deleted).
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class Lease:
    """One replica's view of the leader lease ``name`` in Redis."""

    def __init__(self, client: redis.Redis, name: str = "dihya:leader", ttl_s: float = 15.0,
                 owner: str | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self._client = client
        self._key, self._fence_key = name, f"{name}:fence"
        self._ttl_ms = max(1, int(ttl_s * 1000))
        self.ttl_s = ttl_s
        self.owner = owner or uuid.uuid4().hex
        self._clock = clock
        self.token: int | None = None
        self._valid_until = 0.0

    def hold(self) -> int | None:
        """Take or renew the lease: its fencing token while this replica holds it, else None."""
        started = self._clock()
        token = self._client.eval(_HOLD, 2, self._key, self._fence_key, self.owner, self._ttl_ms)
        if token is None:
            if self.token is not None:
                log.warning("leader lease lost", extra={"token": self.token})
            self.token = None
            return None
        if self.token != int(token):
            log.info("leader lease taken", extra={"token": int(token)})
        self.token = int(token)
        self._valid_until = started + self.ttl_s * SAFETY
        return self.token

    def fenced(self, token: int | None) -> bool:
        """May a duty act with ``token`` now? Only the newest holder within its ttl may."""
        if token is None or token != self.token or self._clock() >= self._valid_until:
            return False
        return bool(self._client.get(self._key) == f"{self.owner}|{token}".encode())

    def held(self) -> bool:
        """Held by this process's clock (no Redis round trip): for ``/readyz``."""
        return self.token is not None and self._clock() < self._valid_until

    def release(self) -> None:
        if self.token is not None:
            self._client.eval(_RELEASE, 1, self._key, f"{self.owner}|{self.token}")
            self.token = None


class Leadership:
    """Renews the lease in the background; duties ask ``may_act`` before each action."""

    def __init__(self, lease: Lease) -> None:
        self._lease = lease

    def may_act(self) -> bool:
        from redis import RedisError

        try:
            return self._lease.fenced(self._lease.token)
        except (RedisError, OSError):
            return False  # unsure who leads: do nothing this round

    def duties(self) -> tuple[str, ...]:
        return DUTIES if self._lease.held() else ()

    async def run(self) -> None:
        """Renew every third of the ttl until cancelled, then give the lease up."""
        from redis import RedisError

        try:
            while True:
                try:
                    await asyncio.to_thread(self._lease.hold)
                except (RedisError, OSError):
                    log.warning("leader lease not renewed: Redis unreachable")
                await asyncio.sleep(self._lease.ttl_s / 3)
        finally:
            with contextlib.suppress(RedisError, OSError):  # else it expires by itself
                self._lease.release()


class Solo:
    """One process, no replicas (the local queue): every duty is this process's."""

    def may_act(self) -> bool:
        return True

    def duties(self) -> tuple[str, ...]:
        return DUTIES
