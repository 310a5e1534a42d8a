"""Read-only PromQL queries over prometheus-api-client, with typed, translated errors.

Only ``/api/v1/query`` and ``/api/v1/query_range`` are called, always with GET: nothing here can
reach Prometheus's admin or write endpoints. Each query carries Prometheus's own ``timeout``
parameter (the time budget) and the HTTP read timeout allows a little more, so Prometheus
usually reports the overrun itself. Retries are off: a chat reply should fail fast, not after
the library's default ~6 s of back-off.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import requests
from prometheus_api_client import PrometheusConnect
from urllib3.util.retry import Retry

from bot.errors import UserError
from bot.i18n import N_, Msg, Verbatim
from bot.text import clip, neutralise
from dihya.monitoring.templates import fill_template

_T = TypeVar("_T")
CONNECT_TIMEOUT_S = 2.0
READ_GRACE_S = 1.0  # beyond the budget, so Prometheus's own timeout answer wins the race
# --- errors ------------------------------------------------------------------------------------


class MetricsError(UserError):
    """A query that could not be answered; ``message`` is the translated reply."""


class MetricsUnavailable(MetricsError):
    def __init__(self) -> None:
        super().__init__(N_("Prometheus cannot be reached right now; try again in a moment."))


class BadQuery(MetricsError):
    def __init__(self, prometheus_message: str) -> None:
        super().__init__(N_("Prometheus rejected the query: {reason}"), reason=prometheus_message)
        self.prometheus_message = prometheus_message


class QueryTimeout(MetricsError):
    def __init__(self, budget_s: float) -> None:
        super().__init__(N_("The query ran past its time budget of {seconds} s; narrow it down and try again."),
                         seconds=f"{budget_s:g}")
        self.budget_s = budget_s


class UnknownServer(MetricsError):
    def __init__(self, instance: str) -> None:
        super().__init__(N_("Prometheus has no target with the instance label {instance}."), instance=instance)
        self.instance = instance


class _PrometheusRefusal(Exception):
    """Raised by the session hook on a non-200 answer, before the library flattens it into text."""

    def __init__(self, error_type: str, error: str) -> None:
        super().__init__(f"{error_type}: {error}")
        self.error_type = error_type
        self.error = error


# --- values ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Sample:
    labels: Mapping[str, str]
    timestamp: float  # Unix seconds
    value: float  # NaN for a string result
    text: str  # the value exactly as Prometheus wrote it ("1.5", "NaN", "+Inf", ...)


@dataclass(frozen=True, slots=True)
class Series:
    labels: Mapping[str, str]
    points: tuple[tuple[float, float], ...] = field(default_factory=tuple)  # (Unix seconds, value)


# --- the client --------------------------------------------------------------------------------


class PrometheusMetrics:
    """PromQL queries against one Prometheus; every failure becomes a ``MetricsError``."""

    __slots__ = ("_client", "timeout_s")

    def __init__(self, url: str, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        session = requests.Session()
        session.hooks["response"].append(_refuse_errors)
        self._client = PrometheusConnect(
            # read=False: a read timeout surfaces as itself, not wrapped as a connection error.
            url=url.rstrip("/"), session=session, retry=Retry(total=0, read=False, raise_on_status=False),
            timeout=(CONNECT_TIMEOUT_S, timeout_s + READ_GRACE_S),
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> PrometheusMetrics:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def instant(self, query: str) -> list[Sample]:
        return self._call(lambda: _samples(self._client.custom_query(query, params=self._budget())))

    def range(self, query: str, start: datetime, end: datetime, step: timedelta) -> list[Series]:
        step_s = f"{step.total_seconds():g}"
        return self._call(lambda: [_series(item) for item in self._client.custom_query_range(
            query, start, end, step_s, params=self._budget())])

    def server_status(self, instance: str, templates: Mapping[str, str]) -> dict[str, float | None]:
        """One number per template for ``instance``; None where the query found nothing."""
        if not self.instant(fill_template('up{instance="{instance}"}', instance)):
            raise UnknownServer(instance)
        return {name: _first_value(self.instant(fill_template(t, instance))) for name, t in templates.items()}

    def _budget(self) -> dict[str, str]:
        return {"timeout": f"{self.timeout_s:g}"}

    def _call(self, request: Callable[[], _T]) -> _T:
        try:
            return request()
        except _PrometheusRefusal as refusal:
            raise _refusal_error(refusal, self.timeout_s) from refusal
        except requests.ConnectTimeout as exc:  # before Timeout: it is both
            raise MetricsUnavailable() from exc
        except requests.Timeout as exc:
            raise QueryTimeout(self.timeout_s) from exc
        except (requests.RequestException, ValueError, KeyError, TypeError) as exc:
            # Connection refused, or a 200 answer that is not Prometheus's JSON or not its shape.
            raise MetricsUnavailable() from exc


def _refuse_errors(response: requests.Response, *args: object, **kwargs: object) -> None:
    """Session hook: turn Prometheus's error JSON into an exception that keeps its fields."""
    if response.status_code == 200:
        return
    try:
        body = response.json()
        error_type, error = str(body["errorType"]), str(body["error"])
    except (ValueError, KeyError, TypeError):
        error_type, error = "http", f"HTTP {response.status_code}"
    finally:
        response.close()  # the library never sees this response, so release its connection here
    raise _PrometheusRefusal(error_type, error)


_QUERY_PREFIX = re.compile(r'^invalid parameter "query": ')


def _refusal_error(refusal: _PrometheusRefusal, budget_s: float) -> MetricsError:
    if refusal.error_type in ("bad_data", "execution"):
        return BadQuery(_QUERY_PREFIX.sub("", refusal.error))
    if refusal.error_type in ("timeout", "canceled"):
        return QueryTimeout(budget_s)
    return MetricsUnavailable()


# --- parsing the API's result ------------------------------------------------------------------


def _samples(result: Any) -> list[Sample]:
    # The library hands over data.result without resultType; a scalar or string is [ts, "v"].
    if len(result) == 2 and not isinstance(result[0], dict):
        return [_sample({}, result)]
    samples: list[Sample] = []
    for item in result:
        points = item["values"] if "values" in item else [item["value"]]  # a range vector: one row a point
        samples.extend(_sample(item["metric"], point) for point in points)
    return samples


def _sample(labels: Mapping[str, str], point: Sequence[Any]) -> Sample:
    text = str(point[1])
    return Sample(dict(labels), float(point[0]), _to_float(text), text)


def _series(item: Mapping[str, Any]) -> Series:
    return Series(dict(item["metric"]), tuple((float(t), _to_float(v)) for t, v in item["values"]))


def _to_float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return math.nan


def _first_value(samples: Sequence[Sample]) -> float | None:
    return samples[0].value if samples and not math.isnan(samples[0].value) else None


# --- the query table ---------------------------------------------------------------------------

SERIES_WIDTH = 72


def format_table(samples: Sequence[Sample], limit: int) -> Msg:
    """A compact table of at most ``limit`` rows, with a translated note when rows were left out.

    Labels shared by every sample go once on a heading line, so each row shows only what tells it
    apart. Returned as a ``Msg`` so the note is rendered in the reader's language.
    """
    if not samples:
        return Msg(N_("The query returned no data."))
    common = _common_labels(samples) if len(samples) > 1 else {}
    stamped = len({s.timestamp for s in samples}) > 1
    names = [_cell(series_name({k: v for k, v in s.labels.items() if k not in common})) for s in samples[:limit]]
    width = max(len(n) for n in names)
    rows = [f"{n.ljust(width)}  {_value_cell(s, stamped)}" for n, s in zip(names, samples, strict=False)]
    heading = [_cell(series_name(common))] if common else []
    table = Verbatim("\n".join(heading + rows))
    if len(samples) <= limit:
        return Msg(N_("{table}"), {"table": table})
    return Msg(N_("{table}\n… {hidden} more rows not shown ({total} in all)."),
               {"table": table, "hidden": len(samples) - limit, "total": len(samples)})


def _common_labels(samples: Sequence[Sample]) -> dict[str, str]:
    shared = set(samples[0].labels.items())
    for sample in samples[1:]:
        shared &= set(sample.labels.items())
    return dict(shared)


def _cell(text: str) -> str:
    return clip(neutralise(text), SERIES_WIDTH)


def series_name(labels: Mapping[str, str]) -> str:
    """Prometheus's own notation: ``name{label="value", ...}``; ``{}`` for a bare number."""
    inner = ", ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in sorted(labels.items()) if k != "__name__")
    return f"{labels.get('__name__', '')}{{{inner}}}"


def _value_cell(sample: Sample, stamped: bool) -> str:
    text = clip(neutralise(sample.text), 40)
    if not stamped:
        return text
    return f"{text} @ {datetime.fromtimestamp(sample.timestamp, UTC):%H:%M:%S}"
