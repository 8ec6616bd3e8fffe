"""The schedule as a table: the rows that matter, with the event behind each change."""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING, BinaryIO

import numpy as np
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from lrviz.events import Event
from lrviz.render import escape

if TYPE_CHECKING:
    from lrviz.trace import Trace

# Beyond this many change points (a cosine changes at every step) the default table is
# thinned to the events and evenly spaced rows; --all and --every K show more.
MAX_DEFAULT_ROWS = 40


def select_rows(trace: Trace, marks: list[Event], every: int | None = None,
                everything: bool = False) -> tuple[np.ndarray, str | None]:
    """The row indices to show, and a note when the default selection was thinned."""
    if everything:
        return np.arange(trace.steps), None
    if every is not None:
        rows = np.arange(0, trace.steps, min(every, trace.steps))
        return np.union1d(rows, [trace.steps - 1]), None
    changes = trace.change_rows()
    if len(changes) <= MAX_DEFAULT_ROWS:  # with the events that left the lr alone
        at = np.array([e.step for e in marks if e.step < trace.steps], dtype=np.int64)
        return np.union1d(changes, at), None
    keep = {int(changes[0]), int(changes[-1])} | {e.step for e in marks if e.step < trace.steps}
    room = max(2, MAX_DEFAULT_ROWS - len(keep))
    keep |= {int(i) for i in changes[np.linspace(0, len(changes) - 1, room).astype(int)]}
    note = (f"the lr changes at {len(changes)} steps; showing {len(keep)} of them "
            "(--all for every row, --every K for every K-th)")
    return np.array(sorted(keep)), note


def event_labels(marks: list[Event]) -> dict[int, str]:
    """step -> the events at it, joined."""
    out: dict[int, str] = {}
    for event in marks:
        out[event.step] = f"{out[event.step]}; {event.label}" if event.step in out else event.label
    return out


# Tables are read by people: values are shown with this many significant digits, more
# only where fewer would show two different values of a column as the same text.
# Data files (CSV, JSON) keep the exact floats.
SHORT_DIGITS = 6


def short_cells(values: np.ndarray, digits: int = SHORT_DIGITS) -> list[str]:
    """Each value with ``digits`` significant digits ('' for NaN); a value whose text would
    equal that of a different value of the column gets more (up to ``repr``, exact)."""
    if values.dtype.kind in "iu":
        return list(map(str, values.tolist()))
    items = values.tolist()
    texts = ["" if v != v else _short(v, digits) for v in items]
    for width in range(digits + 1, 18):
        seen: dict[str, set[float]] = {}
        for text, value in zip(texts, items, strict=True):
            if value == value:
                seen.setdefault(text, set()).add(value)
        clashing = {text for text, found in seen.items() if len(found) > 1}
        if not clashing:
            return texts
        texts = [_short(v, width) if t in clashing else t for t, v in zip(texts, items,
                                                                          strict=True)]
    return ["" if v != v else repr(v) for v in items]


def _short(value: float, digits: int) -> str:
    return f"{value:.{digits}g}"


def cells(trace: Trace, rows: np.ndarray, marks: list[Event]) -> tuple[list[str], list[list[str]]]:
    """Header and text cells (short floats) of the selected rows, with an event column."""
    cols = trace.columns()
    header = [name for name, _ in cols] + ["event"]
    columns = [short_cells(values[rows]) for _, values in cols]
    labels = event_labels(marks)
    columns.append([labels.get(int(r), "") for r in rows])
    return header, [list(row) for row in zip(*columns, strict=True)]


def print_table(trace: Trace, rows: np.ndarray, marks: list[Event], console: Console) -> None:
    """The selected rows of a trace, with their events."""
    header, body = cells(trace, rows, marks)
    print_rows(header, body, console, left={"event"})


def print_rows(header: list[str], body: list[list[str]], console: Console,
               left: Collection[str] = ()) -> None:
    """A rich table on a terminal; aligned plain text (never cut) when piped."""
    if console.is_terminal:
        table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
        for name in header:
            table.add_column(name, justify="left" if name in left else "right",
                             overflow="fold")
        for row in body:  # as text: a name like "run[1]" is no rich markup
            table.add_row(*(Text(cell) for cell in row))
        console.print(table)
        return
    widths = [max(len(x) for x in [h, *(r[i] for r in body)]) for i, h in enumerate(header)]
    for line in [header, *body]:
        text = "  ".join(c.ljust(w) if header[i] in left else c.rjust(w)
                         for i, (c, w) in enumerate(zip(line, widths, strict=True)))
        console.print(text.rstrip(), markup=False, highlight=False, soft_wrap=True)


def markdown(trace: Trace, rows: np.ndarray, marks: list[Event]) -> str:
    """The same rows as a Markdown table."""
    header, body = cells(trace, rows, marks)
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join("---:" if h != "event" else "---" for h in header) + "|"]
    # Event labels may carry spec text (a class name): escaped like every spec text.
    lines.extend("| " + " | ".join([*row[:-1], escape.markdown(row[-1])]) + " |"
                 for row in body)
    return "\n".join(lines) + "\n"


def write_markdown(trace: Trace, handle: BinaryIO, rows: np.ndarray | None = None) -> None:
    """``rows``, by default the change points, as a Markdown table with the events."""
    from lrviz.events import events

    marks = events(trace.spec, trace)
    if rows is None:
        rows, _ = select_rows(trace, marks)
    handle.write(markdown(trace, rows, marks).encode("utf-8"))
