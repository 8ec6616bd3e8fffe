"""The schedule as a matplotlib figure, saved so that the same trace gives the same bytes.

One renderer for every command: the lr (a line per param group), momentum in its own
panel when the scheduler moves it, the metric fed to ReduceLROnPlateau in another, and
the schedule's events as thin vertical lines. Uses ``matplotlib.figure.Figure`` directly
(no pyplot): no global state, no GUI backend.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import numpy as np

from lrviz import __version__
from lrviz.events import Event, events
from lrviz.trace import Trace

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

# Okabe-Ito: distinguishable with the common colour-vision deficiencies.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
EVENT_COLOR = "#999999"
# Above this many points a line is drawn as a per-bucket min/max envelope: the picture
# is the same at any sensible resolution, and peaks and troughs are never dropped.
_MAX_POINTS = 8000
_MAX_EVENT_LABELS = 8  # more labelled events than this would overlap at README width
_MAX_EVENT_LINES = 120
_MAX_FINDINGS = 4  # findings listed under the figure; `lrviz check` lists them all
_FINDING_STYLE = {"error": ("X", "#C00000"), "warning": ("^", PALETTE[4])}
LOG_DECADES = 4.0  # an lr spanning more decades than this is drawn on a log axis

METADATA: dict[str, dict[str, Any]] = {
    ".png": {"Software": None},
    ".svg": {"Date": None},
    ".pdf": {"CreationDate": None, "ModDate": None, "Producer": None, "Creator": None},
}


def envelope(values: np.ndarray, max_points: int = _MAX_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) to draw for ``values``: all points, or the min and max of each bucket."""
    n = len(values)
    if n <= max_points:
        return np.arange(n), values
    size = -(-n // (max_points // 2))
    starts = np.arange(0, n, size)
    low = np.minimum.reduceat(values, starts)
    high = np.maximum.reduceat(values, starts)
    x = np.repeat(starts, 2).astype(float)
    x[1::2] += (size - 1) / 2
    y = np.empty(2 * len(starts))
    y[0::2], y[1::2] = high, low
    return x, y


def wants_log_y(trace: Trace) -> bool:
    """The spec's choice, else log when the positive lr spans many decades."""
    chosen = trace.spec.plot.log_y
    if chosen is not None:
        return chosen
    lrs = trace.lrs
    if not np.isfinite(lrs).all() or (lrs <= 0).any():
        return False
    return bool(np.log10(lrs.max() / lrs.min()) > LOG_DECADES)


def summary(trace: Trace) -> str:
    """initial, peak (and where) and final lr of the first param group."""
    lr = trace.lrs[0]
    peak = int(np.argmax(lr))
    return (f"initial {lr[0]:.3g} · peak {lr[peak]:.3g} at step {peak} · "
            f"final {lr[-1]:.3g}")


def figure(trace: Trace, marks: list[Event] | None = None) -> Figure:
    """The figure of a trace; ``marks`` defaults to the schedule's events."""
    from matplotlib.figure import Figure

    spec = trace.spec
    if marks is None:  # cuts ReduceLROnPlateau skipped are for the table, not the figure
        marks = [e for e in events(spec, trace) if e.kind != "skip"]
    panels = ["lr"]
    if trace.momenta is not None:
        panels.append("momentum")
    if trace.metric is not None:
        panels.append("metric")
    width, height = spec.plot.size or (8.0, 3.2 + 1.6 * (len(panels) - 1))
    ratios = [2.0] + [1.0] * (len(panels) - 1)
    fig = Figure(figsize=(width, height), layout="constrained")
    axes = fig.subplots(len(panels), 1, sharex=True, squeeze=False,
                        gridspec_kw={"height_ratios": ratios})[:, 0]
    by_name = dict(zip(panels, axes, strict=True))

    _draw_lr(by_name["lr"], trace)
    if "momentum" in by_name and trace.momenta is not None:
        _draw_rows(by_name["momentum"], trace.momenta, linestyle="--")
        by_name["momentum"].set_ylabel(trace.momentum_name)
    if "metric" in by_name and trace.metric is not None:
        _draw_metric(by_name["metric"], trace)
    for ax in axes:
        style_axes(ax, trace.steps)
        _draw_events(ax, marks, label=ax is axes[0])
    _draw_findings(fig, by_name["lr"], trace)
    axes[-1].set_xlabel("step")
    if spec.steps_per_epoch > 1:
        per = spec.steps_per_epoch
        top = axes[0].secondary_xaxis("top", functions=(lambda s: s / per, lambda e: e * per))
        top.set_xlabel("epoch", fontsize=8)
        top.tick_params(labelsize=8)
    title = spec.title or f"{spec.name}: {spec.scheduler.type}"
    fig.suptitle(title, x=0.01, ha="left", fontsize=11)
    axes[0].set_title(summary(trace), loc="right", fontsize=8, color="#555555")
    fig.text(0.995, 0.002, f"lrviz {__version__} · torch {trace.torch_version}",
             ha="right", va="bottom", fontsize=6.5, color="#888888")
    return fig


def _draw_rows(ax: Axes, rows: np.ndarray, **style: Any) -> None:
    # steps-post: the value of row k holds for all of training step k.
    for i, row in enumerate(rows):
        x, y = envelope(row)
        ax.plot(x, y, color=PALETTE[i % len(PALETTE)], linewidth=1.3, drawstyle="steps-post",
                **style)


def _draw_lr(ax: Axes, trace: Trace) -> None:
    _draw_rows(ax, trace.lrs)
    if trace.groups > 1:
        for i, line in enumerate(ax.get_lines()):
            line.set_label(f"group {i} (initial lr {trace.lrs[i, 0]:.3g})")
        ax.legend(loc="best", frameon=False, fontsize=8)
    if wants_log_y(trace):
        ax.set_yscale("log")
    else:
        ax.ticklabel_format(axis="y", style="sci", scilimits=(-3, 4), useMathText=True)
    ax.set_ylabel("learning rate")


def _draw_metric(ax: Axes, trace: Trace) -> None:
    """The metric fed, the best so far, the band a value must clear, cooldowns and cuts."""
    from lrviz.plateau import replay

    assert trace.metric is not None
    fed = np.flatnonzero(~np.isnan(trace.metric))
    ax.plot(fed, trace.metric[fed], color=PALETTE[2], linewidth=1.0, label="metric fed")
    decisions = replay(trace)
    if decisions:
        rows = np.array([d.row for d in decisions])
        best = np.array([d.best for d in decisions])
        bar = np.array([d.bar for d in decisions])
        ax.plot(rows, best, color="#333333", linewidth=0.9, drawstyle="steps-post",
                label="best so far")
        ax.fill_between(rows, best, bar, step="post", color="#333333", alpha=0.15,
                        linewidth=0, label="threshold to beat")
        for d in decisions:
            if d.cooldown:
                ax.axvspan(d.row - 0.5, d.row + 0.5, color=PALETTE[5], alpha=0.12, linewidth=0)
        cuts = [d for d in decisions if d.reduced]
        ax.plot([d.row for d in cuts], [d.metric for d in cuts], linestyle="none",
                marker="v", color=PALETTE[1], markersize=5, label="lr cut after this value")
        ax.legend(loc="upper right", frameon=False, fontsize=6.5, ncol=2)
    ax.set_ylabel("metric")


def _draw_events(ax: Axes, marks: list[Event], label: bool) -> None:
    if len(marks) > _MAX_EVENT_LINES:
        return
    for event in marks:
        ax.axvline(event.step, color=EVENT_COLOR, linewidth=0.7, linestyle=":", zorder=0)
    if not label:
        return
    # A repeated label (every cycle's peak, every StepLR drop) is written once, at its first.
    firsts: dict[str, int] = {}
    for event in marks:
        firsts.setdefault(_short(event), event.step)
    if len(firsts) > _MAX_EVENT_LABELS:
        return
    transform = ax.get_xaxis_transform()
    for text, step in firsts.items():
        ax.text(step, 0.98, f" {text} ", transform=transform, fontsize=6.5, color="#555555",
                rotation=90, ha="left", va="top",
                bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 0.5})


def _draw_findings(fig: Figure, ax: Axes, trace: Trace) -> None:
    """What ``lrviz check`` would warn about: a marker where it happens, a line under the
    figure saying what it is."""
    from matplotlib.lines import Line2D

    found = [f for f in trace.findings if f.severity in _FINDING_STYLE]
    if not found:
        return
    handles, labels = [], []
    for f in found[:_MAX_FINDINGS]:
        marker, color = _FINDING_STYLE[f.severity]
        style: dict[str, Any] = {"marker": marker, "color": color, "markersize": 7,
                                 "linestyle": "none", "markeredgecolor": "white",
                                 "markeredgewidth": 0.6}
        if f.step is not None and 0 <= f.step < trace.steps:
            lr = float(trace.lrs[0, f.step])
            y = lr if np.isfinite(lr) and (lr > 0 or ax.get_yscale() == "linear") else None
            ax.plot([f.step], [y if y is not None else 0], zorder=5, clip_on=False,
                    transform=ax.transData if y is not None else ax.get_xaxis_transform(),
                    **style)
        at = f" at step {f.step}" if f.step is not None else ""
        text = f"{f.severity}{at}: {f.message}"
        labels.append(text if len(text) <= 110 else text[:109] + "…")
        handles.append(Line2D([], [], **style))
    if len(found) > _MAX_FINDINGS:
        labels[-1] += f"  (+{len(found) - _MAX_FINDINGS} more: lrviz check)"
    fig.legend(handles, labels, loc="outside lower left", frameon=False, fontsize=6.5,
               handletextpad=0.3, borderaxespad=0.2)


def _short(event: Event) -> str:
    text = event.label.split(": ", 1)[-1] if ": " in event.label else event.label
    return text if len(text) <= 32 else text[:31] + "…"


def style_axes(ax: Axes, steps: int) -> None:
    ax.grid(True, color="#e5e5e5", linewidth=0.6)
    ax.set_xlim(0, max(1, steps - 1))
    ax.spines[["top", "right"]].set_visible(False)


def save_figure(trace: Trace, path: Path | BinaryIO, suffix: str | None = None) -> None:
    """Save the trace's figure as ``suffix`` (default: the path's), with no dates inside."""
    import matplotlib

    suffix = (suffix or Path(str(path)).suffix).lower()
    with matplotlib.rc_context({"svg.hashsalt": "lrviz", "path.simplify": True}):
        fig = figure(trace)
        fig.savefig(path, format=suffix[1:], metadata=METADATA[suffix],
                    dpi=trace.spec.plot.dpi or 150)


def render_bytes(trace: Trace, suffix: str) -> bytes:
    """The figure file's bytes, without touching the disk."""
    buffer = io.BytesIO()
    save_figure(trace, buffer, suffix)
    return buffer.getvalue()
