"""PNG charts: a real PNG of the right size, with a drawn line, whatever the title contains."""

from __future__ import annotations

import io
import math
import time
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from matplotlib import image

from dihya.monitoring.graph import DPI, HEIGHT_IN, PALETTE, WIDTH_IN, render_png
from dihya.monitoring.prometheus import PrometheusMetrics, Series
from tests.servers.monitoring import INSTANCE, MonitoringStack

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def decode(png: bytes) -> np.ndarray:
    assert png.startswith(PNG_SIGNATURE)
    pixels: np.ndarray = image.imread(io.BytesIO(png), format="png")
    return pixels[..., :3]


def pixels_near(pixels: np.ndarray, hex_colour: str, tolerance: float = 0.08) -> int:
    rgb = np.array([int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)])
    return int((np.abs(pixels - rgb).max(axis=-1) < tolerance).sum())


def wave(labels: dict[str, str], phase: float = 0.0, points: int = 60) -> Series:
    start = time.time() - points * 10
    return Series(labels, tuple((start + i * 10, 50 + 40 * math.sin(i / 6 + phase)) for i in range(points)))


def test_chart_is_a_non_blank_png_of_the_expected_size() -> None:
    png = render_png([wave({"instance": INSTANCE})], "CPU web-01", "%")
    pixels = decode(png)
    assert pixels.shape[:2] == (int(HEIGHT_IN * DPI), int(WIDTH_IN * DPI))
    assert 5_000 < len(png) < 500_000
    assert pixels.std() > 0.05  # not one flat colour
    assert pixels_near(pixels, PALETTE[0]) > 300  # the line itself is drawn


def test_each_series_gets_its_own_colour() -> None:
    pixels = decode(render_png([wave({"mode": "a"}), wave({"mode": "b"}, phase=2)], "two", "s"))
    assert pixels_near(pixels, PALETTE[0]) > 300
    assert pixels_near(pixels, PALETTE[1]) > 300


def test_background_is_opaque_for_dark_and_light_clients() -> None:
    pixels = image.imread(io.BytesIO(render_png([wave({})], "t", "y")), format="png")
    assert pixels.shape[-1] == 3 or float(pixels[..., 3].min()) == 1.0


def test_hostile_title_and_labels_do_not_break_rendering() -> None:
    series = [Series({"path": "$\\frac{", "x": "a\u202eb"}, ((0.0, 1.0), (60.0, math.inf), (120.0, math.nan)))]
    assert decode(render_png(series, "cost in $ for $\\sqrt{", "$")).std() > 0.05


def test_single_point_is_still_visible() -> None:
    pixels = decode(render_png([Series({}, ((time.time(), 3.0),))], "one", "y"))
    assert pixels_near(pixels, PALETTE[0]) > 10


def test_no_points_is_an_error_for_the_caller_to_report() -> None:
    with pytest.raises(ValueError, match="no data"):
        render_png([Series({"a": "b"}, ())], "empty", "y")


@pytest.mark.slow
def test_chart_of_a_real_range_query(stack: MonitoringStack) -> None:
    end = datetime.now(UTC)
    with PrometheusMetrics(stack.prometheus_url, timeout_s=5) as metrics:
        series = metrics.range(f'node_memory_MemAvailable_bytes{{instance="{INSTANCE}"}}',
                               end - timedelta(minutes=1), end, timedelta(seconds=1))
    pixels = decode(render_png(series, f"Memory available on {INSTANCE}", "bytes"))
    assert pixels.std() > 0.05
    assert pixels_near(pixels, PALETTE[0]) > 50
