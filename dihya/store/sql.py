"""``SqlStore``: the core's ``Store`` port over SQLAlchemy 2 (SQLite by default, PostgreSQL in production)."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator, Mapping, Sequence

from sqlalchemy import Connection, Engine, Row, Select, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from bot.audit import GENESIS, AuditDraft, AuditRecord, ChainHead, canonical_details, chain_hash
from bot.errors import UserError
from bot.events import Place
from bot.jobs import JobDraft, JobLocked, JobRecord, job_lock
from bot.ports import ApprovalDraft, ApprovalRecord, IdentityRecord, Server, Vote
from dihya.store.alerts_sql import AlertsSql
from dihya.store.api_tokens_sql import ApiTokensSql
from dihya.store.compliance_sql import ComplianceSql
from dihya.store.engine import readers
from dihya.store.job_locks import active_holder  # issue 16
from dihya.store.models import (
    ApprovalRequestRow,
    ApprovalVote,
    AuditEvent,
    AuditHead,
    Identity,
    JobRow,
    KeyValue,
    MessageRef,
    Person,
    Pseudonym,
    RoleAssignment,
    ServerRow,
)
from dihya.store.sealing import UNREADABLE, Sealer, address_field, result_field

_HEAD_ID = 1
_HEAD = select(AuditHead.count.label("n"), AuditHead.last_seq, AuditHead.hash).where(AuditHead.id == _HEAD_ID)


def split_key(key: str) -> tuple[str, str]:
    platform, _, user_id = key.partition(":")
    return platform, user_id


class SqlStore(AlertsSql, ComplianceSql, ApiTokensSql):
    __slots__ = ("engine", "reader", "sealer", "_audit_insert", "_head_ready")

    def __init__(self, engine: Engine, sealer: Sealer | None = None) -> None:
        self.engine = engine  # transactions that write (on SQLite they take the write lock at BEGIN)
        self.reader = readers(engine)  # transactions that only read: they lock no writer out
        self.sealer = sealer or Sealer()  # inventory addresses and job results, encrypted at rest
        self._head_ready = False
        mark = "?" if engine.dialect.paramstyle == "qmark" else "%s"
        columns = "seq, ts_us, actor, action, target, outcome, ref, details, prev_hash, hash"
        # Only constant column names and placeholders: no value is ever formatted into SQL.
        self._audit_insert = f"INSERT INTO audit_events ({columns}) VALUES ({', '.join([mark] * 10)})"  # noqa: S608

    # -- identities and roles -------------------------------------------------------------
    def identity(self, key: str) -> IdentityRecord | None:
        with self.engine.begin() as conn:  # writes the pseudonym the first time
            person = _person_of(conn, key)
            if person is None:
                return None
            roles = conn.scalars(select(RoleAssignment.role).where(RoleAssignment.person_id == person.id))
            return IdentityRecord(key, person.id, _pseudonym(conn, key), frozenset(roles), person.locale)

    def pseudonym(self, key: str) -> str:
        with self.engine.begin() as conn:
            return _pseudonym(conn, key)

    def set_locale(self, key: str, locale: str | None) -> None:
        with self.engine.begin() as conn:
            person_id = _ensure_person(conn, key)
            conn.execute(update(Person).where(Person.id == person_id).values(locale=locale))

    def grant_role(self, key: str, role: str) -> bool:
        with self.engine.begin() as conn:
            person_id = _ensure_person(conn, key)
            held = conn.scalar(select(RoleAssignment.role).where(
                RoleAssignment.person_id == person_id, RoleAssignment.role == role))
            if held is not None:
                return False
            conn.execute(insert(RoleAssignment).values(person_id=person_id, role=role))
            return True

    def revoke_role(self, key: str, role: str) -> bool:
        with self.engine.begin() as conn:
            person = _person_of(conn, key)
            if person is None:
                return False
            result = conn.execute(delete(RoleAssignment).where(
                RoleAssignment.person_id == person.id, RoleAssignment.role == role))
            return bool(result.rowcount)

    def role_holders(self) -> list[IdentityRecord]:
        query = (select(Identity.platform, Identity.platform_user_id, Person.id, Person.locale, RoleAssignment.role)
                 .join(Person, Person.id == Identity.person_id)
                 .join(RoleAssignment, RoleAssignment.person_id == Person.id)
                 .order_by(Identity.platform, Identity.platform_user_id))
        holders: dict[str, tuple[int, str | None, set[str]]] = {}
        with self.reader.connect() as conn:
            for platform, user_id, person_id, locale, role in conn.execute(query):
                holders.setdefault(f"{platform}:{user_id}", (person_id, locale, set()))[2].add(role)
        return [IdentityRecord(k, pid, "", frozenset(r), loc) for k, (pid, loc, r) in holders.items()]

    # -- inventory ------------------------------------------------------------------------
    def add_server(self, server: Server) -> bool:
        with self.engine.begin() as conn:
            if conn.scalar(select(ServerRow.name).where(ServerRow.name == server.name)) is not None:
                return False
            address = self.sealer.seal(address_field(server.name), server.address)
            conn.execute(insert(ServerRow).values(name=server.name, address=address, environment=server.environment))
            return True

    def server(self, name: str) -> Server | None:
        with self.reader.connect() as conn:
            row = conn.execute(select(ServerRow).where(ServerRow.name == name)).first()
        return self._server(row) if row else None

    def servers(self) -> list[Server]:
        with self.reader.connect() as conn:
            rows = conn.execute(select(ServerRow).order_by(ServerRow.name)).all()
        return [self._server(r) for r in rows]

    def _server(self, row: Row[tuple[ServerRow]]) -> Server:
        return Server(row.name, self.sealer.open(address_field(row.name), row.address), row.environment)

    def remove_server(self, name: str) -> bool:
        with self.engine.begin() as conn:
            return bool(conn.execute(delete(ServerRow).where(ServerRow.name == name)).rowcount)

    # -- message keys -----------------------------------------------------------------------
    def remember_message(self, key: str, channel: str, message_id: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(MessageRef).where(MessageRef.key == key))
            conn.execute(insert(MessageRef).values(key=key, channel=channel, message_id=message_id))

    def message_key(self, channel: str, message_id: str) -> str | None:
        with self.reader.connect() as conn:
            return conn.scalar(select(MessageRef.key).where(MessageRef.channel == channel,
                                                           MessageRef.message_id == message_id))

    def message_id(self, key: str) -> tuple[str, str] | None:
        with self.reader.connect() as conn:
            row = conn.execute(select(MessageRef.channel, MessageRef.message_id).where(MessageRef.key == key)).first()
        return (row.channel, row.message_id) if row else None

    # -- approvals --------------------------------------------------------------------------
    def create_approval(self, draft: ApprovalDraft) -> int:
        values = {
            "command": draft.command, "text": draft.text, "args": json.dumps(dict(draft.args), sort_keys=True),
            "digest": draft.digest,
            "permission": draft.permission, "quorum": draft.quorum,
            "approver_roles": ",".join(sorted(draft.approver_roles)), "requester": draft.requester,
            "requester_person": draft.requester_person, "channel": draft.place.address, "thread": draft.place.thread,
            "locale": draft.locale, "state": "pending", "created_us": draft.created_us, "expires_us": draft.expires_us,
        }
        with self.engine.begin() as conn:
            return int(conn.execute(insert(ApprovalRequestRow).values(**values)
                                    .returning(ApprovalRequestRow.id)).scalar_one())

    def approval(self, request_id: int) -> ApprovalRecord | None:
        with self.reader.connect() as conn:
            row = conn.execute(select(ApprovalRequestRow).where(ApprovalRequestRow.id == request_id)).first()
        return _approval(row) if row else None

    def pending_approvals(self) -> list[ApprovalRecord]:
        query = select(ApprovalRequestRow).where(ApprovalRequestRow.state == "pending").order_by(ApprovalRequestRow.id)
        with self.reader.connect() as conn:
            return [_approval(row) for row in conn.execute(query)]

    def cast_vote(self, request_id: int, vote: Vote, now_us: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(ApprovalVote).where(ApprovalVote.request_id == request_id,
                                                    ApprovalVote.voter == vote.voter))
            conn.execute(insert(ApprovalVote).values(request_id=request_id, voter=vote.voter,
                                                     voter_person=vote.voter_person, approve=vote.approve,
                                                     created_us=now_us))

    def withdraw_vote(self, request_id: int, voter: str) -> bool:
        with self.engine.begin() as conn:
            return bool(conn.execute(delete(ApprovalVote).where(ApprovalVote.request_id == request_id,
                                                                ApprovalVote.voter == voter)).rowcount)

    def votes(self, request_id: int) -> list[Vote]:
        query = (select(ApprovalVote.voter, ApprovalVote.voter_person, ApprovalVote.approve)
                 .where(ApprovalVote.request_id == request_id).order_by(ApprovalVote.created_us))
        with self.reader.connect() as conn:
            return [Vote(r.voter, r.voter_person, bool(r.approve)) for r in conn.execute(query)]

    def transition_approval(self, request_id: int, from_state: str, to_state: str) -> bool:
        """Compare-and-set on the state: exactly one caller wins a given transition."""
        with self.engine.begin() as conn:
            result = conn.execute(update(ApprovalRequestRow)
                                  .where(ApprovalRequestRow.id == request_id, ApprovalRequestRow.state == from_state)
                                  .values(state=to_state))
            return result.rowcount == 1

    # -- jobs -------------------------------------------------------------------------------
    def create_job(self, draft: JobDraft, now_us: int) -> int:
        values = {
            "kind": draft.kind, "args": json.dumps(dict(draft.args), sort_keys=True), "summary": draft.summary,
            "requester": draft.requester, "approvers": json.dumps(list(draft.approvers)), "state": "queued",
            "channel": draft.place.address, "thread": draft.place.thread, "locale": draft.locale,
            "timeout_s": draft.timeout_s, "created_us": now_us,
        }
        lock = job_lock(draft.kind, draft.args)
        with self.engine.begin() as conn:
            holder = active_holder(conn, lock) if lock is not None else None  # issue 16
            if holder is not None:
                raise JobLocked(holder)
            return int(conn.execute(insert(JobRow).values(**values).returning(JobRow.id)).scalar_one())

    def job(self, job_id: int) -> JobRecord | None:
        with self.reader.connect() as conn:
            row = conn.execute(select(JobRow).where(JobRow.id == job_id)).first()
        return self._job(row) if row else None

    def jobs(self, *, requester: str | None = None, states: frozenset[str] | None = None,
             limit: int = 20) -> list[JobRecord]:
        query = select(JobRow).order_by(JobRow.id.desc()).limit(limit)
        if requester is not None:
            query = query.where(JobRow.requester == requester)
        if states is not None:
            query = query.where(JobRow.state.in_(sorted(states)))
        with self.reader.connect() as conn:
            return [self._job(row) for row in conn.execute(query)]

    def claim_job(self, job_id: int, now_us: int) -> bool:
        """queued → running, once: a redelivered task finds the job taken and leaves it alone."""
        with self.engine.begin() as conn:
            claimed = conn.execute(update(JobRow).where(JobRow.id == job_id, JobRow.state == "queued")
                                   .values(state="running", started_us=now_us, heartbeat_us=now_us,
                                           attempts=JobRow.attempts + 1)).rowcount
            return claimed == 1

    def job_progress(self, job_id: int, step: int, total: int, name: str, now_us: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(JobRow).where(JobRow.id == job_id, JobRow.state == "running")
                         .values(step=step, total=total, step_name=name[:200], heartbeat_us=now_us))

    def heartbeat(self, job_id: int, now_us: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(JobRow).where(JobRow.id == job_id, JobRow.state == "running")
                         .values(heartbeat_us=now_us))

    def finish_job(self, job_id: int, state: str, result: Mapping[str, object], now_us: int) -> bool:
        """Move a queued or running job to a final state; False when it already ended."""
        with self.engine.begin() as conn:
            sealed = self.sealer.seal(result_field(job_id), json.dumps(dict(result), default=str))
            done = conn.execute(update(JobRow).where(JobRow.id == job_id, JobRow.state.in_(("queued", "running")))
                                .values(state=state, result=sealed, finished_us=now_us)).rowcount
            return done == 1

    def _job(self, row: Row[tuple[JobRow]]) -> JobRecord:
        try:
            result = json.loads(self.sealer.open(result_field(row.id), row.result))
        except UserError:  # sealed under a key no longer configured: the job still shows, without it
            result = {"message": {"msgid": UNREADABLE}}
        return _job(row, result)

    def request_cancel(self, job_id: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(JobRow).where(JobRow.id == job_id).values(cancel_requested=True))

    # -- encryption at rest -------------------------------------------------------------------
    def reseal_at_rest(self) -> tuple[int, int]:
        """Seal every inventory address and job result under the newest key (``secrets
        rotate-key``), clear ones written before a key was set included, in one transaction.
        Returns (addresses, results)."""
        with self.engine.begin() as conn:
            servers = conn.execute(select(ServerRow.name, ServerRow.address)).all()
            for name, address in servers:
                conn.execute(update(ServerRow).where(ServerRow.name == name)
                             .values(address=self.sealer.reseal(address_field(name), address)))
            jobs = conn.execute(select(JobRow.id, JobRow.result)).all()
            for job_id, result in jobs:
                conn.execute(update(JobRow).where(JobRow.id == job_id)
                             .values(result=self.sealer.reseal(result_field(job_id), result)))
        return len(servers), len(jobs)

    # -- small named values (adapter sync tokens, device ids) ----------------------------------
    def kv_get(self, name: str) -> str | None:
        with self.reader.connect() as conn:
            return conn.scalar(select(KeyValue.value).where(KeyValue.name == name))

    def kv_set(self, name: str, value: str) -> None:
        with self.engine.begin() as conn:
            updated = conn.execute(update(KeyValue).where(KeyValue.name == name).values(value=value)).rowcount
            if not updated:
                conn.execute(insert(KeyValue).values(name=name, value=value))

    def kv_delete(self, *names: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(KeyValue).where(KeyValue.name.in_(names)))

    def kv_items(self, prefix: str) -> dict[str, str]:
        """Every named value whose name starts with ``prefix``."""
        query = select(KeyValue.name, KeyValue.value).where(KeyValue.name.startswith(prefix, autoescape=True))
        with self.engine.connect() as conn:
            return {row.name: row.value for row in conn.execute(query)}

    # -- audit ----------------------------------------------------------------------------
    def append_audit(self, drafts: Sequence[AuditDraft]) -> None:
        """Chain and insert ``drafts`` in one transaction; the head row is locked while we do."""
        if not drafts:
            return
        self._ensure_head()
        with self.engine.begin() as conn:
            head = conn.execute(_HEAD.with_for_update()).first()
            count, seq, prev = (head.n, head.last_seq, head.hash) if head else (0, 0, GENESIS)
            rows = []
            for draft in drafts:
                seq += 1
                details = canonical_details(draft.details)
                digest = chain_hash(prev, seq, draft, details)
                rows.append((seq, draft.ts_us, draft.actor, draft.action, draft.target, draft.outcome, draft.ref,
                             details, prev, digest))
                prev = digest
            # Plain DB-API executemany: the audit flush is on the hot path and needs no ORM features.
            conn.exec_driver_sql(self._audit_insert, rows)
            _save_head(conn, head is not None, count + len(rows), seq, prev)

    def _ensure_head(self) -> None:
        """The head row must exist before writers lock it: two first writers locking nothing would
        both start the chain at seq 1."""
        if self._head_ready:
            return
        try:
            with self.engine.begin() as conn:
                if conn.execute(_HEAD).first() is None:
                    conn.execute(insert(AuditHead).values(id=_HEAD_ID, count=0, last_seq=0, hash=GENESIS))
        except IntegrityError:
            pass  # another writer created it first
        self._head_ready = True

    def audit_records(self) -> Iterator[AuditRecord]:
        """Every row in order, streamed (a server-side cursor on PostgreSQL), in one read snapshot."""
        return self._audit_rows(select(AuditEvent).order_by(AuditEvent.seq))

    def audit_records_by(self, actors: Sequence[str]) -> Iterator[AuditRecord]:
        """The rows of these actors (pseudonyms) in order, found through the actor index."""
        return self._audit_rows(select(AuditEvent).where(AuditEvent.actor.in_(list(actors))).order_by(AuditEvent.seq))

    def _audit_rows(self, query: Select[tuple[AuditEvent]]) -> Iterator[AuditRecord]:
        with self.reader.connect() as conn:
            for row in conn.execution_options(yield_per=1000).execute(query):
                draft = AuditDraft(row.ts_us, row.actor, row.action, row.target, row.outcome, row.ref,
                                   json.loads(row.details))
                yield AuditRecord(row.seq, draft, row.prev_hash, row.hash)

    def audit_head(self) -> ChainHead | None:
        with self.reader.connect() as conn:
            head = conn.execute(_HEAD).first()
        return ChainHead(head.n, head.last_seq, head.hash) if head else None


def _save_head(conn: Connection, exists: bool, count: int, last_seq: int, digest: str) -> None:
    values = {"count": count, "last_seq": last_seq, "hash": digest}
    if exists:
        conn.execute(update(AuditHead).where(AuditHead.id == _HEAD_ID).values(**values))
    else:
        conn.execute(insert(AuditHead).values(id=_HEAD_ID, **values))


def _person_of(conn: Connection, key: str) -> Row[tuple[int, str | None]] | None:
    platform, user_id = split_key(key)
    query = (select(Person.id, Person.locale).join(Identity, Identity.person_id == Person.id)
             .where(Identity.platform == platform, Identity.platform_user_id == user_id))
    return conn.execute(query).first()


def _ensure_person(conn: Connection, key: str) -> int:
    person = _person_of(conn, key)
    if person is not None:
        return int(person.id)
    person_id: int = conn.execute(insert(Person).values(display_name="", created_us=int(time.time() * 1e6))
                                  .returning(Person.id)).scalar_one()
    platform, user_id = split_key(key)
    conn.execute(insert(Identity).values(platform=platform, platform_user_id=user_id, person_id=person_id))
    return person_id


def _pseudonym(conn: Connection, key: str) -> str:
    found = conn.scalar(select(Pseudonym.pseudonym).where(Pseudonym.subject == key))
    if found is not None:
        return found
    made = "p-" + secrets.token_hex(8)
    conn.execute(insert(Pseudonym).values(pseudonym=made, subject=key))
    return made


def _approval(row: Row[tuple[ApprovalRequestRow]]) -> ApprovalRecord:
    r = row._mapping
    platform, _, channel = str(r["channel"]).partition(":")
    draft = ApprovalDraft(
        command=r["command"], text=r["text"], args=json.loads(r["args"]), digest=r["digest"],
        permission=r["permission"],
        quorum=r["quorum"], approver_roles=frozenset(filter(None, r["approver_roles"].split(","))),
        requester=r["requester"], requester_person=r["requester_person"],
        place=Place(platform, channel, r["thread"]), locale=r["locale"],
        created_us=r["created_us"], expires_us=r["expires_us"],
    )
    return ApprovalRecord(r["id"], draft, r["state"])


def _job(row: Row[tuple[JobRow]], result: Mapping[str, object]) -> JobRecord:
    r = row._mapping
    platform, _, channel = str(r["channel"]).partition(":")
    draft = JobDraft(kind=r["kind"], args=json.loads(r["args"]), summary=r["summary"], requester=r["requester"],
                     place=Place(platform, channel, r["thread"]), locale=r["locale"], timeout_s=r["timeout_s"],
                     approvers=tuple(json.loads(r["approvers"])))
    return JobRecord(r["id"], draft, r["state"], r["step"], r["total"], r["step_name"], bool(r["cancel_requested"]),
                     result, r["created_us"], r["started_us"], r["finished_us"], r["heartbeat_us"])
