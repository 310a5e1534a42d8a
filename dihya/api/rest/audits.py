"""``audits/export``: the audit log as CSV or JSON through the chat ``audit export`` command — actors as
pseudonyms, personal data masked — streamed from the spooled file, with its SHA-256 (``Repr-Digest``)
and, when a signing key is set, its Ed25519 signature. The export is audited before a byte leaves."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Literal

import anyio
from fastapi import APIRouter, Query
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import StreamingResponse

from bot.events import Message
from bot.outcome import Outcome
from bot.registry import Attachment
from dihya.api.rest.context import PROBLEMS, Rest

CHUNK = 64 * 1024
MEDIA = {"csv": "text/csv; charset=utf-8", "json": "application/json"}
CSV_EXAMPLE = "seq,time,actor,action,target,outcome,ref,details,hash\r\n1,2026-12-02T08:00:00.000000Z,p-1a2b…,…\r\n"


def router(rest: Rest) -> APIRouter:
    api = APIRouter(tags=["audits"], responses=PROBLEMS)

    @api.get("/audits/export", summary="Export the audit log",
             description="Like `audit export [FORMAT] [since SINCE] [action ACTIONS]` (`audit.export`): every row "
                         "from `since` (a date such as 2026-11-01 or a duration such as 7d), of the given `actions` "
                         "(comma-separated names or families), as CSV or JSON; actors are pseudonyms and personal data "
                         "is masked. `Repr-Digest` and `X-Dihya-Sha256` carry the file's SHA-256 (the chat export's "
                         "`.sha256`), `X-Dihya-Signature` its Ed25519 signature (base64) when Dihya signs exports.",
             response_class=StreamingResponse,
             responses={200: {"content": {"text/csv": {"example": CSV_EXAMPLE},
                                          "application/json": {"example": [{"seq": 1, "actor": "p-1a2b3c"}]}}},
                        202: {"description": "An approval policy covers exports: the approval request's `Location`",
                              "content": {"application/json": {"example": {
                                  "status": "approval", "id": 3, "url": "/api/it_devops/approbations/3"}}}}})
    async def export(request: Request,
                     format: Annotated[Literal["csv", "json"], Query(examples=["csv"])] = "csv",
                     since: Annotated[str | None, Query(min_length=1, max_length=40, pattern=r"^[\w:.+-]+$",
                                                       examples=["7d"])] = None,
                     actions: Annotated[str | None, Query(min_length=1, max_length=300,
                                                          examples=["deploy,rollback"])] = None) -> StreamingResponse:
        identity = await rest.caller(request)
        args: dict[str, object] = {"format": format}
        if since:
            args["since"] = since
        if actions:
            args["actions"] = actions
        answer = await rest.answer(request, identity, "audit.export", args, finish=False)
        reply = answer.last
        assert reply is not None
        assert reply.uploads
        # The audit row is durable before the file leaves; delivering the outcome deletes the spooled files.
        outcomes = [rest.bot.finish(later, r) for later, r in zip(answer.invoked.outcome.later, answer.replies,
                                                                 strict=True)]
        await anyio.to_thread.run_sync(rest.bot.flush_audit)
        main, files = reply.uploads[0], {u.filename: u for u in reply.uploads}
        headers = {"Content-Disposition": f'attachment; filename="{main.filename}"',
                   "X-Dihya-Sha256": str(reply.details.get("sha256", ""))}
        headers["Repr-Digest"] = f"sha-256=:{base64.b64encode(bytes.fromhex(headers['X-Dihya-Sha256'])).decode()}:"
        signature = files.get(main.filename + ".sig")
        if signature is not None:
            headers["X-Dihya-Signature"] = base64.b64encode(_bytes(signature)).decode()
        spool = Spool(rest, answer.invoked.event, outcomes)
        # Released when the stream ends, or after the response when the client left before it began.
        return StreamingResponse(spool.stream(main), media_type=MEDIA[format], headers=headers,
                                 background=BackgroundTask(spool.release))

    return api


def _bytes(upload: Attachment) -> bytes:
    return upload.content.read_bytes() if isinstance(upload.content, Path) else upload.content


class Spool:
    """The spooled export files, deleted once (by delivering the command's outcome) whatever happens."""

    def __init__(self, rest: Rest, event: Message, outcomes: list[Outcome]) -> None:
        self._rest, self._event, self._outcomes = rest, event, outcomes

    async def stream(self, main: Attachment) -> AsyncIterator[bytes]:
        try:
            if isinstance(main.content, bytes):
                yield main.content
                return
            async with await anyio.open_file(main.content, "rb") as file:
                while chunk := await file.read(CHUNK):
                    yield chunk
        finally:
            await self.release()

    async def release(self) -> None:
        outcomes, self._outcomes = self._outcomes, []
        for outcome in outcomes:
            await self._rest.runtime.deliver(self._event, outcome)
