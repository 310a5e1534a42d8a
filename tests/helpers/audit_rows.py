"""Many valid audit rows, fast: chained like the store chains them, inserted in one transaction."""

from __future__ import annotations

from sqlalchemy import Connection, Engine, text

from bot.audit import GENESIS, AuditDraft, canonical_details, chain_hash

ACTIONS = ("command:deploy", "command:servers.list", "command:audit.verify", "job:succeeded", "approval:vote")


def seed_audit(engine: Engine, count: int, actor: str = "p-seeded", batch: int = 10_000) -> None:
    """Append ``count`` rows after the current head (actor ``actor``); the chain stays intact."""
    with engine.begin() as conn:
        head = conn.execute(text("SELECT count, last_seq, hash FROM audit_head WHERE id = 1")).first()
        n, seq, prev = (head.count, head.last_seq, head.hash) if head else (0, 0, GENESIS)
        rows = []
        for i in range(count):
            seq += 1
            details_in = {"args": {"env": "staging", "note": f"from 10.0.{i % 250}.7"}}
            draft = AuditDraft(1_700_000_000_000_000 + seq * 1000, actor, ACTIONS[i % len(ACTIONS)],
                               f"web-{i % 50:02d}", "ok", "", details_in)
            details = canonical_details(draft.details)
            digest = chain_hash(prev, seq, draft, details)
            rows.append({"seq": seq, "ts": draft.ts_us, "actor": draft.actor, "action": draft.action,
                         "target": draft.target, "outcome": draft.outcome, "ref": draft.ref, "details": details,
                         "prev": prev, "hash": digest})
            prev = digest
            if len(rows) == batch:
                _insert(conn, rows)
                rows = []
        _insert(conn, rows)
        values = {"count": n + count, "seq": seq, "hash": prev}
        if head:
            conn.execute(text("UPDATE audit_head SET count = :count, last_seq = :seq, hash = :hash WHERE id = 1"),
                         values)
        else:
            conn.execute(text("INSERT INTO audit_head (id, count, last_seq, hash) VALUES (1, :count, :seq, :hash)"),
                         values)


def _insert(conn: Connection, rows: list[dict[str, object]]) -> None:
    if rows:
        conn.execute(text("INSERT INTO audit_events (seq, ts_us, actor, action, target, outcome, ref, details, "
                          "prev_hash, hash) VALUES (:seq, :ts, :actor, :action, :target, :outcome, :ref, "
                          ":details, :prev, :hash)"), rows)
