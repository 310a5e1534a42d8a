"""Approvals: the rules of ``bot.approvals`` and the state machine the dispatcher runs on them
(pending → approved → dispatched | refused; pending → denied | expired), on the in-memory store."""

from __future__ import annotations

import pytest

from bot.actions import Send
from bot.approvals import buttons, closed_text, digest, refusal, request_text, tally, vote_of
from bot.events import Place, Reaction, Sender
from bot.identity import Actor
from bot.ports import ApprovalDraft, ApprovalRecord, Vote
from bot.rbac import AccessPolicy
from tests.bot.core_chat import CATALOGS, CoreChat

NOW = 1_800_000_000_000_000
POLICY = AccessPolicy.from_config()
PLACE = Place("console", "main", "t1")


def record(state: str = "pending", requester_person: int | None = 1) -> ApprovalRecord:
    draft = ApprovalDraft("servers.remove", "servers remove web-01", {"name": "web-01"},
                          digest("servers.remove", {"name": "web-01"}, PLACE), "servers.remove", 1,
                          frozenset({"devops", "admin"}), "console:user2", requester_person, PLACE, "en", NOW,
                          NOW + 60_000_000)
    return ApprovalRecord(4, draft, state)


def actor(key: str, *roles: str, person: int | None = None) -> Actor:
    return Actor(key, "p-x", frozenset(roles), None, person_id=person)


# -- the rules --------------------------------------------------------------------------------------
@pytest.mark.parametrize(("emoji", "vote"), [("✅", True), ("👍", True), ("✔️", True), ("❌", False), ("👎", False),
                                             ("✖️", False), ("👀", None), ("", None)])
def test_what_a_reaction_means(emoji: str, vote: bool | None) -> None:
    assert vote_of(emoji) is vote


def test_the_digest_binds_command_arguments_and_place() -> None:
    base = digest("deploy", {"service": "web", "env": "production"}, PLACE)
    assert base == digest("deploy", {"env": "production", "service": "web"}, PLACE)
    assert base != digest("deploy", {"service": "api", "env": "production"}, PLACE)
    assert base != digest("rollback", {"service": "web", "env": "production"}, PLACE)
    assert base != digest("deploy", {"service": "web", "env": "production"}, Place("console", "main", "t2"))
    assert base != digest("deploy", {"service": "web", "env": "production"}, Place("slack", "main", "t1"))


@pytest.mark.parametrize(("request_state", "voter", "now", "reason"), [
    ("approved", actor("console:d", "devops"), NOW, "already closed"),
    ("pending", actor("console:d", "devops"), NOW + 60_000_000, "expired"),
    ("pending", actor("console:user2", "devops"), NOW, "own request"),
    ("pending", actor("slack:U2", "devops", person=1), NOW, "own request"),  # a linked identity of the requester
    ("pending", actor("console:o", "ops"), NOW, "may not approve"),
    ("pending", actor("console:g"), NOW, "may not approve"),
])
def test_who_may_not_vote(request_state: str, voter: Actor, now: int, reason: str) -> None:
    found = refusal(record(request_state), voter, POLICY, now)
    assert found is not None and reason in found


def test_an_allowed_other_person_may_vote_until_expiry() -> None:
    assert refusal(record(), actor("console:d", "devops", person=2), POLICY, NOW + 59_999_999) is None
    assert refusal(record(requester_person=None), actor("console:d", "admin", person=None), POLICY, NOW) is None


def test_the_request_roles_and_the_policy_must_both_allow_the_approver() -> None:
    narrow = AccessPolicy(POLICY.grants, {})  # the policy no longer lists approvers for it
    assert refusal(record(), actor("console:d", "devops"), narrow, NOW) is not None


def test_a_tally_counts_people_once_whatever_identity_they_voted_with() -> None:
    votes = [Vote("console:a", 1, True), Vote("slack:A", 1, True), Vote("console:b", None, True),
             Vote("console:c", 3, False), Vote("console:b", None, True)]
    assert tally(votes) == (["console:a", "console:b"], ["console:c"])
    assert tally([]) == ([], [])


def test_the_request_and_closing_texts_say_what_who_and_until_when() -> None:
    text = CATALOGS.render(request_text(record(), "servers remove web-01", ["console:d"]), "en")
    assert "#4" in text and "servers remove web-01" in text and "console:user2" in text
    assert "admin, devops" in text and "so far: console:d" in text and "2027-01-15 08:01 UTC" in text
    for state, marker in (("dispatched", "Approved"), ("denied", "Denied"), ("expired", "Expired"),
                          ("refused", "Not run")):
        closed = CATALOGS.render(closed_text(record(), "servers remove web-01", state, ["console:d"]), "en")
        assert marker in closed and "#4" in closed
    assert [b.emoji for b in buttons(CATALOGS, "fr")] == ["✅", "❌"]
    assert buttons(CATALOGS, "fr")[0].label != "Approve"


# -- the state machine, through the dispatcher ------------------------------------------------------
@pytest.fixture
def chat() -> CoreChat:
    chat = CoreChat()
    for who, role in (("devops1", "devops"), ("devops2", "devops"), ("user2", "devops"), ("dev1", "developer"),
                      ("admin2", "admin"), ("admin3", "admin")):
        chat.store.grant_role(f"console:{who}", role)
    chat.say("admin1", "servers add web-01 10.0.0.5 production")
    return chat


def ask(chat: CoreChat, user: str = "user2", text: str = "servers remove web-01") -> str:
    turn = chat.say(user, text)
    [send] = turn.actions
    assert isinstance(send, Send) and send.key is not None and turn.durable
    assert [b.emoji for b in send.buttons] == ["✅", "❌"]
    return send.key


def votes_audited(chat: CoreChat) -> list[str]:
    return [outcome for action, outcome in chat.audit() if action == "approval:vote"]


def test_asking_records_a_pending_request_and_runs_nothing(chat: CoreChat) -> None:
    key = ask(chat)
    request = chat.store.approval(int(key.split(":")[1]))
    assert request is not None and request.state == "pending"
    assert (request.draft.requester, request.draft.quorum, request.draft.args) == \
        ("console:user2", 1, {"name": "web-01"})
    assert request.draft.expires_us - request.draft.created_us == 1800 * 1_000_000
    assert chat.store.server("web-01") is not None
    assert chat.audit()[-1] == ("command:servers.remove", "approval_requested")


def test_refused_votes_change_nothing_and_the_first_allowed_vote_dispatches_once(chat: CoreChat) -> None:
    key = ask(chat)
    assert "own request" in chat.react("user2", "✅", key).text
    assert "may not approve" in chat.react("dev1", "👍", key).text
    assert "may not approve" in chat.react("stranger", "✅", key).text
    turn = chat.react("devops1", "✅", key)
    assert "Removed web-01" in turn.text and turn.durable
    assert chat.by_key(key).current.startswith("✅ Approved (#1) by console:devops1")
    assert chat.store.server("web-01") is None
    assert "already closed" in chat.react("devops2", "✅", key).text
    assert chat.react("devops2", "✅", key, delivery_id="r-same").text
    assert chat.react("devops2", "✅", key, delivery_id="r-same").actions == ()  # a redelivery acts once
    assert votes_audited(chat) == ["refused", "refused", "refused", "approve", "refused", "refused"]
    request = chat.store.approval(1)
    assert request is not None and request.state == "dispatched"
    assert ("command:servers.remove", "ok") in chat.audit()


def test_a_reaction_that_is_no_vote_is_ignored(chat: CoreChat) -> None:
    key = ask(chat)
    assert chat.react("devops1", "🎉", key).actions == ()
    assert chat.store.approval(1) is not None and votes_audited(chat) == []


def test_a_deny_closes_the_request(chat: CoreChat) -> None:
    key = ask(chat)
    chat.react("devops1", "❌", key)
    assert chat.by_key(key).current.startswith("❌ Denied (#1) by console:devops1")
    assert chat.store.server("web-01") is not None
    assert "already closed" in chat.react("devops2", "✅", key).text


def test_a_vote_after_expiry_closes_the_request_as_expired(chat: CoreChat) -> None:
    key = ask(chat)
    chat.clock.advance(31 * 60)
    turn = chat.react("devops1", "✅", key)
    assert "expired" in turn.text
    assert chat.by_key(key).current.startswith("⌛ Expired (#1)")
    request = chat.store.approval(1)
    assert request is not None and request.state == "expired"
    assert chat.store.server("web-01") is not None


def test_a_quorum_of_two_waits_for_two_people_and_shows_progress(chat: CoreChat) -> None:
    key = ask(chat, "admin1", "role grant user2 admin")
    turn = chat.react("admin2", "✅", key)
    [edit] = turn.edits
    assert "so far: console:admin2" in edit.text and [b.emoji for b in edit.buttons] == ["✅", "❌"]
    record_ = chat.store.identity("console:user2")
    assert record_ is not None and "admin" not in record_.roles
    chat.react("admin3", "✅", key)
    record_ = chat.store.identity("console:user2")
    assert record_ is not None and "admin" in record_.roles
    assert chat.by_key(key).current.startswith("✅ Approved (#1) by console:admin2, console:admin3")


def test_withdrawing_a_vote_takes_it_back(chat: CoreChat) -> None:
    key = ask(chat, "admin1", "role grant user2 admin")
    chat.react("admin2", "✅", key)
    turn = chat.react("admin2", "✅", key, added=False)
    assert "so far: -" in turn.edits[0].text
    assert chat.react("admin2", "✅", key, added=False).actions == ()  # nothing left to withdraw
    chat.react("admin3", "✅", key)
    request = chat.store.approval(1)
    assert request is not None and request.state == "pending"
    assert ("approval:withdraw", "ok") in chat.audit()


def test_the_requester_losing_the_right_stops_the_dispatch(chat: CoreChat) -> None:
    key = ask(chat)
    chat.store.revoke_role("console:user2", "devops")
    turn = chat.react("devops1", "✅", key)
    assert "requester is no longer allowed" in turn.text
    assert chat.by_key(key).current.startswith("⛔ Not run (#1)")
    request = chat.store.approval(1)
    assert request is not None and request.state == "refused"
    assert chat.store.server("web-01") is not None
    assert chat.audit()[-1] == ("command:servers.remove", "refused")


def test_an_approver_losing_the_right_before_the_quorum_stops_the_dispatch(chat: CoreChat) -> None:
    key = ask(chat, "admin1", "role grant user2 admin")
    chat.react("admin2", "✅", key)
    chat.store.revoke_role("console:admin2", "admin")
    assert "approver is no longer allowed" in chat.react("admin3", "✅", key).text
    record_ = chat.store.identity("console:user2")
    assert record_ is not None and "admin" not in record_.roles


def test_arguments_that_no_longer_hold_are_not_run(chat: CoreChat) -> None:
    key = ask(chat)
    # Erasing a person the request names (here, someone called web-01) empties its arguments.
    chat.store.grant_role("console:web-01", "guest")
    chat.store.erase_person("console:web-01")
    assert "no longer match" in chat.react("devops1", "✅", key).text
    assert chat.store.server("web-01") is not None


def test_a_linked_identity_of_the_requester_cannot_approve(chat: CoreChat) -> None:
    key = ask(chat)
    chat.store.link_identities("console:user2", "slack:U2")
    chat.store.grant_role("slack:U2", "devops")
    message = chat.store.message_id(key)
    assert message is not None
    turn = chat.deliver(Reaction("rx", Sender("slack", "U2"), Place("console", "main"), message[1], "✅"))
    assert "own request" in turn.text
