"""Store methods for API token records (issue 13), mixed into ``SqlStore``."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import Engine, Row, bindparam, insert, select, update

from bot.ports import ApiTokenRecord
from dihya.store.models_api import ApiTokenRow
from dihya.store.point_read import PointRead

_COLUMNS = (  # in ``ApiTokenRecord``'s field order: a row is the record's arguments
    ApiTokenRow.id, ApiTokenRow.name, ApiTokenRow.identity, ApiTokenRow.created_us, ApiTokenRow.expires_us,
    ApiTokenRow.revoked_us)
TOKEN_BY_ID = select(*_COLUMNS).where(ApiTokenRow.id == bindparam("id"))  # a point read: on every request


class ApiTokensSql:
    __slots__ = ()
    engine: Engine
    reader: Engine  # see ``SqlStore``
    token_read: PointRead  # ``TOKEN_BY_ID``, built by ``SqlStore``: every request's token check

    def add_api_token(self, record: ApiTokenRecord) -> None:
        with self.engine.begin() as conn:
            conn.execute(insert(ApiTokenRow).values(
                id=record.id, name=record.name, identity=record.identity, created_us=record.created_us,
                expires_us=record.expires_us, revoked_us=record.revoked_us))

    def api_token(self, token_id: str) -> ApiTokenRecord | None:
        row = self.token_read.first({"id": token_id})
        return ApiTokenRecord(*row) if row is not None else None

    def api_tokens(self, identities: Collection[str] | None = None) -> list[ApiTokenRecord]:
        """Newest first, then by id."""
        query = select(*_COLUMNS).order_by(ApiTokenRow.created_us.desc(), ApiTokenRow.id)
        if identities is not None:
            query = query.where(ApiTokenRow.identity.in_(list(identities)))
        with self.reader.connect() as conn:
            return [_record(row) for row in conn.execute(query)]

    def revoke_api_token(self, token_id: str, now_us: int) -> bool:
        with self.engine.begin() as conn:
            changed = conn.execute(update(ApiTokenRow).where(ApiTokenRow.id == token_id,
                                                             ApiTokenRow.revoked_us.is_(None)).values(revoked_us=now_us))
            return bool(changed.rowcount)


def _record(row: Row[tuple[str, str, str, int, int, int | None]]) -> ApiTokenRecord:
    return ApiTokenRecord(row.id, row.name, row.identity, row.created_us, row.expires_us, row.revoked_us)
