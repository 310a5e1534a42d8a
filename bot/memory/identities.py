"""``IdentityStore`` and ``LinkStore`` in memory."""

from __future__ import annotations

import secrets

from bot.memory.tables import Memory, PersonRow, split_key
from bot.ports import IdentityRecord


class MemoryIdentities(Memory):
    __slots__ = ()

    def identity(self, key: str) -> IdentityRecord | None:
        person_id = self.tables.identities.get(key)
        if person_id is None:
            return None
        person = self.tables.people[person_id]
        return IdentityRecord(key, person_id, self.pseudonym(key), frozenset(person.roles), person.locale)

    def pseudonym(self, key: str) -> str:
        found = self.tables.pseudonyms.get(key)
        if found is None:
            found = self.tables.pseudonyms[key] = "p-" + secrets.token_hex(8)
        return found

    def find_pseudonym(self, key: str) -> str | None:
        return self.tables.pseudonyms.get(key)

    def set_locale(self, key: str, locale: str | None) -> None:
        self.tables.people[self._ensure_person(key)].locale = locale

    def grant_role(self, key: str, role: str) -> bool:
        roles = self.tables.people[self._ensure_person(key)].roles
        if role in roles:
            return False
        roles.add(role)
        return True

    def revoke_role(self, key: str, role: str) -> bool:
        person_id = self.tables.identities.get(key)
        if person_id is None or role not in self.tables.people[person_id].roles:
            return False
        self.tables.people[person_id].roles.discard(role)
        return True

    def role_holders(self) -> list[IdentityRecord]:
        """Every identity of a person with a role, by platform then user id (pseudonyms left empty)."""
        holders = []
        for key in sorted(self.tables.identities, key=split_key):
            person_id = self.tables.identities[key]
            person = self.tables.people[person_id]
            if person.roles:
                holders.append(IdentityRecord(key, person_id, "", frozenset(person.roles), person.locale))
        return holders

    def _ensure_person(self, key: str) -> int:
        found = self.tables.identities.get(key)
        if found is not None:
            return found
        person_id = self.tables.next_id("people")
        self.tables.people[person_id] = PersonRow()
        self.tables.identities[key] = person_id
        return person_id


class MemoryLinks(MemoryIdentities):
    __slots__ = ()

    def link_code_put(self, code_hash: str, subject: str, expires_us: int) -> None:
        """One live code per identity: a new one replaces the previous."""
        codes = self.tables.link_codes
        for old in [h for h, (s, _) in codes.items() if s == subject]:
            del codes[old]
        codes[code_hash] = (subject, expires_us)

    def link_code_take(self, code_hash: str, now_us: int) -> str | None:
        """The identity that asked for the code, once: the code goes whether or not it expired."""
        found = self.tables.link_codes.pop(code_hash, None)
        if found is None:
            return None
        subject, expires_us = found
        return subject if expires_us > now_us else None

    def link_identities(self, into_key: str, other_key: str) -> bool:
        into = self._ensure_person(into_key)
        other = self.tables.identities.get(other_key)
        if other == into:
            return False
        if other is None:
            self.tables.identities[other_key] = into
            return True
        self._merge_people(into, other)
        return True

    def _merge_people(self, into: int, other: int) -> None:
        """``other``'s identities and roles move to ``into``; approvals and votes follow the person."""
        t = self.tables
        t.people[into].roles |= t.people[other].roles
        for key, person_id in t.identities.items():
            if person_id == other:
                t.identities[key] = into
        for request in t.approvals.values():
            if request.requester_person == other:
                request.requester_person = into
        for votes in t.votes.values():
            for vote in votes.values():
                if vote.voter_person == other:
                    vote.voter_person = into
        if t.people[into].locale is None:
            t.people[into].locale = t.people[other].locale
        del t.people[other]
