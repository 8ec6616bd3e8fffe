"""Lightning's CSVLogger ``metrics.csv`` (or the version folder holding it).

LearningRateMonitor writes its ``lr-<Optimizer>`` columns (``lr-AdamW/pg2`` per param
group) on rows with an empty ``epoch``, on every batch: under gradient accumulation an
optimizer step appears once per micro-batch, with the same ``step``. ``step`` is the number
of optimizer steps taken, so it is the plan's row; of a repeated step the last row holds
the lr that optimizer step used.
"""

from __future__ import annotations

from pathlib import Path

from lrviz.runs import table
from lrviz.runs.common import Options, read_inside
from lrviz.runs.model import LoggedRun

NAME = "lightning"
DESCRIPTION = "a Lightning CSVLogger metrics.csv"
FILE = "metrics.csv"


def detect(path: Path, data: bytes | None) -> int:
    if data is None:
        return 10 if (path / FILE).is_file() else 0
    header = data[:4096].split(b"\n", 1)[0].decode("utf-8", "replace").strip().split(",")
    score = 5 if path.name == FILE else 0
    if "step" in header and "epoch" in header:
        score += 3
    if any(h.startswith("lr-") for h in header):
        score += 4
    return score


def read(path: Path, data: bytes | None, options: Options) -> LoggedRun:
    if data is None:
        path = path / FILE
        data = read_inside(path.parent, path, options, binary=True)  # type: ignore[assignment]
    options = Options(options.tag, options.step_column or "step", options.lr_column,
                      options.allowed)
    run = table.read(path, data, options, first_step=0, name=NAME, expected=DESCRIPTION,
                     repeats="last")
    return run
