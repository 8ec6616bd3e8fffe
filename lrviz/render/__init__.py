"""Writers for a Trace: figures and data files, chosen by the output's suffix.

Renderers know traces, never torch. Every file is written to a temporary sibling and
renamed into place only when all outputs are ready, so a failure leaves nothing
half-written and never truncates a file that was there before.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from lrviz.errors import SpecError

if TYPE_CHECKING:
    import numpy as np

    from lrviz.trace import Trace

FIGURE_SUFFIXES = (".png", ".svg", ".pdf")
DATA_SUFFIXES = (".csv", ".json", ".md")
SUFFIXES = FIGURE_SUFFIXES + DATA_SUFFIXES


def check_outputs(paths: Sequence[Path], flag: str = "-o") -> None:
    """Refuse, before anything runs, an output lrviz could not write."""
    for path in paths:
        where = f"{flag} {path}"
        if path.suffix.lower() not in SUFFIXES:
            raise SpecError(
                f"unknown output format {path.suffix or '(no suffix)'!r}; "
                f"expected one of {' '.join(SUFFIXES)}",
                where,
            )
        if path.is_dir():
            raise SpecError("is a folder; expected a file name", where)
        parent = path.parent if str(path.parent) else Path(".")
        if not parent.is_dir():
            raise SpecError(f"the folder {parent} does not exist", where)
        if not os.access(parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
            raise SpecError("not writable", where)


def write_outputs(
    trace: Trace, paths: Sequence[Path], rows: np.ndarray | None = None
) -> list[Path]:
    """Write ``trace`` to every path, all or nothing; returns the paths written.

    ``rows`` limits the tables (``.csv``, ``.md``) to those rows; figures and JSON
    always hold every row.
    """
    from lrviz.render import data

    def write(path: Path, final: Path) -> None:
        suffix = path.suffix.lower()
        if suffix in FIGURE_SUFFIXES:
            from lrviz.render.figure import save_figure

            save_figure(trace, path)
        elif suffix == ".csv":
            data.write_csv(trace, path, rows)
        elif suffix == ".json":
            data.write_json(trace, path)
        else:
            data.write_markdown(trace, path, rows)

    return write_atomically(paths, write)


def write_atomically(
    paths: Sequence[Path], write: Callable[[Path, Path], None]
) -> list[Path]:
    """Call ``write(temporary, path)`` for each path, then rename them all into place.

    The temporary file is a sibling of the path with the same suffix.

    Nothing is renamed unless every write succeeded, and the temporary files never
    outlive the call, so a failure leaves the folder as it was.
    """
    staged: list[tuple[Path, Path]] = []
    try:
        for path in paths:
            # Same folder (so the rename is atomic), same suffix (so writers see the format).
            temp = path.with_name(f".{path.stem}.{os.getpid()}.tmp{path.suffix}")
            staged.append((temp, path))
            write(temp, path)
        for temp, path in staged:
            os.replace(temp, path)
    except OSError as exc:
        finals = {str(temp): str(path) for temp, path in staged}
        where = finals.get(str(exc.filename), str(exc.filename or ""))
        raise SpecError(f"cannot write the output ({exc.strerror or exc})", where) from None
    finally:
        for temp, _ in staged:
            if temp.exists():
                temp.unlink()
    return [path for _, path in staged]
