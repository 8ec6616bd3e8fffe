"""Data files: CSV, JSON and Markdown, with floats that read back to the same float."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from lrviz import __version__
from lrviz.trace import Trace


def column_cells(values: np.ndarray) -> list[str]:
    """Each value as text: ``repr`` of the Python float (exact round trip), '' for NaN."""
    if values.dtype.kind in "iu":
        return list(map(str, values.tolist()))
    return ["" if v != v else repr(v) for v in values.tolist()]


def csv_text(trace: Trace, rows: np.ndarray | None = None) -> str:
    """The trace as CSV text (SPEC section 5), every row or only ``rows``."""
    cols = trace.columns()
    names = [name for name, _ in cols]
    cells = [column_cells(values if rows is None else values[rows]) for _, values in cols]
    lines = [",".join(names)]
    lines.extend(",".join(row) for row in zip(*cells, strict=True))
    return "\n".join(lines) + "\n"


def write_csv(trace: Trace, path: Path, rows: np.ndarray | None = None) -> None:
    path.write_text(csv_text(trace, rows), encoding="utf-8")


def meta(trace: Trace) -> dict[str, Any]:
    """What made these numbers: versions and the normalised spec."""
    return {"lrviz": __version__, "torch": trace.torch_version, "spec": trace.spec.to_dict()}


def write_json(trace: Trace, path: Path) -> None:
    series = {}
    for name, values in trace.columns():
        items = values.tolist()
        if values.dtype.kind == "f":
            items = [None if math.isnan(v) else v for v in items]
        series[name] = items
    payload = {"meta": meta(trace), "series": series}
    path.write_text(json.dumps(payload) + "\n", encoding="utf-8")


def write_markdown(trace: Trace, path: Path, rows: np.ndarray | None = None) -> None:
    """``rows``, by default the change points, as a Markdown table with the events."""
    from lrviz.events import events
    from lrviz.render.table import markdown, select_rows

    marks = events(trace.spec, trace)
    if rows is None:
        rows, _ = select_rows(trace, marks)
    path.write_text(markdown(trace, rows, marks), encoding="utf-8")
