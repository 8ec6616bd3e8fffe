"""Outputs of ``lrviz compare``: an overlay or grid figure, a wide table, a summary."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import numpy as np

from lrviz import __version__
from lrviz.compare import SUMMARY_HEADER, Summary, wide_columns
from lrviz.render import FIGURE_SUFFIXES, escape
from lrviz.render.data import write_json_document, write_table_csv
from lrviz.render.figure import (
    METADATA,
    PALETTE,
    linear_lr_ticks,
    literal_text,
    log_is_clearer,
    steps_post,
    style_axes,
)
from lrviz.render.files import Writer, write_files

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from lrviz.trace import Trace

_LINESTYLES = ("-", "--", ":", "-.")


def _log_y(traces: Sequence[Trace]) -> bool:
    """A spec's (or the command line's) choice, else the rule of a single figure applied to
    every curve together."""
    chosen = {t.spec.plot.log_y for t in traces} - {None}
    if chosen:
        return True in chosen
    return log_is_clearer(np.concatenate([t.lrs.ravel() for t in traces]))


def figure(traces: Sequence[Trace], layout: str = "overlay", title: str | None = None) -> Figure:
    """Every schedule's lr on one axes (``overlay``) or one panel each (``grid``)."""
    with literal_text():
        return _figure(traces, layout, title)


def _figure(traces: Sequence[Trace], layout: str, title: str | None) -> Figure:
    from matplotlib.figure import Figure

    length = max(t.steps for t in traces)
    if layout == "grid":
        cols = 2 if len(traces) > 1 else 1
        rows = -(-len(traces) // cols)
        fig = Figure(figsize=(4.2 * cols, 2.4 * rows + 0.5), layout="constrained")
        grid = fig.subplots(rows, cols, sharex=True, sharey=True, squeeze=False)
        axes = grid.ravel()
        for ax in axes[len(traces):]:
            ax.set_visible(False)
    else:
        fig = Figure(figsize=(8, 4), layout="constrained")
        axes = np.array([fig.subplots()] * len(traces))
    log = _log_y(traces)
    for i, (ax, trace) in enumerate(zip(axes, traces, strict=False)):
        color = PALETTE[i % len(PALETTE)]
        for g, row in enumerate(trace.lrs):
            x, y = steps_post(row)  # the last row holds through to x = its steps
            label = trace.spec.name if trace.groups == 1 else f"{trace.spec.name}/lr_{g}"
            ax.plot(x, y, color=color, linewidth=1.3, drawstyle="steps-post", label=label,
                    linestyle=_LINESTYLES[g % len(_LINESTYLES)])
        if layout == "grid":
            ax.set_title(trace.spec.title or trace.spec.name, fontsize=9, loc="left")
    shown = list(dict.fromkeys(axes[: len(traces)]))  # each distinct axes once
    for ax in shown:
        style_axes(ax, length)
        ylabel = "learning rate"
        if log:
            ax.set_yscale("log")
        else:
            ylabel = linear_lr_ticks(ax, np.concatenate([t.lrs.ravel() for t in traces]))
        ax.tick_params(labelsize=8)
    if layout == "grid":
        # Axis labels on the outer panels only: the left column, and the lowest panel of
        # each column (which shows its step ticks even when the panel below is empty).
        for index, ax in enumerate(shown):
            row, col = divmod(index, cols)
            if col == 0:
                ax.set_ylabel(ylabel, fontsize=9)
            if index + cols >= len(shown):
                ax.xaxis.set_tick_params(labelbottom=True)
                ax.set_xlabel("step", fontsize=9)
    else:
        shown[0].set_ylabel(ylabel, fontsize=9)
        shown[0].set_xlabel("step", fontsize=9)
        shown[0].legend(loc="best", frameon=False, fontsize=8)
    fig.suptitle(title or "lr schedules compared", x=0.01, ha="left", fontsize=11)
    torch_version = traces[0].torch_version
    fig.text(0.995, 0.002, f"lrviz {__version__} · torch {torch_version}", ha="right",
             va="bottom", fontsize=6.5, color="#888888")
    return fig


def summary_markdown(summaries: Sequence[Summary]) -> str:
    lines = ["| " + " | ".join(SUMMARY_HEADER) + " |",
             "|" + "|".join("---" if i < 2 else "---:" for i in range(len(SUMMARY_HEADER))) + "|"]
    lines.extend("| " + " | ".join(escape.markdown(cell) for cell in s.row()) + " |"
                 for s in summaries)
    return "\n".join(lines) + "\n"


def write_comparison(
    traces: Sequence[Trace], summaries: Sequence[Summary], paths: Sequence[Path],
    layout: str = "overlay", title: str | None = None,
) -> list[Path]:
    """Write the comparison to every path (figure, wide CSV, JSON, Markdown summary)."""
    import matplotlib

    def figure_file(handle: BinaryIO, suffix: str) -> None:
        with matplotlib.rc_context({"svg.hashsalt": "lrviz"}):
            figure(traces, layout, title).savefig(handle, format=suffix[1:], dpi=150,
                                                  metadata=METADATA[suffix])

    def json_file(handle: BinaryIO) -> None:
        meta = {"lrviz": __version__, "torch": traces[0].torch_version,
                "specs": [t.spec.to_dict() for t in traces]}
        head = {"meta": meta, "summary": [s.to_dict() for s in summaries]}
        write_json_document(handle, head, wide_columns(list(traces)))

    def writer(path: Path) -> Writer:
        suffix = path.suffix.lower()
        if suffix in FIGURE_SUFFIXES:
            return lambda handle: figure_file(handle, suffix)
        if suffix == ".csv":
            return lambda handle: write_table_csv(handle, wide_columns(list(traces)))
        if suffix == ".json":
            return json_file
        return lambda handle: handle.write(summary_markdown(summaries).encode("utf-8"))

    return write_files([(path, writer(path)) for path in paths])
