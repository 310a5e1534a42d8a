"""RFC 9457 problem details, with title and detail translated from the Babel catalogs."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.requests import Request
from starlette.responses import JSONResponse

from bot.i18n import DEFAULT_LOCALE, LOCALES, N_, Catalogs, Msg

MEDIA_TYPE = "application/problem+json"

TITLES: dict[int, str] = {
    400: N_("Bad request"),
    401: N_("Authentication required"),
    403: N_("Not allowed"),
    404: N_("Not found"),
    405: N_("Method not allowed"),
    409: N_("Conflict"),
    422: N_("Invalid request"),
    429: N_("Too many requests"),
    500: N_("Something failed"),
    503: N_("Service unavailable"),
}


def locale_of(request: Request) -> str:
    """``?lang=`` first, then the first ``Accept-Language`` tag we have a catalog for."""
    wanted = request.query_params.get("lang")
    if wanted in LOCALES:
        return str(wanted)
    header = request.headers.get("accept-language", "")
    tags = []
    for part in header.split(","):
        tag, _, q = part.strip().partition(";q=")
        try:
            weight = float(q) if q else 1.0
        except ValueError:
            continue
        tags.append((weight, tag.strip().lower().split("-")[0]))
    for _, tag in sorted(tags, key=lambda t: -t[0]):
        if tag in LOCALES:
            return tag
    return DEFAULT_LOCALE


class Problems:
    """Builds problem responses in the request's language."""

    __slots__ = ("_catalogs",)

    def __init__(self, catalogs: Catalogs) -> None:
        self._catalogs = catalogs

    def response(self, request: Request, status: int, detail: tuple[Msg, ...] = (),
                 headers: Mapping[str, str] | None = None, **extra: object) -> JSONResponse:
        locale = locale_of(request)
        body: dict[str, object] = {
            "type": "about:blank", "status": status,
            "title": self._catalogs.render_all((Msg(TITLES.get(status, TITLES[400])),), locale),
            "instance": request.url.path,
        }
        if detail:
            body["detail"] = self._catalogs.render_all(detail, locale)
        body.update(extra)
        return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE,
                            headers={"Content-Language": locale, **(headers or {})})
