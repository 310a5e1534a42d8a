"""Store methods for secrets, retention, GDPR and identity links, mixed into ``SqlStore``."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping, Sequence

from sqlalchemy import Connection, Engine, delete, func, insert, select, update

from bot.audit import Checkpoint
from bot.clock import now_us
from bot.erasure import ERASED, erased_voter, mentions, without
from bot.jobs import TERMINAL
from bot.ports import PersonData, SecretInfo
from dihya.store.models import (
    ApprovalRequestRow,
    ApprovalVote,
    AuditEvent,
    Identity,
    JobRow,
    Person,
    Pseudonym,
    RoleAssignment,
)
from dihya.store.models_alerts import AlertGroupRow, IncidentEventRow, IncidentRow
from dihya.store.models_api import ApiTokenRow
from dihya.store.models_compliance import AuditCheckpoint, LinkCode, SecretRow

__all__ = ["ERASED", "ComplianceSql"]
_FINAL_JOB_STATES = tuple(sorted(TERMINAL))


class ComplianceSql:
    __slots__ = ()
    engine: Engine
    reader: Engine  # see ``SqlStore``

    # -- pseudonyms -----------------------------------------------------------------------------
    def find_pseudonym(self, key: str) -> str | None:
        """The pseudonym of ``key`` if it has one; unlike ``pseudonym`` it never creates one."""
        with self.reader.connect() as conn:
            return conn.scalar(select(Pseudonym.pseudonym).where(Pseudonym.subject == key))

    # -- secrets (encrypted tokens; the vault lives outside the store) ----------------------------
    def secret_put(self, name: str, token: bytes, now_us: int) -> None:
        with self.engine.begin() as conn:
            values = {"token": token.decode("ascii"), "updated_us": now_us}
            if not conn.execute(update(SecretRow).where(SecretRow.name == name).values(**values)).rowcount:
                conn.execute(insert(SecretRow).values(name=name, created_us=now_us, **values))

    def secret_token(self, name: str) -> bytes | None:
        with self.reader.connect() as conn:
            token = conn.scalar(select(SecretRow.token).where(SecretRow.name == name))
        return token.encode("ascii") if token is not None else None

    def secret_list(self) -> list[SecretInfo]:
        with self.reader.connect() as conn:
            rows = conn.execute(select(SecretRow.name, SecretRow.updated_us).order_by(SecretRow.name)).all()
        return [SecretInfo(r.name, r.updated_us) for r in rows]

    def secret_delete(self, name: str) -> bool:
        with self.engine.begin() as conn:
            return bool(conn.execute(delete(SecretRow).where(SecretRow.name == name)).rowcount)

    def secret_tokens(self) -> dict[str, bytes]:
        with self.reader.connect() as conn:
            return {r.name: r.token.encode("ascii") for r in conn.execute(select(SecretRow.name, SecretRow.token))}

    def secret_replace(self, tokens: Mapping[str, bytes]) -> None:
        """Swap tokens in one transaction (key rotation): all secrets move to the new key, or none."""
        with self.engine.begin() as conn:
            for name, token in tokens.items():
                conn.execute(update(SecretRow).where(SecretRow.name == name).values(token=token.decode("ascii")))

    # -- identity links -------------------------------------------------------------------------
    def link_code_put(self, code_hash: str, subject: str, expires_us: int) -> None:
        """One live code per identity: a new one replaces the previous."""
        with self.engine.begin() as conn:
            conn.execute(delete(LinkCode).where(LinkCode.subject == subject))
            conn.execute(insert(LinkCode).values(code_hash=code_hash, subject=subject, expires_us=expires_us))

    def link_code_take(self, code_hash: str, now_us: int) -> str | None:
        """The identity that asked for the code, once: the code is deleted whether or not it expired."""
        with self.engine.begin() as conn:
            row = conn.execute(select(LinkCode.subject, LinkCode.expires_us)
                               .where(LinkCode.code_hash == code_hash).with_for_update()).first()
            if row is None:
                return None
            conn.execute(delete(LinkCode).where(LinkCode.code_hash == code_hash))
            return str(row.subject) if row.expires_us > now_us else None

    def link_identities(self, into_key: str, other_key: str) -> bool:
        """Attach ``other_key`` (and every identity of its person) to ``into_key``'s person; roles
        are merged. False when both already belong to one person."""
        with self.engine.begin() as conn:
            into = _ensure_person_id(conn, into_key)
            other = _person_id(conn, other_key)
            if other == into:
                return False
            if other is None:
                platform, _, user_id = other_key.partition(":")
                conn.execute(insert(Identity).values(platform=platform, platform_user_id=user_id, person_id=into))
                return True
            _merge_people(conn, into, other)
            return True

    # -- GDPR -----------------------------------------------------------------------------------
    def person_data(self, key: str) -> PersonData | None:
        with self.reader.connect() as conn:
            person_id = _person_id(conn, key)
            if person_id is None:
                return None
            keys = _keys_of(conn, person_id)
            roles = frozenset(conn.scalars(select(RoleAssignment.role).where(RoleAssignment.person_id == person_id)))
            locale = conn.scalar(select(Person.locale).where(Person.id == person_id))
            pseudonyms = tuple(conn.scalars(select(Pseudonym.pseudonym).where(Pseudonym.subject.in_(keys))))
        return PersonData(person_id, keys, roles, locale, pseudonyms)

    def erase_person(self, key: str) -> int:
        """Delete the person, their identities, roles and pseudonym links (crypto-shredding: audit
        rows keep their pseudonym, nothing maps it back), and scrub their identity keys from
        approvals and jobs. Returns how many identities were erased."""
        with self.engine.begin() as conn:
            person_id = _person_id(conn, key)
            keys = _keys_of(conn, person_id) if person_id is not None else (key,)
            conn.execute(delete(Pseudonym).where(Pseudonym.subject.in_(keys)))
            conn.execute(delete(LinkCode).where(LinkCode.subject.in_(keys)))
            conn.execute(delete(ApiTokenRow).where(ApiTokenRow.identity.in_(keys)))  # issue 13: refused from now on
            if person_id is not None:
                conn.execute(delete(RoleAssignment).where(RoleAssignment.person_id == person_id))
                conn.execute(delete(Identity).where(Identity.person_id == person_id))
                conn.execute(delete(Person).where(Person.id == person_id))
            _scrub_approvals(conn, keys)
            _scrub_jobs(conn, keys)
            _scrub_alerts(conn, keys)
            return len(keys) if person_id is not None else 0

    # -- retention ------------------------------------------------------------------------------
    def audit_checkpoint(self) -> Checkpoint | None:
        query = select(AuditCheckpoint).order_by(AuditCheckpoint.id.desc()).limit(1)
        with self.reader.connect() as conn:
            row = conn.execute(query).first()
        if row is None:
            return None
        intact = row.digest == _checkpoint_digest(row.through_seq, row.hash, row.purged, row.created_us)
        # A damaged checkpoint vouches for nothing: an empty hash matches no row's prev_hash.
        return Checkpoint(row.through_seq, row.hash if intact else "", row.purged)

    def purge_audit(self, through_seq: int, now_us: int) -> Checkpoint | None:
        """Delete audit rows up to ``through_seq`` and record where the chain now starts."""
        with self.engine.begin() as conn:
            last_hash = conn.scalar(select(AuditEvent.hash).where(AuditEvent.seq == through_seq))
            if last_hash is None:
                return None
            before = conn.scalar(select(AuditCheckpoint.purged).order_by(AuditCheckpoint.id.desc()).limit(1)) or 0
            deleted = conn.execute(delete(AuditEvent).where(AuditEvent.seq <= through_seq)).rowcount
            purged = before + deleted
            digest = _checkpoint_digest(through_seq, last_hash, purged, now_us)
            conn.execute(insert(AuditCheckpoint).values(through_seq=through_seq, hash=last_hash, purged=purged,
                                                        created_us=now_us, digest=digest))
            return Checkpoint(through_seq, last_hash, purged)

    def purge_jobs(self, finished_before_us: int) -> int:
        """Delete finished jobs (their logs, excerpts and results) that ended before the cut-off."""
        with self.engine.begin() as conn:
            return int(conn.execute(delete(JobRow).where(JobRow.state.in_(_FINAL_JOB_STATES),
                                                         JobRow.finished_us < finished_before_us)).rowcount)

    def audit_count(self) -> int:
        with self.reader.connect() as conn:
            return int(conn.scalar(select(func.count()).select_from(AuditEvent)) or 0)


def _checkpoint_digest(through_seq: int, last_hash: str, purged: int, created_us: int) -> str:
    return hashlib.sha256(f"dihya-checkpoint:{through_seq}:{last_hash}:{purged}:{created_us}".encode()).hexdigest()


def _person_id(conn: Connection, key: str) -> int | None:
    platform, _, user_id = key.partition(":")
    return conn.scalar(select(Identity.person_id).where(Identity.platform == platform,
                                                        Identity.platform_user_id == user_id))


def _ensure_person_id(conn: Connection, key: str) -> int:
    found = _person_id(conn, key)
    if found is not None:
        return found
    made = insert(Person).values(display_name="", created_us=now_us(time.time)).returning(Person.id)
    person_id: int = conn.execute(made).scalar_one()
    platform, _, user_id = key.partition(":")
    conn.execute(insert(Identity).values(platform=platform, platform_user_id=user_id, person_id=person_id))
    return person_id


def _keys_of(conn: Connection, person_id: int) -> tuple[str, ...]:
    rows = conn.execute(select(Identity.platform, Identity.platform_user_id).where(Identity.person_id == person_id)
                        .order_by(Identity.platform, Identity.platform_user_id))
    return tuple(f"{p}:{u}" for p, u in rows)


def _merge_people(conn: Connection, into: int, other: int) -> None:
    """Move ``other``'s identities and roles to ``into``; pending approvals follow the person, so
    the self-approval rule (same person) still holds across the linked identities."""
    held = set(conn.scalars(select(RoleAssignment.role).where(RoleAssignment.person_id == into)))
    for role in conn.scalars(select(RoleAssignment.role).where(RoleAssignment.person_id == other)).all():
        if role not in held:
            conn.execute(insert(RoleAssignment).values(person_id=into, role=role))
    conn.execute(update(Identity).where(Identity.person_id == other).values(person_id=into))
    conn.execute(update(ApprovalRequestRow).where(ApprovalRequestRow.requester_person == other)
                 .values(requester_person=into))
    conn.execute(update(ApprovalVote).where(ApprovalVote.voter_person == other).values(voter_person=into))
    into_locale = conn.scalar(select(Person.locale).where(Person.id == into))
    if into_locale is None:
        other_locale = conn.scalar(select(Person.locale).where(Person.id == other))
        conn.execute(update(Person).where(Person.id == into).values(locale=other_locale))
    conn.execute(delete(RoleAssignment).where(RoleAssignment.person_id == other))
    conn.execute(delete(Person).where(Person.id == other))


def _scrub_approvals(conn: Connection, keys: Sequence[str]) -> None:
    named = mentions(keys)
    rows = conn.execute(select(ApprovalRequestRow.id, ApprovalRequestRow.requester, ApprovalRequestRow.text,
                               ApprovalRequestRow.args)).all()
    for row in rows:
        values: dict[str, object] = {}
        if row.requester in keys:
            values.update(requester=ERASED, requester_person=None)
        if row.requester in keys or named.search(row.text) or named.search(row.args):
            values.update(text=ERASED, args="{}")  # a pending one then fails its re-check: never runs
        if values:
            conn.execute(update(ApprovalRequestRow).where(ApprovalRequestRow.id == row.id).values(**values))
    for vote in conn.execute(select(ApprovalVote.request_id, ApprovalVote.voter)
                             .where(ApprovalVote.voter.in_(keys))).all():
        conn.execute(update(ApprovalVote).where(ApprovalVote.request_id == vote.request_id,
                                                ApprovalVote.voter == vote.voter)
                     .values(voter=erased_voter(), voter_person=None))


def _scrub_jobs(conn: Connection, keys: Sequence[str]) -> None:
    conn.execute(update(JobRow).where(JobRow.requester.in_(keys)).values(requester=ERASED))
    for row in conn.execute(select(JobRow.id, JobRow.approvers)).all():
        approvers = json.loads(row.approvers)
        kept = [ERASED if a in keys else a for a in approvers]
        if kept != approvers:
            conn.execute(update(JobRow).where(JobRow.id == row.id).values(approvers=json.dumps(kept)))


def _scrub_alerts(conn: Connection, keys: Sequence[str]) -> None:
    """Who acknowledged an alert, opened, owns or acted on an incident; and mentions in timeline text."""
    conn.execute(update(AlertGroupRow).where(AlertGroupRow.acked_by.in_(keys)).values(acked_by=ERASED))
    conn.execute(update(IncidentRow).where(IncidentRow.opened_by.in_(keys)).values(opened_by=ERASED))
    conn.execute(update(IncidentRow).where(IncidentRow.owner.in_(keys)).values(owner=ERASED))
    conn.execute(update(IncidentEventRow).where(IncidentEventRow.actor.in_(keys)).values(actor=ERASED))
    for row in conn.execute(select(IncidentEventRow.id, IncidentEventRow.text, IncidentEventRow.ref)).all():
        text, ref = without(row.text, keys), without(row.ref, keys)
        if (text, ref) != (row.text, row.ref):
            conn.execute(update(IncidentEventRow).where(IncidentEventRow.id == row.id).values(text=text, ref=ref))
    for incident in conn.execute(select(IncidentRow.id, IncidentRow.title)).all():
        title = without(incident.title, keys)
        if title != incident.title:
            conn.execute(update(IncidentRow).where(IncidentRow.id == incident.id).values(title=title))
