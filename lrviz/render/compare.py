"""Outputs of ``lrviz compare``: an overlay or grid figure, a wide table, a summary."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import numpy as np

from lrviz import __version__
from lrviz.compare import SUMMARY_HEADER, Summary, length_of, wide_columns
from lrviz.compare_runs import LoggedCurve, RunSummary
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
_MARKED = 120  # a logged run with at most this many points shows each as a dot

def _values(item: Trace | LoggedCurve) -> np.ndarray:
    return item.lr if isinstance(item, LoggedCurve) else item.lrs.ravel()


def _log_y(traces: Sequence[Trace | LoggedCurve], log_y: bool | None = None) -> bool:
    """A spec's (or the command line's) choice, else the rule of a single figure applied to
    every curve together, logged ones included."""
    chosen = {t.spec.plot.log_y for t in traces if not isinstance(t, LoggedCurve)} - {None}
    if log_y is not None:
        chosen = {log_y}
    if chosen:
        return True in chosen
    return log_is_clearer(np.concatenate([_values(t) for t in traces]))


def figure(traces: Sequence[Trace | LoggedCurve], layout: str = "overlay",
           title: str | None = None, log_y: bool | None = None) -> Figure:
    """Every schedule's lr on one axes (``overlay``) or one panel each (``grid``); a logged
    run's lr at the steps it logged, joined by a thin line (what it was in between the log
    does not say), each point a dot when there are few."""
    with literal_text():
        return _figure(traces, layout, title, log_y)


def _draw_run(ax: Any, item: LoggedCurve, color: str) -> None:
    few = len(item.run) <= _MARKED
    # step k's lr holds over [k, k + 1) on the spec's steps: the point sits in its middle,
    # as in verify's overlay
    ax.plot(item.x + 0.5, item.lr, color=color, linewidth=0.9, alpha=0.9, zorder=3,
            marker="o" if few else None, markersize=3.2, markerfacecolor="white",
            markeredgewidth=1.0, label=f"{item.name} (logged)")


def _figure(traces: Sequence[Trace | LoggedCurve], layout: str, title: str | None,
            log_y: bool | None) -> Figure:
    from matplotlib.figure import Figure

    length = max(length_of(t) for t in traces)
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
    log = _log_y(traces, log_y)
    for i, (ax, trace) in enumerate(zip(axes, traces, strict=False)):
        color = PALETTE[i % len(PALETTE)]
        if isinstance(trace, LoggedCurve):
            _draw_run(ax, trace, color)
            if layout == "grid":
                ax.set_title(f"{trace.name} (logged {trace.run.tag})", fontsize=9, loc="left")
            continue
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
            ylabel = linear_lr_ticks(ax, np.concatenate([_values(t) for t in traces]))
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
    fig.text(0.995, 0.002, _footer(traces), ha="right", va="bottom", fontsize=6.5,
             color="#888888")
    return fig


def _torch_version(traces: Sequence[Trace | LoggedCurve]) -> str | None:
    """The torch the specs ran on; None when every input is a logged run."""
    return next((t.torch_version for t in traces if not isinstance(t, LoggedCurve)), None)


def _footer(traces: Sequence[Trace | LoggedCurve]) -> str:
    version = _torch_version(traces)
    return f"lrviz {__version__}" + (f" · torch {version}" if version else "")


def summary_markdown(summaries: Sequence[Summary | RunSummary]) -> str:
    lines = ["| " + " | ".join(SUMMARY_HEADER) + " |",
             "|" + "|".join("---" if i < 2 else "---:" for i in range(len(SUMMARY_HEADER))) + "|"]
    lines.extend("| " + " | ".join(escape.markdown(cell) for cell in s.row()) + " |"
                 for s in summaries)
    return "\n".join(lines) + "\n"


def write_comparison(
    traces: Sequence[Trace | LoggedCurve], summaries: Sequence[Summary | RunSummary],
    paths: Sequence[Path], layout: str = "overlay", title: str | None = None,
    log_y: bool | None = None,
) -> list[Path]:
    """Write the comparison to every path (figure, wide CSV, JSON, Markdown summary).

    The JSON's ``meta.specs`` holds the specs; ``meta.runs`` (only when there are runs)
    each run's name, file, format and tag."""
    import matplotlib

    def figure_file(handle: BinaryIO, suffix: str) -> None:
        with matplotlib.rc_context({"svg.hashsalt": "lrviz"}):
            figure(traces, layout, title, log_y).savefig(handle, format=suffix[1:], dpi=150,
                                                  metadata=METADATA[suffix])

    def json_file(handle: BinaryIO) -> None:
        meta: dict[str, Any] = {
            "lrviz": __version__, "torch": _torch_version(traces),
            "specs": [t.spec.to_dict() for t in traces if not isinstance(t, LoggedCurve)]}
        runs = [s.meta() for s in summaries if isinstance(s, RunSummary)]
        if runs:
            meta["runs"] = runs
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
