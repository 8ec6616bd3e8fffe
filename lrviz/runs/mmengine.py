"""mmengine's ``vis_data/scalars.json`` (or the work folder holding it).

JSON lines; a training line holds ``lr`` (the lr the iteration used, read before it) and
``step``, which is the iteration counted from 1: step N is the plan's row N-1. mmengine
steps its schedulers once per iteration, so a row here is an iteration.
"""

from __future__ import annotations

from pathlib import Path

from lrviz.errors import SpecError
from lrviz.runs import table
from lrviz.runs.common import Options, read_inside
from lrviz.runs.model import LoggedRun

NAME = "mmengine"
DESCRIPTION = "an mmengine vis_data/scalars.json"
FILE = "scalars.json"


def _inner(folder: Path) -> list[Path]:
    found = [p for p in (folder / FILE, folder / "vis_data" / FILE) if p.is_file()]
    return found or sorted(folder.glob(f"*/vis_data/{FILE}"))


def detect(path: Path, data: bytes | None) -> int:
    if data is None:
        return 10 if _inner(path) else 0
    head = data[:4096]
    if head.lstrip()[:1] != b"{":
        return 0
    score = 6 if path.name == FILE else 0
    return score + (4 if b'"lr"' in head and b'"step"' in head else 0)


def read(path: Path, data: bytes | None, options: Options) -> LoggedRun:
    if data is None:
        found = _inner(path)
        if len(found) > 1:
            runs = ", ".join(p.parent.parent.name for p in found[:8])
            raise SpecError(f"holds {len(found)} runs ({runs}); name one run's folder",
                            str(path))
        folder, path = path, found[0]
        data = read_inside(folder, path, options, binary=True)  # type: ignore[assignment]
    options = Options(options.tag, options.step_column or "step", options.lr_column,
                      options.allowed)
    return table.read(path, data, options, first_step=1, name=NAME, expected=DESCRIPTION)
