"""The lr curve drawn in the terminal with braille characters, axes labelled with values.

Each character cell holds 2 x 4 dots. Every dot column covers a run of steps and lights
the dots from the lowest to the highest lr in it (joined to the column before), so steps,
peaks and troughs survive at any width. Colour comes from rich, which honours NO_COLOR
and leaves it out when the output is not a terminal.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from rich.console import Console
from rich.text import Text

if TYPE_CHECKING:
    from lrviz.trace import Trace


_BASE = 0x2800
# bit of the dot at (column 0..1, row 0..3) within one braille cell
_BITS = ((0x01, 0x02, 0x04, 0x40), (0x08, 0x10, 0x20, 0x80))
_COLORS = ("blue", "red", "green", "magenta", "yellow", "cyan")
_LABEL_WIDTH = 10


def _scale(values: np.ndarray, log: bool) -> np.ndarray:
    return np.log10(values) if log else values


def _fmt(value: float) -> str:
    return f"{value:.3g}"


def braille_lines(trace: Trace, width: int, height: int, log: bool = False) -> list[Text]:
    """The plot area: ``height`` lines of ``width`` braille characters."""
    dots_x, dots_y = 2 * width, 4 * height
    cells = np.zeros((height, width), dtype=np.int64)
    owner = np.full((height, width), -1)
    with np.errstate(all="ignore"):
        data = _scale(trace.lrs, log)
    low, high = _finite_range(data)  # an lr that overflowed to inf is left out
    span = high - low or 1.0
    bounds = np.linspace(0, trace.steps, dots_x + 1).astype(int)

    def dot_row(value: float) -> int:
        return math.floor((high - value) / span * (dots_y - 1) + 0.5)

    for group, row in enumerate(data):
        previous: int | None = None
        for col in range(dots_x):
            start, stop = bounds[col], max(bounds[col + 1], bounds[col] + 1)
            chunk = row[min(start, trace.steps - 1):stop]
            chunk = chunk[np.isfinite(chunk)]
            if not chunk.size:
                previous = None
                continue
            top, bottom = dot_row(chunk.max()), dot_row(chunk.min())
            if previous is not None:
                top, bottom = min(top, previous), max(bottom, previous)
            previous = dot_row(chunk[-1])
            for y in range(top, bottom + 1):
                cell = (y // 4, col // 2)
                cells[cell] |= _BITS[col % 2][y % 4]
                if owner[cell] < 0:
                    owner[cell] = group
    lines = []
    for r in range(height):
        text = Text()
        for c in range(width):
            style = _COLORS[owner[r, c] % len(_COLORS)] if owner[r, c] >= 0 else ""
            text.append(chr(_BASE + int(cells[r, c])), style=style)
        lines.append(text)
    return lines


def render(trace: Trace, console: Console, height: int = 12, log: bool = False) -> None:
    """Print the curve with a y axis (lr values) and an x axis (steps) to ``console``."""
    width = max(20, console.width - _LABEL_WIDTH - 8)
    lines = braille_lines(trace, width, height, log)
    low, high = _finite_range(trace.lrs)
    ticks = {0: high, height // 2: _middle(low, high, log), height - 1: low}
    spec = trace.spec
    console.print(Text(spec.title or f"{spec.name}: {spec.scheduler.type}", style="bold"))
    for r, line in enumerate(lines):
        label = _fmt(ticks[r]).rjust(_LABEL_WIDTH) if r in ticks else " " * _LABEL_WIDTH
        console.print(Text(f"{label} ┤" if r in ticks else f"{label} │") + line, crop=True)
    console.print(" " * _LABEL_WIDTH + " └" + "─" * width + " step")
    last = str(trace.steps)  # the last row holds until x = steps, as in the figures
    middle = str(trace.steps // 2)
    row = [" "] * (width + 2)
    row[: 1] = ["0"]
    start = width // 2 + 1 - len(middle) // 2
    row[start:start + len(middle)] = list(middle)
    row[width + 2 - len(last):] = list(last)
    console.print(" " * (_LABEL_WIDTH + 1) + "".join(row))
    if log:
        console.print(" " * (_LABEL_WIDTH + 2) + "(lr axis logarithmic)")


def _finite_range(values: np.ndarray) -> tuple[float, float]:
    finite = values[np.isfinite(values)]
    return (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)


def _middle(low: float, high: float, log: bool) -> float:
    if log and low > 0:
        return 10 ** ((math.log10(low) + math.log10(high)) / 2)
    return (low + high) / 2
