"""Charts as SVG geometry computed on the server: bars with a hover title each.

The templates draw the shapes (``templates/_chart.html``) with CSS classes for colour,
so a chart needs no script and no inline style, and reads without JavaScript.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from gateway.console.pages import when
from storage.stats import Bucket

WIDTH = 720.0
HEIGHT = 180.0
AXIS = 28.0  # room for the labels under the bars and beside them


@dataclass(frozen=True, slots=True)
class Bar:
    """One rectangle: where it is, its CSS class (``succeeded``, ``failed``…), its title."""

    x: float
    y: float
    width: float
    height: float
    kind: str
    title: str


@dataclass(frozen=True, slots=True)
class Label:
    """A text at ``x``, ``y``."""

    x: float
    y: float
    text: str


@dataclass(frozen=True, slots=True)
class Chart:
    """A bar chart: its size, what it shows (for screen readers), bars and labels."""

    description: str
    bars: tuple[Bar, ...]
    labels: tuple[Label, ...]
    width: float = WIDTH
    height: float = HEIGHT

    @property
    def baseline(self) -> float:
        """Where the bars stand."""
        return self.height - AXIS


def outcome_chart(series: Sequence[Bucket], description: str) -> Chart:
    """Attempts per bucket, succeeded below failed, scaled to the busiest bucket."""
    plot = HEIGHT - AXIS - 8
    top = max((b.succeeded + b.failed for b in series), default=0) or 1
    step = (WIDTH - AXIS) / max(1, len(series))
    bars: list[Bar] = []
    for index, bucket in enumerate(series):
        x = AXIS + index * step + 1
        ok = plot * bucket.succeeded / top
        bad = plot * bucket.failed / top
        base = HEIGHT - AXIS
        start = when(bucket.start)
        if bucket.succeeded:
            bars.append(
                Bar(
                    x,
                    base - ok,
                    step - 2,
                    ok,
                    "succeeded",
                    f"{start}: {bucket.succeeded} succeeded",
                )
            )
        if bucket.failed:
            title = f"{start}: {bucket.failed} failed"
            bars.append(Bar(x, base - ok - bad, step - 2, bad, "failed", title))
    return Chart(description, tuple(bars), _labels(series, step, f"{top}"))


def rate_chart(series: Sequence[Bucket], description: str) -> Chart:
    """Each bucket with attempts as a full bar: the share that succeeded below, the
    share that failed above (so 0 % reads as a red bar, not as nothing)."""
    plot = HEIGHT - AXIS - 8
    step = (WIDTH - AXIS) / max(1, len(series))
    base = HEIGHT - AXIS
    bars = []
    for index, bucket in enumerate(series):
        total = bucket.succeeded + bucket.failed
        if not total:
            continue
        ok = plot * bucket.succeeded / total
        x = AXIS + index * step + 1
        title = f"{when(bucket.start)}: {bucket.succeeded / total:.0%} of {total} succeeded"
        if bucket.succeeded:
            bars.append(Bar(x, base - ok, step - 2, ok, "succeeded", title))
        if bucket.failed:
            bars.append(Bar(x, base - plot, step - 2, plot - ok, "failed", title))
    return Chart(description, tuple(bars), _labels(series, step, "100%"))


def _labels(series: Sequence[Bucket], step: float, top: str) -> tuple[Label, ...]:
    labels = [Label(2, 16, top), Label(2, HEIGHT - AXIS, "0")]
    for index in (0, len(series) // 2, len(series) - 1):
        if 0 <= index < len(series):
            text = when(series[index].start)[11:16]
            labels.append(Label(AXIS + index * step, HEIGHT - 8, text))
    return tuple(labels)
