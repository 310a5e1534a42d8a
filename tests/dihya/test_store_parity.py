"""One conversation through the core twice, on ``MemoryStore`` and on ``SqlStore`` (SQLite and
PostgreSQL): every action and every audit row must be the same, so tests of the core on the
in-memory store say what the real store does."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from bot.actions import Action
from bot.alerting import AlertDelivery, AlertView
from bot.memory import MemoryStore
from bot.ports import Store
from dihya.store.engine import upgrade
from dihya.store.sql import SqlStore
from tests.bot.core_chat import CoreChat

NOW = 1_800_000_000_000_000


def conversation(store: Store) -> tuple[list[tuple[Action, ...]], list[tuple[object, ...]]]:
    chat = CoreChat(store)
    for who, role in (("devops1", "devops"), ("user2", "devops"), ("dev1", "developer"), ("ops1", "ops")):
        chat.store.grant_role(f"console:{who}", role)
    delivery = AlertDelivery("g", "firing", {"alertname": "InstanceDown"}, {"severity": "critical"},
                             {"summary": "web is down"}, "http://am",
                             (AlertView("f1", "firing", {"alertname": "InstanceDown"}, {}, NOW, None),))
    saved = chat.store.save_alert_group(delivery, "console:main", NOW)
    assert saved is not None
    chat.store.remember_message(saved[0].key, "main", "alert-msg")
    turns = [
        chat.say("admin1", "servers add web-01 10.0.0.5 production"),
        chat.say("admin1", "servers add web-01 10.0.0.5 production"),
        chat.say("guest9", "servers list"),
        chat.say("user2", "servers remove web-01"),
        chat.react("user2", "✅", "approval:1"),
        chat.react("dev1", "✅", "approval:1"),
        chat.react("devops1", "✅", "approval:1"),
        chat.react("devops1", "✅", "approval:1"),
        chat.say("admin1", "role grant user2 admin"),
        chat.react("devops1", "❌", "approval:2"),
        chat.say("dev1", "deploy web to staging version v2"),
        chat.say("dev1", "deploy web to production version v2"),
        chat.say("dev1", "jobs"),
        chat.say("dev1", "cancel job 1"),
        chat.say("dev1", "lang fr"),
        chat.say("dev1", "whoami"),
        chat.react("ops1", "👀", "alert:1"),
        chat.react("dev1", "🚨", "alert:1"),
        chat.say("dev1", "incident ack", thread="alert-msg"),
        chat.say("dev1", "incident update rolled back", thread="alert-msg"),
        chat.say("dev1", "incident resolve 1"),
        chat.say("ops1", "alerts"),
        chat.say("admin1", "role list"),
        chat.say("admin1", "approvals"),
    ]
    chat.clock.advance(3600)
    turns.append(chat.react("devops1", "✅", "approval:3"))  # expired by now
    people: dict[str, str] = {}  # pseudonyms are random: each becomes "person N", in order of appearance

    def person(value: str) -> str:
        return people.setdefault(value, f"person {len(people)}") if value.startswith("p-") else value

    audit = [(person(r.draft.actor), r.draft.ts_us, r.draft.action, person(r.draft.target), r.draft.outcome,
              r.draft.ref, r.draft.details, r.seq) for r in store.audit_records()]
    return [t.actions for t in turns], audit


@pytest.fixture
def sql_store(engine: Engine) -> Store:
    upgrade(engine)
    return SqlStore(engine)


def test_the_core_acts_the_same_on_both_stores(sql_store: Store) -> None:
    memory_actions, memory_audit = conversation(MemoryStore())
    sql_actions, sql_audit = conversation(sql_store)
    assert sql_actions == memory_actions
    assert sql_audit == memory_audit
    assert len(memory_audit) > 25 and any("Removed web-01" in str(a) for a in memory_actions)
