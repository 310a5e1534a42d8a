"""``IdentityStore`` over SQL: people, their platform identities, roles, locales and pseudonyms;
mixed into ``SqlStore``."""

from __future__ import annotations

import secrets
import time
from collections.abc import Sequence
from typing import Any, Literal

from sqlalchemy import Connection, Engine, Row, bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from bot.clock import now_us
from bot.ports import IdentityRecord
from dihya.store.models import Identity, Person, Pseudonym, RoleAssignment
from dihya.store.point_read import PointRead


def split_key(key: str) -> tuple[str, str]:
    platform, _, user_id = key.partition(":")
    return platform, user_id


class IdentitiesSql:
    __slots__ = ()
    engine: Engine
    reader: Engine  # see ``SqlStore``
    person_read: PointRead  # ``PERSON_WITH_ROLES``, built by ``SqlStore``

    def identity(self, key: str) -> IdentityRecord | None:
        # A point read, without the write lock (the HTTP API looks roles up on every request); only
        # a person seen for the first time, whose pseudonym must be written, takes it.
        found = _record(key, self.person_read.rows(_person_params(key)))
        if found is None or isinstance(found, IdentityRecord):  # None: nobody
            return found
        with self.engine.begin() as conn:
            return _identity(conn, key)

    def pseudonym(self, key: str) -> str:
        with self.reader.connect() as conn:
            found = _known_pseudonym(conn, key)
        if found is not None:
            return found
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
            try:
                with conn.begin_nested():
                    conn.execute(insert(RoleAssignment).values(person_id=person_id, role=role))
            except IntegrityError:  # granted by another replica a moment ago (two starting with the same admins)
                return False
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


# Built once: the API looks a person up on every request, and building a statement (and its
# cache key) cost more than running it.
_PERSON_OF = (select(Person.id, Person.locale).join(Identity, Identity.person_id == Person.id)
              .where(Identity.platform == bindparam("platform"), Identity.platform_user_id == bindparam("user_id")))
PERSON_WITH_ROLES = (
    select(Person.id, Person.locale, Pseudonym.pseudonym, RoleAssignment.role)
    .select_from(Identity).join(Person, Person.id == Identity.person_id)
    .outerjoin(Pseudonym, Pseudonym.subject == bindparam("key"))
    .outerjoin(RoleAssignment, RoleAssignment.person_id == Person.id)
    .where(Identity.platform == bindparam("platform"), Identity.platform_user_id == bindparam("user_id")))
_PSEUDONYM_OF = select(Pseudonym.pseudonym).where(Pseudonym.subject == bindparam("key"))


def _person_of(conn: Connection, key: str) -> Row[tuple[int, str | None]] | None:
    platform, user_id = split_key(key)
    return conn.execute(_PERSON_OF, {"platform": platform, "user_id": user_id}).first()


def _ensure_person(conn: Connection, key: str) -> int:
    person = _person_of(conn, key)
    if person is not None:
        return int(person.id)
    platform, user_id = split_key(key)
    try:
        with conn.begin_nested():
            person_id: int = conn.execute(insert(Person).values(display_name="", created_us=now_us(time.time))
                                          .returning(Person.id)).scalar_one()
            conn.execute(insert(Identity).values(platform=platform, platform_user_id=user_id, person_id=person_id))
            return person_id
    except IntegrityError:  # another replica recorded this identity a moment ago (issue 16): use theirs
        person = _person_of(conn, key)
        assert person is not None
        return int(person.id)


def _person_params(key: str) -> dict[str, object]:
    platform, user_id = split_key(key)
    return {"key": key, "platform": platform, "user_id": user_id}


def _record(key: str, rows: Sequence[Sequence[Any]], pseudonym: str | None = None
            ) -> IdentityRecord | Literal[False] | None:
    """The record of ``key`` from the rows of ``PERSON_WITH_ROLES`` (id, locale, pseudonym, role),
    or ``pseudonym`` when they hold none; None: nobody; False: no pseudonym written yet."""
    if not rows:
        return None
    person_id, locale, pseudonym = rows[0][0], rows[0][1], rows[0][2] or pseudonym
    if pseudonym is None:
        return False
    return IdentityRecord(key, person_id, pseudonym, frozenset(row[3] for row in rows if row[3] is not None), locale)


def _identity(conn: Connection, key: str) -> IdentityRecord | None:
    """The record of ``key`` (None: nobody), its pseudonym written first if it had none."""
    rows = conn.execute(PERSON_WITH_ROLES, _person_params(key)).all()
    found = _record(key, rows, _pseudonym(conn, key) if rows and rows[0].pseudonym is None else None)
    assert found is not False  # a person without a pseudonym was just given one
    return found


def _known_pseudonym(conn: Connection, key: str) -> str | None:
    return conn.scalar(_PSEUDONYM_OF, {"key": key})


def _pseudonym(conn: Connection, key: str) -> str:
    found = _known_pseudonym(conn, key)
    if found is not None:
        return found
    made = "p-" + secrets.token_hex(8)
    try:
        with conn.begin_nested():
            conn.execute(insert(Pseudonym).values(pseudonym=made, subject=key))
    except IntegrityError:  # another replica gave this subject its pseudonym a moment ago (issue 16)
        return _known_pseudonym(conn, key) or made
    return made
