"""Which audit rows are webhook events, what a delivery's body holds, and how it is signed.

The audit log is the event source: every command, vote, job transition, alert and incident change
is already written there, in order, by the core; the webhooks read it and the core knows nothing of them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping

from bot.audit import AuditRecord
from bot.clock import utc_datetime
from dihya.webhooks.config import Subscription

SIGNATURE_HEADER = "X-Dihya-Signature"
_ENVIRONMENTS = {"prod": "production", "production": "production"}


def event_kind(record: AuditRecord) -> str | None:
    """The subscription event an audit row belongs to (``job``, ``approval``…), or None for none."""
    action, outcome = record.draft.action, record.draft.outcome
    family = action.split(":", 1)[0]
    if family == "job":
        return "job"
    if family == "approval" or (family == "command" and outcome == "approval_requested"):
        return "approval"
    if action.startswith(("command:incident", "incident:", "reaction:incident")):
        return "incident"
    if action == "alert:received" or action.startswith(("command:alert", "reaction:alert")):
        return "alert"
    if "anchor" in action:
        return "audit_anchor"
    if family == "command" and outcome not in ("invalid", "denied"):
        return "command"
    return None


def event_name(kind: str, record: AuditRecord) -> str:
    """``job.succeeded``, ``approval.requested``, ``alert.firing``, ``command.deploy``…"""
    action, outcome = record.draft.action, record.draft.outcome
    if kind == "job":
        return f"job.{action.split(':', 1)[1]}"
    if kind == "approval":
        return "approval.requested" if outcome == "approval_requested" else f"approval.{action.split(':', 1)[1]}"
    if kind == "alert" and action == "alert:received":
        return f"alert.{outcome}"
    return f"{kind}.{action.split(':', 1)[1]}"


def matches(sub: Subscription, kind: str, details: Mapping[str, object]) -> bool:
    if kind not in sub.events:
        return False
    args = details.get("args")
    fields = {**details, **args} if isinstance(args, Mapping) else details  # a command row nests its arguments
    service, env, severity = (str(fields.get(k, "")) for k in ("service", "env", "severity"))
    env = _ENVIRONMENTS.get(env, env)
    return ((not sub.services or service in sub.services)
            and (not sub.environments or env in sub.environments)
            and (not sub.severities or severity in sub.severities))


def body(record: AuditRecord, kind: str) -> tuple[str, str]:
    """(event id, JSON body) for an audit row: the id is the row's sequence number, stable across retries."""
    d = record.draft
    event_id = f"evt-{record.seq}"
    payload = {"id": event_id, "timestamp": utc_datetime(d.ts_us).isoformat(),
               "event": event_name(kind, record), "action": d.action, "target": d.target, "outcome": d.outcome,
               "ref": d.ref, "actor": d.actor, "details": dict(d.details)}
    return event_id, json.dumps(payload, ensure_ascii=False, sort_keys=True, default=str)


def signature(secret: str, raw: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
