"""Data files: CSV, JSON and Markdown, with floats that read back to the same float.

Each writer takes an open binary file and writes the columns in chunks of rows, so
memory stays near the trace's own arrays however long the run.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import IO, TYPE_CHECKING, Any, BinaryIO

import numpy as np

from lrviz import __version__
from lrviz.render import escape

if TYPE_CHECKING:
    from lrviz.trace import Trace

CHUNK_ROWS = 65_536  # rows turned into text at a time


def column_cells(values: np.ndarray) -> list[str]:
    """Each value as text: ``repr`` of the Python float (exact round trip), '' for NaN."""
    if values.dtype.kind in "iu":
        return list(map(str, values.tolist()))
    return ["" if v != v else repr(v) for v in values.tolist()]


@contextmanager
def text_file(handle: BinaryIO) -> Iterator[IO[str]]:
    """``handle`` as UTF-8 text with ``\\n`` line ends, flushed (and left open) at the end."""
    text = io.TextIOWrapper(handle, encoding="utf-8", newline="")
    try:
        yield text
    finally:
        text.flush()
        text.detach()


def write_table_csv(handle: BinaryIO, columns: Sequence[tuple[str, np.ndarray]]) -> None:
    """Columns of equal length as CSV: a header of names (made safe for spreadsheets),
    then the values, a chunk of rows at a time."""
    with text_file(handle) as out:
        # Names are text from specs: the csv module quotes them. Values are numbers (or
        # empty), which never need quoting: joined directly, as that is much faster.
        csv.writer(out, lineterminator="\n").writerow(
            [escape.csv_cell(name) for name, _ in columns])
        length = len(columns[0][1]) if columns else 0
        for start in range(0, length, CHUNK_ROWS):
            cells = [column_cells(values[start:start + CHUNK_ROWS]) for _, values in columns]
            out.write("\n".join(map(",".join, zip(*cells, strict=True))) + "\n")


def csv_text(trace: Trace, rows: np.ndarray | None = None) -> str:
    """The trace as CSV text (README "What a row means"), every row or only ``rows``."""
    buffer = io.BytesIO()
    write_csv(trace, buffer, rows)
    return buffer.getvalue().decode("utf-8")


def write_csv(trace: Trace, handle: BinaryIO, rows: np.ndarray | None = None) -> None:
    cols = trace.columns()
    if rows is not None:
        cols = [(name, values[rows]) for name, values in cols]
    write_table_csv(handle, cols)


def meta(trace: Trace) -> dict[str, Any]:
    """What made these numbers: versions and the normalised spec."""
    return {"lrviz": __version__, "torch": trace.torch_version, "spec": trace.spec.to_dict()}


def finite(value: Any) -> Any:
    """``value`` with every float that is NaN or infinite as None (JSON's null)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    return value


def write_json_document(handle: BinaryIO, head: dict[str, Any],
                        series: Sequence[tuple[str, np.ndarray]]) -> None:
    """``{**head, "series": {name: [values]}}``, the series written a chunk at a time.

    Strict JSON: a value that is NaN or infinite (an lr that overflowed) is null.
    The bytes equal ``json.dumps`` of the whole document.
    """
    with text_file(handle) as out:
        head_text = json.dumps(finite(head), allow_nan=False)
        out.write(head_text[:-1] + (", " if head else "") + '"series": {')
        for i, (name, values) in enumerate(series):
            out.write((", " if i else "") + json.dumps(name) + ": [")
            for start in range(0, len(values), CHUNK_ROWS):
                chunk = values[start:start + CHUNK_ROWS]
                items = chunk.tolist()
                if chunk.dtype.kind == "f" and not np.isfinite(chunk).all():
                    items = finite(items)
                out.write((", " if start else "") + json.dumps(items, allow_nan=False)[1:-1])
            out.write("]")
        out.write("}}\n")


def write_json(trace: Trace, handle: BinaryIO) -> None:
    write_json_document(handle, {"meta": meta(trace)}, trace.columns())
