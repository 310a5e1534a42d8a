"""Audit exports: audit rows as CSV or JSON, with personal data masked.

Actors are already pseudonyms in the store. Targets, details and other free text may still
name people, so every text field goes through the secret ``Redactor`` and then ``mask_pii``.
``mask_pii`` replaces identity keys (``slack:U123``, Matrix ids, mentions), e-mail addresses,
IPv4/IPv6 addresses and phone numbers. The row hashes are exported unchanged: they let a
receiver match a row with the live chain. The masked content cannot be checked against them.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import ipaddress
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TextIO

import phonenumbers

from bot.audit import AuditRecord
from bot.clock import micros
from bot.errors import UserError
from bot.i18n import N_
from dihya.redaction import MASK, Redactor

COLUMNS = ("seq", "time", "actor", "action", "target", "outcome", "ref", "details", "hash")
IP_MASK, EMAIL_MASK, PHONE_MASK, ID_MASK = "[IP]", "[EMAIL]", "[PHONE]", "[ID]"
PLATFORMS = ("slack", "matrix", "telegram", "console", "api", "cli")
# Numbers in national format are recognised for these regions (the project's languages:
# Arabic and Tamazight → Algeria, French → France). International "+…" numbers are always recognised.
PHONE_REGIONS: tuple[str, ...] = ("DZ", "FR")

Pseudonymise = Callable[[str], str | None]
"""An identity key such as ``slack:U123`` → its audit pseudonym, or None if it has none (a channel
address has the same shape, and an erased person has no pseudonym left). It must not create one."""


# -- selection ---------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ExportFilter:
    """Rows at or after ``since_us``, whose action is in ``actions`` (all rows when it is empty).
    An action is matched by its full name (``command:audit.verify``), its command name
    (``audit.verify``) or its family (``audit``), ignoring case."""

    since_us: int | None = None
    actions: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        object.__setattr__(self, "actions", frozenset(a.casefold() for a in self.actions))

    def accepts(self, record: AuditRecord) -> bool:
        if self.since_us is not None and record.draft.ts_us < self.since_us:
            return False
        return not self.actions or not self.actions.isdisjoint(action_names(record.draft.action))


def action_names(action: str) -> frozenset[str]:
    name = action.casefold().rpartition(":")[2]
    return frozenset({action.casefold(), name, name.partition(".")[0]})


_DURATION = re.compile(r"(\d{1,6})\s*([wdhm])", re.IGNORECASE)
_UNIT_SECONDS = {"w": 7 * 86_400, "d": 86_400, "h": 3_600, "m": 60}  # "m" is minutes, never months


def parse_since(text: str, now: float) -> int:
    """``7d``/``12h``/``30m``/``2w`` before ``now`` (epoch seconds), or an ISO date or date-time
    (UTC unless it names an offset), as epoch microseconds."""
    value = text.strip()
    if match := _DURATION.fullmatch(value):
        seconds = int(match[1]) * _UNIT_SECONDS[match[2].lower()]
        return max(0, micros(now) - micros(seconds))
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise UserError(N_("“{value}” is not a date or a duration: use a date such as 2026-11-01 "
                           "or a duration such as 7d, 12h or 30m."), value=text) from None
    return max(0, _epoch_us(moment if moment.tzinfo else moment.replace(tzinfo=UTC)))


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _epoch_us(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(microseconds=1)


def iso_time(ts_us: int) -> str:
    """Exact (integer arithmetic, no float rounding) ISO-8601 UTC time with microseconds."""
    moment = _EPOCH + timedelta(microseconds=ts_us)
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")


# -- personal data -----------------------------------------------------------------------------
_EMAIL = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@(?:[\w-]+(?:\.[\w-]+)+|\[[0-9A-Fa-f:.]+\])")
_KEY_CHAR = r"[^\s\"'\\,;()<>\[\]{}]"
_PLATFORM_KEY = re.compile(rf"\b(?:{'|'.join(PLATFORMS)}):{_KEY_CHAR}*[^\s\"'\\,;()<>\[\]{{}}.:!?]")
_SLACK_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
_MATRIX_ID = re.compile(r"(?<![\w@])@[\w.=/+-]+:[\w-]+(?:\.[\w-]+)*(?::\d+)?")
_HANDLE = re.compile(r"(?<![\w@])@[A-Za-z][\w.]*\w")  # Telegram / Slack @names
_IPV6_CANDIDATE = re.compile(r"(?<!\w)[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f.]{0,15}){2,8}(?:%[\w.-]+)?")
# A dotted quad even with out-of-range octets: over-masking "999.1.1.1" costs nothing.
_IPV4 = re.compile(r"(?<!\d)(?<!\d\.)\d{1,3}(?:\.\d{1,3}){3}(?!\.?\d)")
_INTL_PHONE = re.compile(r"(?<![\w+])\+\d(?:[ .()/-]{0,2}\d){6,16}(?!\d)")
_DIGIT = re.compile(r"\d")


def mask_pii(text: str, *, pseudonymise: Pseudonymise | None = None,
             phone_regions: Sequence[str] = PHONE_REGIONS) -> str:
    """Replace personal data in free text. Identity keys (and channel addresses, which look the
    same) become their pseudonym if ``pseudonymise`` knows one, else ``[ID]``. Display names in
    prose cannot be recognised; the core never writes them into audit rows."""
    text = _EMAIL.sub(EMAIL_MASK, text)
    text = _mask_identities(text, pseudonymise)
    text = _IPV6_CANDIDATE.sub(_mask_ipv6, text)
    text = _IPV4.sub(IP_MASK, text)
    return _mask_phones(text, phone_regions)


def _mask_identities(text: str, pseudonymise: Pseudonymise | None) -> str:
    def person(key: str) -> str:
        return (pseudonymise(key) if pseudonymise else None) or ID_MASK

    text = _PLATFORM_KEY.sub(lambda m: person(m[0]), text)
    text = _SLACK_MENTION.sub(lambda m: person(f"slack:{m[1]}"), text)
    text = _MATRIX_ID.sub(lambda m: person(f"matrix:{m[0]}"), text)
    return _HANDLE.sub(ID_MASK, text)


def _mask_ipv6(match: re.Match[str]) -> str:
    """Mask the candidate, or the candidate without the trailing "." or ":" that ended a
    sentence; leave it alone if it is no address (clock times such as 12:30:45)."""
    candidate = match[0]
    end = len(candidate)
    while end > 1:
        if _is_ipv6(candidate[:end]):
            return IP_MASK + candidate[end:]
        if candidate[end - 1] not in ".:":
            break
        end -= 1
    return candidate


def _is_ipv6(text: str) -> bool:
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return True


def _mask_phones(text: str, regions: Sequence[str]) -> str:
    if len(_DIGIT.findall(text)) < 6:  # the shortest number worth matching; skips most text cheaply
        return text
    text = _INTL_PHONE.sub(PHONE_MASK, text)
    for region in regions:
        matches = list(phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.VALID))
        for found in reversed(matches):
            text = text[: found.start] + PHONE_MASK + text[found.end :]
    return text


# -- rows --------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ExportRow:
    seq: int
    time: str
    actor: str
    action: str
    target: str
    outcome: str
    ref: str
    details: str  # JSON text
    hash: str


Scrub = Callable[[str], str]
# A detail whose key names a secret is masked whole: the Redactor sees only the value, not "key=value".
_SECRET_KEY = re.compile(r"(?i)authori[sz]ation|api[_-]?key|passw(or)?d|secret|token|cookie|credential|private")


def scrubber(redactor: Redactor, pseudonymise: Pseudonymise | None = None,
             phone_regions: Sequence[str] = PHONE_REGIONS) -> Scrub:
    """Secrets first (so a token is matched before its digits look like a phone number), then PII."""
    return lambda text: mask_pii(redactor(text), pseudonymise=pseudonymise, phone_regions=phone_regions)


def export_rows(records: Iterable[AuditRecord], filter: ExportFilter, scrub: Scrub) -> Iterator[ExportRow]:
    for record in records:
        if filter.accepts(record):
            yield _row(record, scrub)


def _row(record: AuditRecord, scrub: Scrub) -> ExportRow:
    d = record.draft
    details = json.dumps(_scrub_tree(d.details, scrub), sort_keys=True, ensure_ascii=False,
                         separators=(",", ":"), default=str)
    return ExportRow(record.seq, iso_time(d.ts_us), scrub(d.actor), scrub(d.action), scrub(d.target),
                     scrub(d.outcome), scrub(d.ref), details, record.hash)


def _scrub_tree(value: object, scrub: Scrub) -> object:
    if isinstance(value, Mapping):
        return {scrub(str(k)): MASK if _SECRET_KEY.search(str(k)) else _scrub_tree(v, scrub)
                for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub_tree(v, scrub) for v in value]
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int | float):  # a phone number can be stored as a number
        text = str(value)
        masked = scrub(text)
        return value if masked == text else masked
    return scrub(str(value))


# -- formats -----------------------------------------------------------------------------------
# Writers stream: one row at a time from the store's cursor to ``out``, so an export of any size
# needs the same memory (``dihya.compliance.exports`` writes them to files).
def write_csv(rows: Iterable[ExportRow], out: TextIO) -> None:
    """RFC 4180 CSV (CRLF) with a header row."""
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([_csv_cell(str(getattr(row, column))) for column in COLUMNS])  # astuple deep-copies


def _csv_cell(text: str) -> str:
    """Spreadsheets run cells starting with = + - @ as formulas; chat text is untrusted (OWASP CSV injection)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def write_json(rows: Iterable[ExportRow], out: TextIO) -> None:
    """A JSON array of row objects, keys in column order (laid out as ``json.dumps(indent=1)`` would)."""
    write_json_array((dataclasses.asdict(row) for row in rows), out)


def write_json_array(items: Iterable[object], out: TextIO, depth: int = 0) -> None:
    """``items`` as a JSON array, one at a time, laid out as ``json.dumps(indent=1)`` would at
    nesting ``depth`` (the array is the value of a key ``depth`` levels down)."""
    inner = "\n" + " " * (depth + 1)
    out.write("[")
    empty = True
    for item in items:
        out.write(("" if empty else ",") + inner + json.dumps(item, ensure_ascii=False, indent=1).replace("\n", inner))
        empty = False
    out.write("]" if empty else "\n" + " " * depth + "]")


def export_csv(records: Iterable[AuditRecord], filter: ExportFilter, redactor: Redactor,
               pseudonymise: Pseudonymise | None = None) -> bytes:
    """``write_csv`` into memory, UTF-8 (small exports and tests)."""
    buf = io.StringIO(newline="")
    write_csv(export_rows(records, filter, scrubber(redactor, pseudonymise)), buf)
    return buf.getvalue().encode()


def export_json(records: Iterable[AuditRecord], filter: ExportFilter, redactor: Redactor,
                pseudonymise: Pseudonymise | None = None) -> bytes:
    """``write_json`` into memory, UTF-8, with a final newline (small exports and tests)."""
    buf = io.StringIO()
    write_json(export_rows(records, filter, scrubber(redactor, pseudonymise)), buf)
    return (buf.getvalue() + "\n").encode()
