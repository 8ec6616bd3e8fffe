"""A CSV or JSON-lines table with a step and an lr column (W&B exports, hand-made logs).

The columns are found by their usual names (``step``, ``Step``, ``_step``,
``global_step``...; ``learning_rate``, ``train/learning_rate``, ``lr``...) or named with
``--step-column`` and ``--lr-column``. Which step is the plan's row 0 the table does not
say: both 0 and 1 are tried.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lrviz.errors import SpecError
from lrviz.runs.common import Options, decode, integer, make_run, number, pick_tag, shown
from lrviz.runs.model import LoggedRun

NAME = "table"
DESCRIPTION = "a CSV or JSON-lines table with a step and an lr column"
STEP_NAMES = ("step", "Step", "_step", "global_step", "trainer/global_step",
              "train/global_step", "iter", "iteration")
MAX_COLUMNS = 10_000


def detect(path: Path, data: bytes | None) -> int:
    if data is None:
        return 0
    return 1 if path.suffix.lower() in (".csv", ".tsv", ".jsonl", ".json", ".txt") else 0


def read(path: Path, data: bytes | None, options: Options, *, first_step: int | None = None,
         name: str = NAME, expected: str = DESCRIPTION, repeats: str = "equal") -> LoggedRun:
    source = str(path)
    if data is None:
        raise SpecError(f"is a folder; expected {expected}", source)
    text = decode(data, source, expected)
    rows = list(_rows(text, source, expected))
    columns: dict[str, None] = {}
    for _, row in rows:
        for key in row:
            columns.setdefault(key, None)
            if len(columns) > MAX_COLUMNS:
                raise SpecError(f"more than {MAX_COLUMNS} columns; expected {expected}", source)
    names = list(columns)
    step_column = options.step_column or next((n for n in STEP_NAMES if n in columns), None)
    if step_column is None or step_column not in columns:
        flag = "--step-column" if options.step_column else "no step column"
        raise SpecError(f"{flag}: expected one of {shown(names)}"
                        if options.step_column else
                        f"no step column (step, Step, _step, global_step, iter...); it has "
                        f"{shown(names)}: choose one with --step-column", source)
    lr_names = [n for n in names if n != step_column]
    tag = pick_tag(lr_names, options.lr_column or options.tag, source, "column",
                   "--lr-column")
    steps, values = [], []
    for line, row in rows:
        value = row.get(tag)
        if value is None or value == "":
            continue  # rows of other metrics
        where = f"line {line}"
        values.append(number(value, source, f"{where}, column {tag}")
                      if isinstance(value, str) else _json_number(value, source, where, tag))
        steps.append(integer(row.get(step_column), source, f"{where}, column {step_column}"))
    return make_run(steps, values, tag=tag, source=source, format=name, decimal=True,
                    first_step=first_step, repeats=repeats)


def _json_number(value: Any, source: str, where: str, tag: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SpecError(f"expected a number, got {shown([repr(value)])}",
                        f"{source}: {where}, {tag}")
    return float(value)


def _rows(text: str, source: str, expected: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, row) of a CSV file or of JSON lines."""
    if text.lstrip()[:1] == "{":
        for number_, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except (json.JSONDecodeError, RecursionError):
                raise SpecError(f"line {number_} is not a JSON object; expected {expected}",
                                source) from None
            if not isinstance(row, dict):
                raise SpecError(f"line {number_} is not a JSON object; expected {expected}",
                                source)
            yield number_, row
        return
    try:
        dialect: Any = "excel-tab" if "\t" in text.split("\n", 1)[0] else "excel"
        reader = csv.DictReader(io.StringIO(text, newline=""), dialect=dialect)
        if not reader.fieldnames:
            raise SpecError(f"empty; expected {expected}", source)
        for row in reader:
            yield reader.line_num, {k: v for k, v in row.items() if isinstance(k, str)}
    except csv.Error as exc:
        raise SpecError(f"not a readable CSV table ({exc}); expected {expected}",
                        source) from None
