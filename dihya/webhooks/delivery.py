"""Sends the queued webhook deliveries: in order per subscription, signed, retried with backoff.

Each target is resolved before each attempt and every address it resolves to must pass the
address policy (``bot.addresses``, plus private networks) unless ``[webhooks] allow_addresses``
lists it; the request then goes to the address that was checked (the host name travels in the
``Host`` header and, for HTTPS, as the TLS server name), so a DNS answer cannot change between the
check and the connection. A 2xx delivers; a 5xx, 408, 429, timeout or connection failure is
retried after ``base·2^attempts`` seconds (capped, with ±50 % jitter); any other answer, or an
age past ``expire_seconds``, ends the delivery (``webhooks`` shows it).
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import random
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from bot.addresses import IPAddress
from bot.audit import AuditRecord
from bot.clock import micros, now_us
from bot.i18n import N_
from bot.ports import Clock
from commands.webhooks import WebhookStatus
from dihya.store.webhooks_sql import DELIVERED, EXPIRED, REJECTED, Delivery, WebhookDeliveriesSql
from dihya.webhooks.config import Subscription, WebhookConfig
from dihya.webhooks.events import SIGNATURE_HEADER, body, event_kind, matches, signature

PRIVATE = N_("private")
UNRESOLVED = N_("unresolvable")
_RETRIED = frozenset({408, 425, 429})
_MAX_STEPS = 200  # deliveries per pass, so one busy subscription cannot hold the thread forever
log = logging.getLogger("dihya.webhooks")

Resolver = Callable[[str, int], list[str]]


def resolve(host: str, port: int) -> list[str]:
    return sorted({str(info[4][0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)})


@dataclass(frozen=True, slots=True)
class Target:
    url: str  # with the checked IP address as its host
    host_header: str
    server_name: str


class WebhookSender:
    def __init__(self, config: WebhookConfig, store: WebhookDeliveriesSql, secret: Callable[[str], str | None],
                 clock: Clock, resolver: Resolver = resolve, jitter: Callable[[], float] = random.random) -> None:
        self.config = config
        self.store = store
        self._secret = secret
        self._clock = clock
        self._resolve = resolver
        self._jitter = jitter
        self._refused: dict[str, str | None] | None = None

    def now_us(self) -> int:
        return now_us(self._clock)

    # -- audit rows → deliveries ------------------------------------------------------------------
    def fanout(self, record: AuditRecord) -> list[tuple[str, str, str, str]]:
        kind = event_kind(record)
        if kind is None:
            return []
        subs = [s for s in self.config.subscriptions if matches(s, kind, record.draft.details)]
        if not subs:
            return []
        event_id, text = body(record, kind)
        event = json.loads(text)["event"]
        return [(s.name, event_id, event, text) for s in subs]

    def test(self, name: str) -> int:
        event_id = f"test-{uuid.uuid4().hex[:16]}"
        text = json.dumps({"id": event_id, "timestamp": _iso(self._clock()), "event": "webhook.test",
                           "subscription": name}, sort_keys=True)
        return self.store.add(name, event_id, "webhook.test", text, self.now_us())

    # -- sending ------------------------------------------------------------------------------------
    def step(self) -> int:
        """Queue new events, then send every due delivery (each subscription's in order); returns how many went."""
        if not self.config.subscriptions:
            return 0
        self.store.enqueue(self.fanout, self.now_us())
        sent = 0
        for _ in range(_MAX_STEPS):
            due = [d for d in self.store.heads() if d.next_us <= self.now_us()]
            if not due:
                break
            for delivery in due:
                sent += self._attempt(delivery)
        return sent

    def check_targets(self) -> dict[str, str | None]:
        """Each subscription's refusal (None when its URL may be called); refused ones are logged."""
        refused = {s.name: self.refusal(s) for s in self.config.subscriptions}
        for name, kind in refused.items():
            if kind is not None:
                log.error("webhook subscription refused", extra={"subscription": name, "kind": kind})
        self._refused = refused
        return refused

    def statuses(self) -> list[WebhookStatus]:
        refused = self._refused if self._refused is not None else self.check_targets()
        last = self.store.last([s.name for s in self.config.subscriptions])
        return [WebhookStatus(s.name, s.host, tuple(sorted(s.events)), self.store.pending(s.name),
                              last[s.name].last_status if s.name in last else "", refused.get(s.name))
                for s in self.config.subscriptions]

    async def run_forever(self, may_act: Callable[[], bool] = lambda: True) -> None:
        """``may_act``: whether this replica leads now (``dihya.leader``): deliveries leave from one
        replica at a time, so each subscription's order holds between replicas too."""
        self.store.start_cursor()
        await asyncio.to_thread(self.check_targets)
        while True:
            try:
                if may_act():
                    await asyncio.to_thread(self.step)
            except Exception:  # a database hiccup: log it and try again on the next pass
                log.exception("webhook pass failed")
            await asyncio.sleep(self.config.poll_seconds)

    def refusal(self, sub: Subscription) -> str | None:
        """Why ``sub``'s URL may not be called (a message id), or None."""
        try:
            self._target(sub)
        except _Refused as refused:
            return refused.kind
        return None

    def _attempt(self, delivery: Delivery) -> int:
        sub = self.config.subscription(delivery.subscription)
        now = self.now_us()
        if sub is None or now - delivery.created_us > micros(self.config.expire_seconds):
            self.store.settle(delivery.id, EXPIRED, "expired")
            log.warning("webhook delivery expired", extra={"subscription": delivery.subscription,
                                                           "event_id": delivery.event_id})
            return 0
        secret = self._secret(sub.secret)
        if secret is None:
            return self._retry(delivery, "no secret")
        try:
            target = self._target(sub)
        except _Refused as refused:
            self.store.settle(delivery.id, REJECTED, f"refused: {refused.kind}")
            log.error("webhook target refused", extra={"subscription": sub.name, "kind": refused.kind})
            return 0
        import httpx  # loaded once a webhook is due: the embedded default starts without it

        raw = delivery.body.encode()
        headers = {"Content-Type": "application/json", "Host": target.host_header, "User-Agent": "Dihya",
                   SIGNATURE_HEADER: signature(secret, raw), "X-Dihya-Event": delivery.event,
                   "X-Dihya-Delivery": delivery.event_id}
        extensions = {"sni_hostname": target.server_name} if target.url.startswith("https:") else {}
        try:
            with httpx.Client(timeout=self.config.timeout_seconds, follow_redirects=False) as client:
                status = client.post(target.url, content=raw, headers=headers, extensions=extensions).status_code
        except httpx.HTTPError as err:
            return self._retry(delivery, type(err).__name__)
        if 200 <= status < 300:
            self.store.settle(delivery.id, DELIVERED, str(status))
            return 1
        if status >= 500 or status in _RETRIED:
            return self._retry(delivery, str(status))
        self.store.settle(delivery.id, REJECTED, str(status))
        log.warning("webhook delivery rejected", extra={"subscription": sub.name, "status": status})
        return 0

    def _retry(self, delivery: Delivery, status: str) -> int:
        delay = min(self.config.retry_max_seconds, self.config.retry_base_seconds * 2 ** delivery.attempts)
        delay *= 0.5 + self._jitter()
        self.store.settle(delivery.id, delivery.state, status, self.now_us() + micros(delay))
        log.info("webhook delivery will be retried", extra={"subscription": delivery.subscription,
                                                            "status": status, "delay_s": round(delay, 3)})
        return 0

    def _target(self, sub: Subscription) -> Target:
        parts = urlsplit(sub.url)
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        policy = self.config.addresses
        name_allowed = host.lower() in policy.allowed_names
        if not name_allowed and (kind := policy.refusal(_canonical(host))) is not None:
            raise _Refused(kind)
        try:
            addresses = self._resolve(host, port)
        except OSError:
            raise _Refused(UNRESOLVED) from None
        if not addresses:
            raise _Refused(UNRESOLVED)
        if not name_allowed:
            for address in addresses:
                if (kind := _refusal(address, self.config)) is not None:
                    raise _Refused(kind)
        ip = ipaddress.ip_address(addresses[0])
        netloc = f"[{ip}]:{port}" if ip.version == 6 else f"{ip}:{port}"
        return Target(urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, "")),
                      parts.netloc.rpartition("@")[2], host)


class _Refused(Exception):
    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


def _canonical(host: str) -> str:
    try:
        return str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        return host.lower()


def _refusal(address: str, config: WebhookConfig) -> str | None:
    kind = config.addresses.refusal(address)
    if kind is not None:
        return kind
    ip: IPAddress = ipaddress.ip_address(address)
    allowed = any(ip.version == n.version and ip in n for n in config.addresses.allowed_networks)
    return PRIVATE if ip.is_private and not allowed else None


def _iso(seconds: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(seconds, UTC).isoformat()
