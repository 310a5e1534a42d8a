"""``bot.identity``: senders become actors (roles, language, pseudonym), briefly cached."""

from __future__ import annotations

from bot.context import Context, Services
from bot.events import Place, Sender
from bot.identity import Actor, Identities
from bot.memory import MemoryIdentities
from tests.bot.core_chat import CoreChat, FrozenClock


def test_an_unknown_sender_is_a_guest_with_a_pseudonym_and_nothing_stored() -> None:
    store = MemoryIdentities()
    actor = Identities(store, FrozenClock()).resolve(Sender("slack", "U1", "Ann"))
    assert (actor.key, actor.roles, actor.locale, actor.display_name, actor.person_id) == \
        ("slack:U1", frozenset(), None, "Ann", None)
    assert actor.role_names == ("guest",)
    assert actor.pseudonym == store.find_pseudonym("slack:U1") and store.identity("slack:U1") is None


def test_a_known_sender_carries_roles_language_and_person() -> None:
    store = MemoryIdentities()
    store.grant_role("console:bob", "ops")
    store.grant_role("console:bob", "admin")
    store.set_locale("console:bob", "tzm")
    actor = Identities(store, FrozenClock()).resolve(Sender("console", "bob"))
    assert actor.role_names == ("admin", "ops") and actor.locale == "tzm" and actor.person_id is not None


def test_lookups_are_cached_for_the_ttl_and_forget_drops_one_at_once() -> None:
    store, clock = MemoryIdentities(), FrozenClock()
    identities = Identities(store, clock, ttl=2.0)
    sender = Sender("console", "bob")
    assert identities.resolve(sender).roles == frozenset()
    store.grant_role("console:bob", "ops")
    assert identities.resolve(sender).roles == frozenset()  # still cached
    assert identities.fresh("console:bob").roles == {"ops"}  # approvals read the store, never the cache
    clock.advance(2.0)
    assert identities.resolve(sender).roles == {"ops"}
    store.revoke_role("console:bob", "ops")
    identities.forget("console:bob")
    assert identities.resolve(sender).roles == frozenset()


def test_a_role_change_through_a_command_is_seen_at_once() -> None:
    chat = CoreChat()
    chat.say("admin1", "role grant bob ops")
    assert "ops" in chat.say("bob", "whoami").text


def test_a_reference_to_a_person_resolves_on_the_senders_platform() -> None:
    chat = CoreChat()
    ctx = Context(Actor("slack:U1", "p", frozenset(), None), Place("slack", "C1"), "en", chat.services)
    assert ctx.resolve_person("bob") == "slack:bob"
    assert ctx.resolve_person("@bob") == "slack:bob"
    assert ctx.resolve_person("@bob:example.org") == "matrix:@bob:example.org"
    assert ctx.resolve_person("telegram:42") == "telegram:42"
    assert ctx.resolve_person("weird:42") == "slack:weird:42"  # not a platform: a name on this one
    assert isinstance(ctx.services, Services) and ctx.approvers == ()


def test_senders_and_places_have_stable_addresses() -> None:
    assert Sender("matrix", "@a:b").key == "matrix:@a:b"
    assert Place("telegram", "-100123", "7").address == "telegram:-100123"
