"""What every ``Store`` must do, port by port. Here on ``MemoryStore``; ``tests/dihya/test_store_contract_sql.py``
runs these same tests on ``SqlStore`` over SQLite and PostgreSQL, which keeps the in-memory store honest."""

from __future__ import annotations

import pytest

from bot.alerting import AlertDelivery, AlertView
from bot.audit import AuditDraft, verify
from bot.events import Place
from bot.incidents import IncidentDraft, IncidentEvent
from bot.jobs import ApprovalClosed, JobDraft, JobLocked
from bot.memory import MemoryStore
from bot.memory.compliance import ERASED
from bot.ports import ApiTokenRecord, ApprovalDraft, Server, Store, Vote

NOW = 1_800_000_000_000_000
PLACE = Place("console", "main", "t1", direct=True)


@pytest.fixture
def store() -> Store:
    return MemoryStore()


# -- identities and roles ---------------------------------------------------------------------------
def test_an_unknown_identity_is_nobody_until_given_something(store: Store) -> None:
    assert store.identity("console:ann") is None
    assert store.find_pseudonym("console:ann") is None
    assert not store.revoke_role("console:ann", "ops")
    store.set_locale("console:ann", "fr")
    record = store.identity("console:ann")
    assert record is not None
    assert (record.key, record.roles, record.locale) == ("console:ann", frozenset(), "fr")


def test_a_pseudonym_is_made_once_and_never_derived_from_the_key(store: Store) -> None:
    made = store.pseudonym("slack:U1")
    assert made.startswith("p-") and len(made) == 18 and "U1" not in made
    assert store.pseudonym("slack:U1") == made == store.find_pseudonym("slack:U1")
    assert store.pseudonym("slack:U2") != made
    store.grant_role("slack:U1", "ops")
    record = store.identity("slack:U1")
    assert record is not None and record.pseudonym == made


def test_roles_are_granted_and_revoked_once(store: Store) -> None:
    assert store.grant_role("console:bob", "ops")
    assert not store.grant_role("console:bob", "ops")
    assert store.grant_role("console:bob", "devops")
    record = store.identity("console:bob")
    assert record is not None and record.roles == {"ops", "devops"}
    assert store.revoke_role("console:bob", "ops")
    assert not store.revoke_role("console:bob", "ops")
    record = store.identity("console:bob")
    assert record is not None and record.roles == {"devops"}


def test_role_holders_are_listed_by_platform_then_id(store: Store) -> None:
    store.grant_role("slack:U9", "ops")
    store.grant_role("console:zed", "admin")
    store.grant_role("console:amy", "auditor")
    store.grant_role("console:amy", "ops")
    store.set_locale("console:nobody", "fr")  # a person without a role is not listed
    holders = store.role_holders()
    assert [(h.key, h.roles) for h in holders] == [
        ("console:amy", {"auditor", "ops"}), ("console:zed", {"admin"}), ("slack:U9", {"ops"})]


# -- identity links ---------------------------------------------------------------------------------
def test_a_link_code_works_once_and_not_after_expiry(store: Store) -> None:
    store.link_code_put("h1", "console:ann", NOW + 10)
    assert store.link_code_take("h1", NOW) == "console:ann"
    assert store.link_code_take("h1", NOW) is None
    store.link_code_put("h2", "console:ann", NOW + 10)
    assert store.link_code_take("h2", NOW + 10) is None  # expired, and gone
    store.link_code_put("h3", "console:ann", NOW + 10)
    store.link_code_put("h4", "console:ann", NOW + 10)  # replaces h3
    assert store.link_code_take("h3", NOW) is None
    assert store.link_code_take("h4", NOW) == "console:ann"


def test_linking_a_new_identity_attaches_it_to_the_person(store: Store) -> None:
    store.grant_role("console:ann", "ops")
    assert store.link_identities("console:ann", "slack:U1")
    assert not store.link_identities("console:ann", "slack:U1")
    linked = store.identity("slack:U1")
    ann = store.identity("console:ann")
    assert linked is not None and ann is not None
    assert linked.person_id == ann.person_id and linked.roles == {"ops"}
    assert store.pseudonym("slack:U1") != store.pseudonym("console:ann")  # each identity keeps its own


def test_linking_two_people_merges_roles_locale_and_their_approvals(store: Store) -> None:
    store.grant_role("console:ann", "ops")
    store.grant_role("slack:U1", "devops")
    store.set_locale("slack:U1", "ar")
    other = store.identity("slack:U1")
    assert other is not None
    request = store.create_approval(_approval(requester="slack:U1", person=other.person_id))
    store.cast_vote(request, Vote("slack:U1", other.person_id, True), NOW)
    assert store.link_identities("console:ann", "slack:U1")
    ann, u1 = store.identity("console:ann"), store.identity("slack:U1")
    assert ann is not None and u1 is not None
    assert u1.person_id == ann.person_id and ann.roles == {"ops", "devops"} and ann.locale == "ar"
    approval = store.approval(request)
    assert approval is not None and approval.draft.requester_person == ann.person_id
    assert store.votes(request) == [Vote("slack:U1", ann.person_id, True)]


# -- inventory, message keys, small values --------------------------------------------------------
def test_servers_are_unique_by_name_and_listed_by_name(store: Store) -> None:
    assert store.add_server(Server("web-02", "10.0.0.6", "staging"))
    assert store.add_server(Server("web-01", "10.0.0.5", "production"))
    assert not store.add_server(Server("web-01", "10.9.9.9", "test"))
    assert store.server("web-01") == Server("web-01", "10.0.0.5", "production")
    assert [s.name for s in store.servers()] == ["web-01", "web-02"]
    assert store.remove_server("web-01")
    assert not store.remove_server("web-01")
    assert store.server("web-01") is None


def test_servers_get_numeric_ids_at_insert_that_are_never_reused(store: Store) -> None:
    store.add_server(Server("web-02", "10.0.0.6", "staging"))
    store.add_server(Server("web-01", "10.0.0.5", "production"))
    ids = {s.name: s.id for s in store.servers()}
    assert ids == {"web-02": 1, "web-01": 2}  # in insert order, not name order
    assert store.server_by_id(2) == Server("web-01", "10.0.0.5", "production")
    assert store.server_by_id(2) is not None and store.server_by_id(2).id == 2  # type: ignore[union-attr]
    store.remove_server("web-01")
    store.add_server(Server("web-03", "10.0.0.7", "test"))
    assert store.server_by_id(2) is None
    assert store.server("web-03") is not None and store.server("web-03").id == 3  # type: ignore[union-attr]


def test_a_message_key_points_at_its_latest_message(store: Store) -> None:
    assert store.message_key("main", "m1") is None and store.message_id("job:1") is None
    store.remember_message("job:1", "main", "m1")
    assert store.message_key("main", "m1") == "job:1"
    assert store.message_id("job:1") == ("main", "m1")
    store.remember_message("job:1", "main", "m2")  # the status was posted again
    assert store.message_key("main", "m1") is None
    assert store.message_id("job:1") == ("main", "m2")


def test_small_values_are_kept_and_replaced(store: Store) -> None:
    assert store.kv_get("matrix.since") is None
    store.kv_set("matrix.since", "s1")
    store.kv_set("matrix.since", "s2")
    assert store.kv_get("matrix.since") == "s2"


# -- approvals --------------------------------------------------------------------------------------
def _approval(requester: str = "console:user2", person: int | None = None, text: str = "servers remove web-01",
              args: dict[str, object] | None = None) -> ApprovalDraft:
    return ApprovalDraft(command="servers.remove", text=text, args=args or {"name": "web-01", "n": 3},
                         digest="d" * 64, permission="servers.remove", quorum=2,
                         approver_roles=frozenset({"devops", "admin"}), requester=requester,
                         requester_person=person, place=PLACE, locale="fr", created_us=NOW,
                         expires_us=NOW + 1_800_000_000)


def test_a_request_reads_back_as_it_was_asked(store: Store) -> None:
    request_id = store.create_approval(_approval())
    found = store.approval(request_id)
    assert found is not None and found.state == "pending"
    draft = found.draft
    assert draft.args == {"name": "web-01", "n": 3} and draft.approver_roles == {"admin", "devops"}
    assert draft.place == Place("console", "main", "t1")  # an address and a thread: "direct" is not kept
    assert (draft.requester, draft.quorum, draft.locale, draft.expires_us) == \
        ("console:user2", 2, "fr", NOW + 1_800_000_000)
    assert store.approval(request_id + 1) is None


def test_a_request_moves_once_from_each_state(store: Store) -> None:
    first, second = store.create_approval(_approval()), store.create_approval(_approval())
    assert [r.id for r in store.pending_approvals()] == [first, second]
    assert store.transition_approval(first, "pending", "approved")
    assert not store.transition_approval(first, "pending", "approved")  # a racing voter loses
    assert not store.transition_approval(first, "pending", "denied")
    assert store.transition_approval(first, "approved", "dispatched")
    assert [r.id for r in store.pending_approvals()] == [second]
    assert not store.transition_approval(999, "pending", "approved")


def test_a_voters_new_vote_replaces_the_old_and_can_be_withdrawn(store: Store) -> None:
    request = store.create_approval(_approval())
    store.cast_vote(request, Vote("console:a", 1, True), NOW)
    store.cast_vote(request, Vote("console:b", None, True), NOW + 1)
    store.cast_vote(request, Vote("console:a", 1, False), NOW + 2)
    assert store.votes(request) == [Vote("console:b", None, True), Vote("console:a", 1, False)]
    assert store.withdraw_vote(request, "console:a")
    assert not store.withdraw_vote(request, "console:a")
    assert store.votes(request) == [Vote("console:b", None, True)]


# -- jobs -------------------------------------------------------------------------------------------
def _job(requester: str = "console:dev", approvers: tuple[str, ...] = ()) -> JobDraft:
    return JobDraft("deploy", {"service": "web", "env": "staging", "replicas": 2}, "deploy web → staging",
                    requester, PLACE, "en", 300, approvers)


def test_a_job_is_claimed_once_and_finished_once(store: Store) -> None:
    job_id = store.create_job(_job(approvers=("console:x",)), NOW)
    job = store.job(job_id)
    assert job is not None
    assert (job.state, job.created_us, job.draft.approvers, job.draft.args["replicas"]) == \
        ("queued", NOW, ("console:x",), 2)
    store.job_progress(job_id, 1, 3, "ignored while queued", NOW)
    assert store.claim_job(job_id, NOW + 1)
    assert not store.claim_job(job_id, NOW + 2)  # a redelivered task leaves it alone
    store.job_progress(job_id, 2, 3, "x" * 300, NOW + 3)
    store.heartbeat(job_id, NOW + 4)
    job = store.job(job_id)
    assert job is not None
    assert (job.state, job.step, job.total, len(job.step_name), job.started_us, job.heartbeat_us) == \
        ("running", 2, 3, 200, NOW + 1, NOW + 4)
    assert store.finish_job(job_id, "failed", {"failed_step": "pull", "code": 2, "when": Place("a", "b")}, NOW + 5)
    assert not store.finish_job(job_id, "succeeded", {}, NOW + 6)
    job = store.job(job_id)
    assert job is not None and job.finished
    assert (job.state, job.finished_us, job.result["failed_step"], job.result["code"]) == ("failed", NOW + 5, "pull", 2)
    assert isinstance(job.result["when"], str)  # results go through JSON, odd values as text
    store.heartbeat(job_id, NOW + 9)
    job = store.job(job_id)
    assert job is not None and job.heartbeat_us == NOW + 4


def test_a_job_run_for_an_approval_claims_it_with_the_job_or_records_nothing(store: Store) -> None:
    approved, closed, locked = (store.create_approval(_approval()) for _ in range(3))
    for request in (approved, closed, locked):
        assert store.transition_approval(request, "pending", "approved")
    assert store.transition_approval(closed, "approved", "refused")  # closed as interrupted by a new replica
    production = JobDraft("deploy", {"service": "web", "env": "production"}, "deploy web → production",
                          "console:dev", PLACE, "en", 300)
    job_id = store.create_job(production, NOW, approval=approved)
    assert [j.id for j in store.jobs()] == [job_id]
    assert (request := store.approval(approved)) is not None and request.state == "dispatched"
    with pytest.raises(ApprovalClosed):
        store.create_job(_job(), NOW, approval=closed)
    with pytest.raises(ApprovalClosed):
        store.create_job(_job(), NOW, approval=approved)  # already dispatched: it runs once
    with pytest.raises(JobLocked):  # the lock is checked first, and refuses without claiming
        store.create_job(production, NOW, approval=locked)
    assert (request := store.approval(locked)) is not None and request.state == "approved"
    assert (request := store.approval(closed)) is not None and request.state == "refused"
    assert [j.id for j in store.jobs()] == [job_id]


def test_a_queued_job_can_end_without_running_and_cancel_is_a_flag(store: Store) -> None:
    job_id = store.create_job(_job(), NOW)
    store.request_cancel(job_id)
    store.request_cancel(999)
    job = store.job(job_id)
    assert job is not None and job.cancel_requested and job.state == "queued"
    assert store.finish_job(job_id, "cancelled", {}, NOW)
    assert not store.claim_job(job_id, NOW)


def test_jobs_are_listed_newest_first_and_filtered(store: Store) -> None:
    ids = [store.create_job(_job("console:a" if i % 2 else "console:b"), NOW + i) for i in range(5)]
    store.claim_job(ids[0], NOW)
    assert [j.id for j in store.jobs()] == ids[::-1]
    assert [j.id for j in store.jobs(limit=2)] == ids[:2:-1]
    assert [j.id for j in store.jobs(requester="console:a")] == [ids[3], ids[1]]
    assert [j.id for j in store.jobs(states=frozenset({"running"}))] == [ids[0]]
    assert store.job(999) is None


def test_only_jobs_that_ended_before_the_cutoff_are_purged(store: Store) -> None:
    old, recent, running = (store.create_job(_job(), NOW) for _ in range(3))
    store.finish_job(old, "succeeded", {}, NOW + 1)
    store.finish_job(recent, "failed", {}, NOW + 10)
    store.claim_job(running, NOW)
    assert store.purge_jobs(NOW + 5) == 1
    assert store.job(old) is None and store.job(recent) is not None and store.job(running) is not None


# -- audit ------------------------------------------------------------------------------------------
def _rows(n: int, start: int = 0) -> list[AuditDraft]:
    return [AuditDraft(NOW + i, "p-0123456789abcdef", "command:ping", "", "ok", "", {"i": i, "t": ("a", 1)})
            for i in range(start, start + n)]


def test_audit_rows_are_chained_and_read_back_in_order(store: Store) -> None:
    assert store.audit_head() is None
    store.append_audit([])
    assert store.audit_head() is None
    store.append_audit(_rows(3))
    store.append_audit(_rows(2, start=3))
    records = list(store.audit_records())
    assert [r.seq for r in records] == [1, 2, 3, 4, 5]
    assert records[0].draft.details == {"i": 0, "t": ["a", 1]}  # details come back as their JSON
    head = store.audit_head()
    assert head is not None and (head.count, head.last_seq, head.hash) == (5, 5, records[-1].hash)
    assert verify(records, head).ok


def test_audit_rows_of_some_actors_are_read_in_order(store: Store) -> None:
    store.append_audit(_rows(2))
    store.append_audit([AuditDraft(NOW + 9, "p-other", "command:ping", "", "ok", "", {})])
    store.append_audit(_rows(1, start=2))
    assert [r.seq for r in store.audit_records_by(["p-0123456789abcdef"])] == [1, 2, 4]
    assert [r.seq for r in store.audit_records_by(["p-other", "p-nobody"])] == [3]
    assert list(store.audit_records_by([])) == []


def test_purging_audit_rows_leaves_a_checkpoint_the_chain_verifies_from(store: Store) -> None:
    store.append_audit(_rows(5))
    assert store.audit_checkpoint() is None
    assert store.purge_audit(99, NOW) is None
    third = list(store.audit_records())[2]
    checkpoint = store.purge_audit(3, NOW)
    assert checkpoint is not None and (checkpoint.seq, checkpoint.hash, checkpoint.purged) == (3, third.hash, 3)
    assert store.audit_checkpoint() == checkpoint
    assert [r.seq for r in store.audit_records()] == [4, 5]
    verdict = verify(store.audit_records(), store.audit_head(), store.audit_checkpoint())
    assert verdict.ok and verdict.checked == 5  # the purged rows count as checked by the checkpoint
    again = store.purge_audit(4, NOW + 1)
    assert again is not None and again.purged == 4


# -- secrets ----------------------------------------------------------------------------------------
def test_secret_tokens_are_kept_by_name_and_swapped_together(store: Store) -> None:
    store.secret_put("db", b"t1", NOW)
    store.secret_put("api", b"t2", NOW)
    store.secret_put("db", b"t3", NOW + 5)
    assert store.secret_token("db") == b"t3" and store.secret_token("nope") is None
    assert [(s.name, s.updated_us) for s in store.secret_list()] == [("api", NOW), ("db", NOW + 5)]
    store.secret_replace({"db": b"n1", "api": b"n2", "ghost": b"n3"})
    assert store.secret_tokens() == {"db": b"n1", "api": b"n2"}
    assert store.secret_delete("db")
    assert not store.secret_delete("db")


# -- GDPR -------------------------------------------------------------------------------------------
def test_person_data_lists_every_identity_of_the_person(store: Store) -> None:
    assert store.person_data("console:ann") is None
    store.grant_role("console:ann", "ops")
    store.set_locale("console:ann", "fr")
    store.link_identities("console:ann", "slack:U1")
    pseudonyms = {store.pseudonym("console:ann"), store.pseudonym("slack:U1")}
    data = store.person_data("slack:U1")
    assert data is not None
    assert (data.keys, data.roles, data.locale, set(data.pseudonyms)) == \
        (("console:ann", "slack:U1"), {"ops"}, "fr", pseudonyms)


def test_erasing_a_person_removes_them_and_scrubs_every_domain(store: Store) -> None:
    store.grant_role("console:bob", "ops")
    store.link_identities("console:bob", "slack:UB")
    store.pseudonym("console:bob")
    store.link_code_put("h", "console:bob", NOW + 10)
    bob = store.identity("console:bob")
    assert bob is not None
    asked = store.create_approval(_approval(requester="console:bob", person=bob.person_id))
    naming = store.create_approval(_approval(text="role grant bob ops", args={"who": "bob"}))
    other = store.create_approval(_approval(text="servers remove bobby-01", args={"name": "bobby-01"}))
    store.cast_vote(other, Vote("slack:UB", bob.person_id, True), NOW)
    job = store.create_job(_job("console:bob", approvers=("console:x", "slack:UB")), NOW)
    delivery = _delivery("g1", [_alert("f1")])
    saved = store.save_alert_group(delivery, "console:alerts", NOW)
    assert saved is not None
    store.ack_alert_group(saved[0].id, "console:bob", NOW)
    incident = store.create_incident(IncidentDraft("console:bob broke it", "sev2", "console:bob", PLACE, "en"), NOW)
    store.assign_incident(incident, "slack:UB", IncidentEvent(NOW, "console:bob", "assigned", "to bob", "slack:UB"))

    assert store.erase_person("slack:UB") == 2
    assert store.identity("console:bob") is None and store.identity("slack:UB") is None
    assert store.find_pseudonym("console:bob") is None and store.link_code_take("h", NOW) is None
    first, second, third = store.approval(asked), store.approval(naming), store.approval(other)
    assert first is not None and second is not None and third is not None
    assert (first.draft.requester, first.draft.requester_person, first.draft.text, first.draft.args) == \
        (ERASED, None, ERASED, {})
    assert (second.draft.text, second.draft.args) == (ERASED, {})
    assert third.draft.text == "servers remove bobby-01"  # "bobby" is not "bob"
    [vote] = store.votes(other)
    assert vote.voter.startswith(ERASED) and vote.voter_person is None
    erased_job = store.job(job)
    assert erased_job is not None
    assert (erased_job.draft.requester, erased_job.draft.approvers) == (ERASED, ("console:x", ERASED))
    group = store.alert_group(saved[0].id)
    assert group is not None and group.acked_by == ERASED
    record = store.incident(incident)
    assert record is not None
    assert (record.opened_by, record.owner, record.title) == (ERASED, ERASED, f"{ERASED} broke it")
    events = store.incident_events(incident)
    assert all("bob" not in f"{e.actor} {e.text} {e.ref}" and "UB" not in e.ref for e in events)
    assert store.erase_person("console:nobody") == 0


# -- alerts -----------------------------------------------------------------------------------------
def _alert(fingerprint: str, status: str = "firing", starts: int = NOW, name: str = "InstanceDown") -> AlertView:
    return AlertView(fingerprint, status, {"alertname": name, "severity": "critical"}, {"summary": "down"},
                     starts, NOW + 60 if status == "resolved" else None, "http://prom/graph")


def _delivery(key: str, alerts: list[AlertView], status: str = "firing") -> AlertDelivery:
    return AlertDelivery(key, status, {"alertname": "InstanceDown"}, {"severity": "critical"}, {"summary": "down"},
                         "http://am", tuple(alerts))


def test_a_group_is_stored_once_per_state(store: Store) -> None:
    first = store.save_alert_group(_delivery("g1", [_alert("f1")]), "console:alerts", NOW)
    assert first is not None
    group, new = first
    assert new and (group.id, group.channel, group.status, group.created_us) == (1, "console:alerts", "firing", NOW)
    assert group.common_labels == {"severity": "critical"} and group.name == "InstanceDown"
    assert store.save_alert_group(_delivery("g1", [_alert("f1")]), "console:other", NOW + 1) is None  # redelivered
    more = store.save_alert_group(_delivery("g1", [_alert("f1"), _alert("f2", starts=NOW - 5)]), "x", NOW + 2)
    assert more is not None and not more[1] and more[0].channel == "console:alerts"
    assert [a.fingerprint for a in store.group_alerts(group.id)] == ["f2", "f1"]  # by status, then start


def test_a_group_fires_while_any_alert_does_and_stale_states_are_ignored(store: Store) -> None:
    store.save_alert_group(_delivery("g1", [_alert("f1"), _alert("f2")]), "console:alerts", NOW)
    partial = store.save_alert_group(_delivery("g1", [_alert("f1", "resolved")], "resolved"), "console:alerts", NOW)
    assert partial is not None and partial[0].status == "firing"  # f2 still fires
    stale = store.save_alert_group(_delivery("g1", [_alert("f1", "firing")], "firing"), "console:alerts", NOW)
    assert stale is None  # firing again with the start of an alert already resolved: an old delivery
    done = store.save_alert_group(_delivery("g1", [_alert("f2", "resolved")], "resolved"), "console:alerts", NOW)
    assert done is not None and done[0].status == "resolved"
    assert store.firing_alerts() == []
    again = store.save_alert_group(_delivery("g1", [_alert("f1", starts=NOW + 99)]), "console:alerts", NOW)
    assert again is not None and again[0].status == "firing"  # a new start: it fires again


def test_firing_alerts_are_listed_by_start_with_their_channel(store: Store) -> None:
    store.save_alert_group(_delivery("g1", [_alert("f1", starts=NOW + 2)]), "console:a", NOW)
    store.save_alert_group(_delivery("g2", [_alert("f2", starts=NOW + 1), _alert("f3", "resolved")]), "console:b", NOW)
    assert [(r.group_id, r.channel, r.alert.fingerprint) for r in store.firing_alerts()] == [
        (2, "console:b", "f2"), (1, "console:a", "f1")]


def test_a_group_is_acknowledged_once_and_marked_silenced_or_in_an_incident(store: Store) -> None:
    saved = store.save_alert_group(_delivery("g1", [_alert("f1")]), "console:a", NOW)
    assert saved is not None
    group_id = saved[0].id
    assert store.ack_alert_group(group_id, "console:ann", NOW)
    assert not store.ack_alert_group(group_id, "console:bob", NOW)
    store.set_alert_silence(group_id, "s-1")
    store.set_alert_incident(group_id, 7)
    group = store.alert_group(group_id)
    assert group is not None and (group.acked_by, group.silence_id, group.incident_id) == ("console:ann", "s-1", 7)
    assert store.alert_group(999) is None


def test_storms_gather_groups_of_one_channel_within_the_window(store: Store) -> None:
    ids = []
    for i in range(4):
        saved = store.save_alert_group(_delivery(f"g{i}", [_alert(f"f{i}", name=f"A{i % 2}")]), "console:a", NOW + i)
        assert saved is not None
        ids.append(saved[0].id)
    assert store.alert_messages_since("console:a", NOW + 1) == 3
    assert store.alert_messages_since("console:b", NOW) == 0
    storm, started = store.join_storm(ids[2], "console:a", NOW - 60, NOW + 2)
    assert started
    assert store.join_storm(ids[3], "console:a", NOW - 60, NOW + 3) == (storm, False)
    assert store.alert_messages_since("console:a", NOW) == 2  # groups in a storm have no message of their own
    later, started = store.join_storm(ids[0], "console:a", NOW + 100, NOW + 200)  # the window has passed
    assert started and later != storm
    assert [g.id for g in store.storm_groups(storm)] == [ids[2], ids[3]]
    summary = store.storm_summary(storm)
    assert summary is not None
    assert (summary.channel, summary.started_us, summary.groups, summary.firing, summary.resolved) == \
        ("console:a", NOW + 2, 2, 2, 0)
    assert sorted(summary.names) == [("A0", 1), ("A1", 1)]
    assert store.storm_summary(999) is None
    assert store.ack_storm(storm, "console:ann", NOW) == [ids[2], ids[3]]
    assert store.ack_storm(storm, "console:bob", NOW) == []


# -- incidents --------------------------------------------------------------------------------------
def test_an_incident_from_an_alert_links_both_ways(store: Store) -> None:
    saved = store.save_alert_group(_delivery("g1", [_alert("f1")]), "console:a", NOW)
    assert saved is not None
    draft = IncidentDraft("DB down", "sev1", "system:alertmanager", PLACE, "fr", alert_group=saved[0].id)
    incident_id = store.create_incident(draft, NOW)
    incident = store.incident(incident_id)
    assert incident is not None
    assert (incident.state, incident.owner, incident.significant, incident.place, incident.locale) == \
        ("open", None, False, Place("console", "main", "t1"), "fr")
    group = store.alert_group(saved[0].id)
    assert group is not None and group.incident_id == incident_id
    assert [(e.kind, e.text, e.ref) for e in store.incident_events(incident_id)] == [
        ("opened", "DB down", "sev1"), ("alert", "", str(saved[0].id))]


def test_an_incident_moves_by_compare_and_set_and_records_each_move(store: Store) -> None:
    incident_id = store.create_incident(IncidentDraft("x", "sev3", "console:a", PLACE, "en"), NOW)
    ack = IncidentEvent(NOW + 60, "console:b", "acknowledged")
    assert store.transition_incident(incident_id, "acknowledged", ack)
    assert not store.transition_incident(incident_id, "acknowledged", ack)
    assert store.transition_incident(incident_id, "resolved", IncidentEvent(NOW + 120, "console:b", "resolved"))
    assert not store.transition_incident(incident_id, "resolved", IncidentEvent(NOW + 130, "console:b", "resolved"))
    incident = store.incident(incident_id)
    assert incident is not None and (incident.mtta_us, incident.mttr_us) == (60, 120)
    assert store.transition_incident(incident_id, "open", IncidentEvent(NOW + 200, "console:b", "opened"))
    assert [e.kind for e in store.incident_events(incident_id)] == ["opened", "acknowledged", "resolved", "opened"]
    assert not store.transition_incident(999, "resolved", ack)


def test_owner_significance_and_updates_go_on_the_timeline_in_time_order(store: Store) -> None:
    incident_id = store.create_incident(IncidentDraft("x", "sev3", "console:a", PLACE, "en"), NOW)
    store.add_incident_event(incident_id, IncidentEvent(NOW + 30, "console:a", "update", "later"))
    store.add_incident_event(incident_id, IncidentEvent(NOW + 10, "console:a", "update", "earlier", "r" * 150))
    store.assign_incident(incident_id, "console:b", IncidentEvent(NOW + 20, "console:a", "assigned", ref="console:b"))
    assert store.flag_incident_significant(incident_id, IncidentEvent(NOW + 40, "console:a", "significant"))
    assert not store.flag_incident_significant(incident_id, IncidentEvent(NOW + 50, "console:a", "significant"))
    incident = store.incident(incident_id)
    assert incident is not None and incident.owner == "console:b" and incident.significant
    events = store.incident_events(incident_id)
    assert [e.text or e.kind for e in events] == ["x", "earlier", "assigned", "later", "significant"]
    assert events[1].ref == "r" * 100  # refs are clipped to their column


def test_incidents_are_listed_newest_first_and_found_by_thread(store: Store) -> None:
    ids = [store.create_incident(IncidentDraft(f"i{i}", "sev3", "console:a", Place("console", "main", f"t{i % 2}"),
                                               "en"), NOW + i) for i in range(4)]
    store.transition_incident(ids[1], "resolved", IncidentEvent(NOW, "console:a", "resolved"))
    assert [i.id for i in store.incidents()] == ids[::-1]
    assert [i.id for i in store.incidents(states=frozenset({"open"}), limit=2)] == [ids[3], ids[2]]
    assert [i.id for i in store.incidents(since_us=NOW + 2)] == [ids[3], ids[2]]
    found = store.incident_at("console:main", "t1")
    assert found is not None and found.id == ids[3]
    assert store.incident_at("console:main", "t9") is None


# -- API tokens (issue 13) --------------------------------------------------------------------------
def _token(token_id: str, identity: str = "console:ann", created: int = NOW) -> ApiTokenRecord:
    return ApiTokenRecord(token_id, "ci", identity, created, created + 3_600_000_000)


def test_an_api_token_record_reads_back_and_is_revoked_once(store: Store) -> None:
    assert store.api_token("a1") is None
    store.add_api_token(_token("a1"))
    assert store.api_token("a1") == ApiTokenRecord("a1", "ci", "console:ann", NOW, NOW + 3_600_000_000, None)
    assert store.revoke_api_token("a1", NOW + 5)
    assert not store.revoke_api_token("a1", NOW + 9)  # the first revocation's time is kept
    found = store.api_token("a1")
    assert found is not None and found.revoked_us == NOW + 5 and found.state(NOW) == "revoked"
    assert not store.revoke_api_token("nope", NOW)


def test_api_tokens_are_listed_newest_first_and_by_identity(store: Store) -> None:
    store.add_api_token(_token("b2", "console:bob", NOW + 1))
    store.add_api_token(_token("a1", created=NOW))
    store.add_api_token(_token("c3", "slack:U1", NOW + 1))
    store.add_api_token(_token("a0", created=NOW + 1))
    assert [t.id for t in store.api_tokens()] == ["a0", "b2", "c3", "a1"]
    assert [t.id for t in store.api_tokens({"console:ann", "slack:U1"})] == ["a0", "c3", "a1"]
    assert store.api_tokens([]) == []
    assert _token("x").state(NOW + 3_600_000_000) == "expired" and _token("x").state(NOW) == "active"


def test_erasing_a_person_deletes_the_records_of_their_tokens(store: Store) -> None:
    store.grant_role("console:ann", "ops")
    store.link_identities("console:ann", "slack:U1")
    store.add_api_token(_token("a1"))
    store.add_api_token(_token("u1", "slack:U1"))
    store.add_api_token(_token("b1", "console:bob"))
    assert store.erase_person("console:ann") == 2
    assert [t.id for t in store.api_tokens()] == ["b1"]  # a token without its record is refused
