"""``ComplianceStore`` in memory: a person's data, and erasing it from every domain's tables.

Erasure deletes the person, their identities, roles, pseudonym links and link codes (audit rows
keep their pseudonym, nothing maps it back), and scrubs their keys from approvals, jobs, alert
acknowledgements and incident timelines, as ``dihya.store.compliance_sql`` does.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from bot.erasure import ERASED, erased_voter, mentions, without
from bot.memory.identities import MemoryIdentities
from bot.memory.tables import split_key
from bot.ports import PersonData

__all__ = ["ERASED", "MemoryCompliance"]


class MemoryCompliance(MemoryIdentities):
    __slots__ = ()

    def person_data(self, key: str) -> PersonData | None:
        person_id = self.tables.identities.get(key)
        if person_id is None:
            return None
        keys = self._keys_of(person_id)
        person = self.tables.people[person_id]
        pseudonyms = tuple(p for k, p in self.tables.pseudonyms.items() if k in keys)
        return PersonData(person_id, keys, frozenset(person.roles), person.locale, pseudonyms)

    def erase_person(self, key: str) -> int:
        t = self.tables
        person_id = t.identities.get(key)
        keys = self._keys_of(person_id) if person_id is not None else (key,)
        for k in keys:
            t.pseudonyms.pop(k, None)
        for code in [h for h, (subject, _) in t.link_codes.items() if subject in keys]:
            del t.link_codes[code]
        for token_id in [i for i, record in t.api_tokens.items() if record.identity in keys]:  # issue 13
            del t.api_tokens[token_id]
        if person_id is not None:
            for k in keys:
                del t.identities[k]
            del t.people[person_id]
        self._scrub_approvals(keys)
        self._scrub_jobs(keys)
        self._scrub_alerts(keys)
        return len(keys) if person_id is not None else 0

    def _keys_of(self, person_id: int) -> tuple[str, ...]:
        return tuple(sorted((k for k, p in self.tables.identities.items() if p == person_id), key=split_key))

    def _scrub_approvals(self, keys: Sequence[str]) -> None:
        named = mentions(keys)
        for request in self.tables.approvals.values():
            requested = request.requester in keys
            if requested:
                request.requester, request.requester_person = ERASED, None
            if requested or named.search(request.text) or named.search(request.args):
                request.text, request.args = ERASED, "{}"  # a pending one then fails its re-check: never runs
        for votes in self.tables.votes.values():
            for voter in [v for v in votes if v in keys]:
                vote = votes.pop(voter)
                vote.voter, vote.voter_person = erased_voter(), None
                votes[vote.voter] = vote

    def _scrub_jobs(self, keys: Sequence[str]) -> None:
        for job in self.tables.jobs.values():
            if job.requester in keys:
                job.requester = ERASED
            approvers = json.loads(job.approvers)
            kept = [ERASED if a in keys else a for a in approvers]
            if kept != approvers:
                job.approvers = json.dumps(kept)

    def _scrub_alerts(self, keys: Sequence[str]) -> None:
        t = self.tables
        for group in t.alert_groups.values():
            if group.acked_by in keys:
                group.acked_by = ERASED
        for incident in t.incidents.values():
            if incident.opened_by in keys:
                incident.opened_by = ERASED
            if incident.owner in keys:
                incident.owner = ERASED
            incident.title = without(incident.title, keys)
        for event in t.incident_events.values():
            if event.actor in keys:
                event.actor = ERASED
            event.text, event.ref = without(event.text, keys), without(event.ref, keys)
