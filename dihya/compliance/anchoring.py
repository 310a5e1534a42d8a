"""Periodic anchors: the audit head copied to a file and/or an audit channel (see ``dihya.audit_anchor``)."""

from __future__ import annotations

import logging
from pathlib import Path

from bot.actions import Send
from bot.i18n import DEFAULT_LOCALE, Catalogs
from bot.ports import Store
from dihya.audit_anchor import Anchor, AnchorError, anchor_message, anchor_of, latest_anchor, write_anchor
from dihya.compliance.verification import tail_check

log = logging.getLogger("dihya.audit")


def anchor_file(store: Store, path: Path, now: float) -> Anchor | None:
    """Append the current head unless it is already the latest anchor. A log that lost anchored
    rows is reported (logged) and not anchored: a new anchor would hide the loss."""
    head = store.audit_head()
    if head is None:
        return None
    previous = latest_anchor(path)
    if previous is not None and (previous.last_seq, previous.hash) == (head.last_seq, head.hash):
        return None
    verdict = tail_check(store, previous, store.audit_checkpoint())
    if not verdict.ok:
        log.error("audit tail check failed; not anchoring", extra={"seq": verdict.bad_seq, "reason": verdict.reason})
        return None
    try:
        return write_anchor(path, head, now)
    except AnchorError:
        log.error("audit log is shorter than its last anchor; not anchoring")
        return None


def channel_anchor(store: Store, catalogs: Catalogs, channel: str, now: float) -> tuple[str, Send] | None:
    """(platform, message) posting the head to the audit channel ``PLATFORM:CHANNEL``."""
    head = store.audit_head()
    platform, sep, channel_id = channel.partition(":")
    if head is None or not sep:
        return None
    text = catalogs.render(anchor_message(anchor_of(head, now)), DEFAULT_LOCALE)
    return platform, Send(channel_id, text)
