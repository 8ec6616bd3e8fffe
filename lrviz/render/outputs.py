"""A trace's outputs, chosen by suffix: figures and data files, all or nothing."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from lrviz.render import FIGURE_SUFFIXES, SUFFIXES, files

if TYPE_CHECKING:
    import numpy as np

    from lrviz.trace import Trace


def check_outputs(paths: Sequence[Path], flag: str = "-o") -> None:
    """Refuse, before anything runs, an output lrviz could not write (or would write twice)."""
    files.check_outputs(paths, SUFFIXES, flag)


def write_outputs(
    trace: Trace, paths: Sequence[Path], rows: np.ndarray | None = None
) -> list[Path]:
    """Write ``trace`` to every path, all or nothing; returns the paths written.

    ``rows`` limits the tables (``.csv``, ``.md``) to those rows; figures and JSON
    always hold every row.
    """
    from lrviz.render import data, table

    def writer(path: Path) -> files.Writer:
        suffix = path.suffix.lower()
        if suffix in FIGURE_SUFFIXES:
            from lrviz.render.figure import save_figure

            return lambda handle: save_figure(trace, handle, suffix)
        if suffix == ".csv":
            return lambda handle: data.write_csv(trace, handle, rows)
        if suffix == ".json":
            return lambda handle: data.write_json(trace, handle)
        return lambda handle: table.write_markdown(trace, handle, rows)

    return files.write_files([(path, writer(path)) for path in paths])
