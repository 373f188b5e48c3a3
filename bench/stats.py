"""Rows of the benchmark table: a measured figure, its comparison, their ratio and the target."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Figure:
    """Repeated samples of one quantity, in ``unit``; median and spread (p10-p90) over them."""

    samples: tuple[float, ...]
    unit: str

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def spread(self) -> tuple[float, float]:
        if len(self.samples) < 2:
            return (self.samples[0], self.samples[0])
        deciles = statistics.quantiles(self.samples, n=10, method="inclusive")
        return (deciles[0], deciles[-1])

    def text(self) -> str:
        low, high = self.spread
        return f"{_num(self.median)} {self.unit} ({_num(low)}-{_num(high)}, n={len(self.samples)})"


@dataclass(frozen=True)
class Row:
    """One line of the table; ``ratio`` is ivkgen's median over the comparison's."""

    section: str
    metric: str
    ivkgen: Figure
    comparison_name: str
    comparison: Figure | None
    target: str
    met: bool | None
    notes: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if self.comparison is None or self.comparison.median == 0:
            return None
        return self.ivkgen.median / self.comparison.median

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("ivkgen", "comparison"):
            figure = getattr(self, key)
            if figure is not None:
                data[key].update(median=figure.median, spread=list(figure.spread))
        data["ratio"] = self.ratio
        return data


def _num(value: float) -> str:
    return f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"


def timed(action: Callable[[], object], repeats: int, warmup: int = 1) -> tuple[float, ...]:
    """Wall seconds of ``repeats`` calls of ``action`` after ``warmup`` untimed ones."""
    for _ in range(warmup):
        action()
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        samples.append(time.perf_counter() - started)
    return tuple(samples)


def scaled(samples: Sequence[float], factor: float, unit: str) -> Figure:
    return Figure(tuple(s * factor for s in samples), unit)


HEADER = (
    "| # | benchmark | ivkgen median (p10-p90, n) | comparison | comparison median (p10-p90, n) "
    "| ratio | target | met |"
)


def markdown(rows: Sequence[Row]) -> str:
    """The results table in Markdown, one row per comparison."""
    lines = [HEADER, "|" + "---|" * 8]
    for row in rows:
        ratio = "-" if row.ratio is None else f"{row.ratio:.2f}x"
        met = {True: "yes", False: "**no**", None: "-"}[row.met]
        comparison = "-" if row.comparison is None else row.comparison.text()
        metric = f"{row.metric} ({row.notes})" if row.notes else row.metric
        lines.append(
            f"| {row.section} | {metric} | {row.ivkgen.text()} | {row.comparison_name} "
            f"| {comparison} | {ratio} | {row.target} | {met} |"
        )
    return "\n".join(lines) + "\n"
