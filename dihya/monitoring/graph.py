"""PNG line charts of Prometheus range results.

Built on ``matplotlib.figure.Figure`` with the Agg canvas: no pyplot, so no global figure registry
and nothing shared between threads. The image is opaque (a light panel with a grey frame and dark
text) because chat clients show PNGs on their own background: a transparent chart with dark text
vanishes in a dark theme, one with light text in a light theme. Line colours are the Okabe-Ito
palette (readable by colour-blind people) minus its yellow, which is too pale on white.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from datetime import UTC, datetime

from matplotlib import dates as mdates
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import EngFormatter

from bot.text import clip, neutralise
from dihya.monitoring.prometheus import Series, series_name

WIDTH_IN, HEIGHT_IN, DPI = 8.0, 4.0, 100
MAX_SERIES = 10  # beyond this the legend hides the chart; callers should aggregate
LEGEND_WIDTH = 60
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#56B4E9", "#E69F00", "#000000")
INK, PANEL, FRAME, GRID = "#222222", "#FFFFFF", "#888888", "#DDDDDD"


def render_png(series: Sequence[Series], title: str, y_label: str, x_label: str = "UTC") -> bytes:
    """Draw up to ``MAX_SERIES`` series against time (UTC) and return the PNG bytes.

    Raises ``ValueError`` when there is no point to draw: the caller replies "no data" instead.
    """
    drawn = [s for s in series if s.points][:MAX_SERIES]
    if not drawn:
        raise ValueError("no data points to draw")
    figure = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI, facecolor=PANEL, edgecolor=FRAME, linewidth=2,
                    layout="constrained")
    FigureCanvasAgg(figure)  # attaches the Agg canvas: rendering never touches pyplot or a GUI backend
    axes = figure.add_subplot()
    _style(axes)
    for index, one in enumerate(drawn):
        _plot(axes, one, PALETTE[index % len(PALETTE)])
    _label(axes, title, y_label, x_label, legend=len(drawn) > 1 or bool(_legend_text(drawn[0])))
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", facecolor=PANEL, edgecolor=FRAME)
    return buffer.getvalue()


def _style(axes: Axes) -> None:
    axes.set_facecolor(PANEL)
    axes.grid(True, color=GRID, linewidth=0.8)
    axes.tick_params(colors=INK, labelcolor=INK)
    for spine in axes.spines.values():
        spine.set_color(FRAME)
    # matplotlib.dates has no type hints yet.
    locator = mdates.AutoDateLocator(tz=UTC)  # type: ignore[no-untyped-call]
    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, tz=UTC))  # type: ignore[no-untyped-call]
    axes.yaxis.set_major_formatter(EngFormatter(sep=""))  # 1.5G rather than 1.5e9 for byte counts


def _plot(axes: Axes, series: Series, colour: str) -> None:
    times = [datetime.fromtimestamp(t, UTC) for t, _ in series.points]
    values = [v if math.isfinite(v) else math.nan for _, v in series.points]  # ±Inf breaks autoscaling
    line, = axes.plot(times, values, color=colour, linewidth=1.8, label=_legend_text(series))  # type: ignore[arg-type]
    if len(times) == 1:
        line.set_marker("o")  # a lone point draws no line


def _legend_text(series: Series) -> str:
    return clip(neutralise(series_name(series.labels)), LEGEND_WIDTH) if series.labels else ""


def _label(axes: Axes, title: str, y_label: str, x_label: str, legend: bool) -> None:
    # parse_math=False: "$" in a title or a label value must not start TeX math.
    axes.set_title(clip(neutralise(title), 90), color=INK, parse_math=False)
    axes.set_ylabel(clip(neutralise(y_label), 60), color=INK, parse_math=False)
    axes.set_xlabel(clip(neutralise(x_label), 60), color=INK, parse_math=False)
    if legend:
        shown = axes.legend(loc="upper left", fontsize="small", framealpha=0.85, labelcolor=INK)
        for text in shown.get_texts():
            text.set_parse_math(False)
