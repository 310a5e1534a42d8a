"""What a request to ``POST /slack/events`` must be before bolt sees it (issue 10).

Bolt parses the whole body before it checks the signature, raises (500) on a body it cannot parse
and logs the raw body of every request whose signature is wrong. So the shared ingress checks
Slack's v0 signature and its five-minute window here, on the raw bytes, and then parses the body
the way bolt will (``slack_bolt.request.internals.parse_body``), so that bolt only ever gets
signed bodies it can read.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from starlette.datastructures import Headers

from dihya import bounded_json
from dihya.ingress import Refused

WINDOW_S = 5 * 60  # Slack's replay window
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_INVALID = "invalid request"  # what bolt answered; a forger learns nothing from the reason


@dataclass(frozen=True, slots=True)
class SlackSignature:
    """``X-Slack-Signature: v0=HMAC-SHA256(secret, "v0:{timestamp}:{body}")``, timestamp within the window."""

    secret: bytes
    clock: Callable[[], float] = field(default=time.time)

    def check_headers(self, headers: Headers) -> None:
        timestamp = headers.get("x-slack-request-timestamp", "")
        if not headers.get("x-slack-signature") or not _TIMESTAMP.fullmatch(timestamp):
            raise Refused(401, _INVALID)
        if abs(self.clock() - int(timestamp)) > WINDOW_S:
            raise Refused(401, _INVALID)

    def check_body(self, headers: Headers, body: bytes) -> None:
        base = b"v0:" + headers["x-slack-request-timestamp"].encode() + b":" + body
        expected = "v0=" + hmac.new(self.secret, base, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected.encode(), headers["x-slack-signature"].encode("latin-1", "replace")):
            raise Refused(401, _INVALID)


def slack_payload(headers: Headers, body: bytes) -> dict[str, object]:
    """The body as bolt will read it: JSON (events), a form (slash commands) or a form whose
    ``payload`` field is JSON (interactivity). Anything else is a 400 here, not a 500 in bolt."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Refused(400, "body is not UTF-8") from None
    content_type = headers.get("content-type", "").split(";")[0]
    if content_type == "application/json" or text.startswith("{"):
        return _object(text)
    form = dict(parse_qsl(text, keep_blank_values=True))
    if "payload" in text and "payload" in form:
        return _object(form["payload"])
    return dict(form)


def _object(text: str) -> dict[str, object]:
    try:
        value = bounded_json.loads(text)
    except bounded_json.MalformedJson as err:
        raise Refused(400, str(err)) from None
    if not isinstance(value, dict):
        raise Refused(400, "expected a JSON object")
    return value
