"""``lrviz verify``'s outputs: the overlay figure (plan and logs, a residual panel, the first
difference marked) and the side-by-side data (``diff.csv``, ``diff.json``).

Renderers read comparisons made by :mod:`lrviz.verify`; they never import torch or the
engine. Every file goes through :mod:`lrviz.render.files`.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import numpy as np

from lrviz import __version__
from lrviz.render import FIGURE_SUFFIXES, escape, files
from lrviz.render.data import finite, text_file

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from lrviz.verify import Comparison

SUFFIXES = (*FIGURE_SUFFIXES, ".csv", ".json")
HEADER = ("run", "step", "plan_step", "logged", "plan", "difference")
_MAX_POINTS = 8000  # more logged points than this are drawn as a line without markers


def check_outputs(paths: Sequence[Path], flag: str = "-o") -> None:
    """Refuse, before any work, an output ``verify`` could not write."""
    files.check_outputs(paths, SUFFIXES, flag)


def write_outputs(comparisons: Sequence[Comparison], paths: Sequence[Path]) -> list[Path]:
    """Every output, all or nothing; the paths written."""
    def writer(path: Path) -> files.Writer:
        suffix = path.suffix.lower()
        if suffix in FIGURE_SUFFIXES:
            return lambda handle: save_overlay(comparisons, handle, suffix)
        if suffix == ".csv":
            return lambda handle: write_csv(comparisons, handle)
        return lambda handle: write_json(comparisons, handle)

    return files.write_files([(path, writer(path)) for path in paths])


def _difference(c: Comparison) -> np.ndarray:
    """logged - plan, the plan as the format stores it (float32 for event files)."""
    planned = c.planned.astype(np.float32).astype(np.float64) if c.run.float32 else c.planned
    return c.run.lr - planned


def _cells(values: np.ndarray) -> list[str]:
    return ["" if v != v else repr(v) for v in values.tolist()]


def write_csv(comparisons: Sequence[Comparison], handle: BinaryIO) -> None:
    """One row per logged point: the run, its step, the plan row, both lr and the difference."""
    with text_file(handle) as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(HEADER)
        for c in comparisons:
            name = escape.csv_cell(escape.one_line(c.run.source))
            columns = zip(c.run.steps.tolist(), c.rows.tolist(), _cells(c.run.lr),
                          _cells(c.planned), _cells(_difference(c)), strict=True)
            writer.writerows([name, *row] for row in columns)


def summary(c: Comparison) -> dict[str, Any]:
    """A run's verdict as plain data."""
    first = c.verdict.first
    return {
        "source": c.run.source, "format": c.run.format, "tag": c.run.tag,
        "float32": c.run.float32, "first_step": c.first_step, "follows": c.follows,
        "diagnosis": c.verdict.kind, "message": c.verdict.message,
        "factor": c.verdict.factor, "restart_at": c.verdict.at,
        "first_difference": None if first is None else {
            "step": int(c.run.steps[first]), "plan_step": int(c.rows[first]),
            "logged": float(c.run.lr[first]), "plan": float(c.planned[first])},
    }


def write_json(comparisons: Sequence[Comparison], handle: BinaryIO) -> None:
    """``{"meta": ..., "runs": [{verdict..., "series": {...}}]}``, strict JSON."""
    document = {
        "meta": {"lrviz": __version__, "plan": comparisons[0].name if comparisons else None},
        "runs": [{**summary(c), "series": {
            "step": c.run.steps.tolist(), "plan_step": c.rows.tolist(),
            "logged": c.run.lr.tolist(), "plan": c.planned.tolist()}} for c in comparisons],
    }
    with text_file(handle) as out:
        out.write(json.dumps(finite(document), allow_nan=False) + "\n")


def overlay(comparisons: Sequence[Comparison]) -> Figure:
    """Plan and logs on one axes, logged - plan below, the first difference of each run
    marked by a dashed line."""
    from lrviz.render.figure import literal_text

    with literal_text():
        return _overlay(comparisons)


def _overlay(comparisons: Sequence[Comparison]) -> Figure:
    from matplotlib.figure import Figure

    from lrviz.render.figure import PALETTE, steps_post, style_axes

    fig = Figure(figsize=(8, 5.2), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=(3, 1.3))
    plan = comparisons[0].plan
    x, y = steps_post(plan)
    top.plot(x, y, drawstyle="steps-post", color="#555555", linewidth=1.6,
             label=f"plan: {escape.one_line(comparisons[0].name)}")
    steps = plan.size
    labelled: set[int] = set()  # steps whose first difference is labelled
    for i, c in enumerate(comparisons):
        color = PALETTE[(i + 1) % len(PALETTE)]
        rows = c.rows + 0.5  # row k holds over [k, k + 1): the point sits in its middle
        many = len(c.run) > _MAX_POINTS
        style = {"linewidth": 0.9} if many else {"marker": "o", "markersize": 3,
                                                  "linewidth": 0.8}
        parts = Path(c.run.source).parts[-2:]  # metrics.csv alone would not say which run
        label = f"{escape.one_line('/'.join(parts) or c.run.source)}: {c.verdict.kind}"
        top.plot(rows, c.run.lr, color=color, label=label, **style)
        bottom.plot(rows, _difference(c), color=color, **style)
        steps = max(steps, int(c.rows.max()) + 1)
        if c.verdict.first is not None:
            at = float(c.rows[c.verdict.first])
            for ax in (top, bottom):
                ax.axvline(at, color=color, linestyle="--", linewidth=0.9)
            if int(at) not in labelled:  # one label a step, each below the one before
                labelled.add(int(at))
                top.annotate(f"first difference: plan step {int(at)}", (at, 1.0),
                             xycoords=("data", "axes fraction"),
                             xytext=(3, -10 - 10 * (len(labelled) - 1)),
                             textcoords="offset points", fontsize=7.5, color=color)
    for ax in (top, bottom):
        style_axes(ax, steps)
    bottom.axhline(0, color="#555555", linewidth=0.8)
    top.set_ylabel("learning rate")
    bottom.set_ylabel("logged - plan")
    bottom.set_xlabel("optimizer step (plan row)")
    top.legend(loc="best", fontsize=8, frameon=False)
    verdicts = ", ".join(sorted({c.verdict.kind for c in comparisons}))
    top.set_title(f"Did the run follow the plan? {verdicts}", fontsize=11)
    return fig


def save_overlay(comparisons: Sequence[Comparison], handle: Path | BinaryIO, suffix: str
                 ) -> None:
    """Save the overlay as ``suffix``, without dates inside (same inputs, same bytes)."""
    import matplotlib

    from lrviz.render.figure import METADATA

    with matplotlib.rc_context({"svg.hashsalt": "lrviz", "path.simplify": True}):
        overlay(comparisons).savefig(handle, format=suffix[1:], metadata=METADATA[suffix],
                                     dpi=150)
