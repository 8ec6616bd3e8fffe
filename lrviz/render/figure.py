"""The schedule as a matplotlib figure, saved so that the same trace gives the same bytes.

One renderer for every command: the lr (a line per param group), momentum in its own
panel when the scheduler moves it, the metric fed to ReduceLROnPlateau in another, and
the schedule's events as thin vertical lines. Uses ``matplotlib.figure.Figure`` directly
(no pyplot): no global state, no GUI backend.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import numpy as np

from lrviz import __version__
from lrviz.events import Event, events

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from lrviz.trace import Trace

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
# The automatic lr scale. A linear axis flattens every row that sits within FLAT_BAND
# of its span above the bottom; when those rows cover more than a decade (a log axis
# would tell them apart) and make up more than FLAT_SHARE of the rows, the axis is log.
FLAT_BAND = 0.05
FLAT_SHARE = 0.4
# Event labels: written beside their line, in a band kept free of data at the top of the
# lr axes, in at most this many rows.
_LABEL_ROWS = 3
_LABEL_SIZE = 6.5  # points
_CHAR_WIDTH = 0.55  # average width of a character, in font sizes (DejaVu Sans)

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


def flattened_share(lrs: np.ndarray) -> float:
    """The share of rows a linear lr axis would flatten against its bottom, where a log
    axis would show them apart; 0 when a log axis cannot draw the values at all."""
    values = np.asarray(lrs, dtype=float).ravel()
    if not len(values) or not np.isfinite(values).all() or (values <= 0).any():
        return 0.0
    low, high = float(values.min()), float(values.max())
    flat = values[values - low <= FLAT_BAND * (high - low)]
    if high == low or flat.max() < 10 * low:  # less than a decade: log would not help
        return 0.0
    return len(flat) / len(values)


def log_is_clearer(lrs: np.ndarray) -> bool:
    """True when a log axis shows ``lrs`` better than a linear one (see FLAT_SHARE)."""
    return flattened_share(lrs) > FLAT_SHARE


def wants_log_y(trace: Trace) -> bool:
    """The spec's choice, else log when a linear axis would flatten much of the run."""
    chosen = trace.spec.plot.log_y
    if chosen is not None:
        return chosen
    return log_is_clearer(trace.lrs)


def summary(trace: Trace) -> str:
    """initial, peak (and where) and final lr; with several param groups the highest peak
    of any group (and which), and every group's final lr."""
    from lrviz.compare import per_group, short

    lrs = trace.lrs
    if trace.groups == 1:
        lr = lrs[0]
        peak = int(np.argmax(lr))
        return (f"initial {lr[0]:.3g} · peak {lr[peak]:.3g} at step {peak} · "
                f"final {lr[-1]:.3g}")
    group, step = np.unravel_index(int(np.argmax(lrs)), lrs.shape)
    return (f"{trace.groups} groups · peak {short(float(lrs[group, step]))} at step {step} "
            f"(group {group}) · final {per_group(tuple(lrs[:, -1].tolist()))}")


def figure(trace: Trace, marks: list[Event] | None = None) -> Figure:
    """The figure of a trace; ``marks`` defaults to the schedule's events."""
    with literal_text():
        return _figure(trace, marks)


@contextmanager
def literal_text() -> Iterator[None]:
    """Text created inside is drawn as written: a title's ``$`` never starts mathtext.

    Names and titles come from specs; ``$\\frac{1}{$`` would otherwise stop the drawing.
    Tick labels are made at draw time, outside, and keep their ``x10^5`` notation.
    """
    import matplotlib

    with matplotlib.rc_context({"text.parse_math": False}):
        yield


def _figure(trace: Trace, marks: list[Event] | None) -> Figure:
    from matplotlib.figure import Figure
    from matplotlib.layout_engine import ConstrainedLayoutEngine

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
    # The version note has the bottom strip to itself: constrained layout does not move
    # figure texts, so on a narrow figure the note ran into the x label.
    strip = 9.0 / (height * 72)
    fig = Figure(figsize=(width, height),
                 layout=ConstrainedLayoutEngine(rect=(0.0, strip, 1.0, 1.0 - strip)))
    axes = fig.subplots(len(panels), 1, sharex=True, squeeze=False,
                        gridspec_kw={"height_ratios": ratios})[:, 0]
    by_name = dict(zip(panels, axes, strict=True))

    _draw_lr(by_name["lr"], trace)
    if "momentum" in by_name and trace.momenta is not None:
        _draw_rows(by_name["momentum"], trace.momenta, linestyle="--")
        by_name["momentum"].set_ylabel(trace.momentum_name)
        # an offset ("1e-5+9.499e-1") is unreadable: plain values on the ticks
        by_name["momentum"].ticklabel_format(axis="y", style="plain", useOffset=False)
    if "metric" in by_name and trace.metric is not None:
        _draw_metric(by_name["metric"], trace)
    # Small figures get smaller axis text, and each y label fits its panel's height.
    small = width < 6.5 or height < 3.0
    plot_height = max(0.5, height - (1.0 if small else 1.2)) * 72
    for ax, ratio in zip(axes, ratios, strict=True):
        style_axes(ax, trace.steps)
        _draw_events(ax, marks, label=ax is axes[0], size=(width, height))
        if small:
            ax.tick_params(labelsize=8)
        label = ax.get_ylabel()
        room = plot_height * ratio / sum(ratios)
        ax.set_ylabel(label, fontsize=min(10.0 if not small else 9.0,
                                          max(6.0, room / (len(label) * _CHAR_WIDTH))))
    _draw_findings(fig, by_name["lr"], trace, width)
    x_axis = spec.plot.x or "step"
    axes[-1].set_xlabel(x_axis, fontsize=9 if small else 10)
    if x_axis != "step":
        _relabel_x(axes[-1], spec.plan.x_edges(x_axis), x_axis)
    elif spec.steps_per_epoch > 1:
        per = spec.steps_per_epoch
        top = axes[0].secondary_xaxis("top", functions=(lambda s: s / per, lambda e: e * per))
        top.set_xlabel("epoch", fontsize=8)
        top.tick_params(labelsize=8)
    title = spec.title or f"{spec.name}: {spec.scheduler.type}"
    fig.suptitle(_fit(title, width * 72 - 10, 11), x=0.01, ha="left", fontsize=11)
    axes[0].set_title(_fit(summary(trace), (width - 0.9) * 72, 8), loc="right", fontsize=8,
                      color="#555555")
    fig.text(0.995, 0.002, _version_note(trace),
             ha="right", va="bottom", fontsize=6.5, color="#888888")
    return fig


def _relabel_x(ax: Axes, edges: np.ndarray, axis: str) -> None:
    """Ticks at round values of ``axis`` (epochs, samples, tokens) on an axis of rows.

    The curves stay drawn by row; ``edges`` says where each row starts on the new axis
    (and where the run ends), and each tick goes where its value falls between rows.
    """
    from matplotlib.ticker import MaxNLocator

    rows = np.arange(len(edges))
    ticks = MaxNLocator(nbins=8, steps=[1, 2, 2.5, 5, 10],
                        integer=axis != "epoch").tick_values(edges[0], edges[-1])
    ticks = ticks[(ticks >= edges[0]) & (ticks <= edges[-1])]
    ax.set_xticks(np.interp(ticks, edges, rows), [_compact(t) for t in ticks])


def _compact(value: float) -> str:
    """A tick label: 2.5, 40k, 1.2M, 3B."""
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return f"{value / size:.4g}{suffix}"
    return f"{value:.4g}"


def steps_post(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) of a row-per-step line to draw with ``drawstyle="steps-post"``: row k holds
    for all of step k, so the last row is drawn through to x = steps, where the axis ends."""
    x, y = envelope(values)
    return np.append(x, len(values)), np.append(y, y[-1])


def _draw_rows(ax: Axes, rows: np.ndarray, **style: Any) -> None:
    for i, row in enumerate(rows):
        x, y = steps_post(row)
        ax.plot(x, y, color=PALETTE[i % len(PALETTE)], linewidth=1.3, drawstyle="steps-post",
                **style)


def group_label(trace: Trace, group: int) -> str:
    """A param group named by its configured lr (row 0 may be a warmup's start, or 0)."""
    from lrviz.compare import configured_lrs, short

    lr = configured_lrs(trace.spec)[group]
    if lr is None:  # CyclicLR, OneCycleLR: the scheduler sets the lr
        return f"group {group} (peak {short(float(np.max(trace.lrs[group])))})"
    return f"group {group} (lr {short(lr)})"


def _draw_lr(ax: Axes, trace: Trace) -> None:
    _draw_rows(ax, trace.lrs)
    if trace.groups > 1:
        for i, line in enumerate(ax.get_lines()):
            line.set_label(group_label(trace, i))
    if trace.lrs_resumed is not None:
        _draw_resumed(ax, trace)
    if trace.groups > 1 or trace.lrs_resumed is not None:
        ax.legend(loc="best", frameon=False, fontsize=8)
    if wants_log_y(trace):
        ax.set_yscale("log")
        ax.set_ylabel("learning rate")
    else:
        shown = trace.lrs if trace.lrs_resumed is None else np.vstack(
            [trace.lrs, trace.lrs_resumed])  # the ticks' unit fits both runs
        ax.set_ylabel(linear_lr_ticks(ax, shown))


RESUMED_STYLE: dict[str, Any] = {"linestyle": (0, (4, 2)), "linewidth": 1.6}
RESUME_MARK_COLOR = "#333333"


def resume_label(at: int, restore: str) -> str:
    """The resume marker's legend text (README "Resume")."""
    return f"resumed at step {at} (restore: {restore})"


def _draw_resumed(ax: Axes, trace: Trace) -> None:
    """The resumed process's lr from its first row on, dashed over the uninterrupted run,
    and the resume step marked. Rows before it are the same run, so they are not drawn
    twice. One group: the resumed line takes the second colour, so where the two runs part
    reads at a glance; several: each group keeps its colour, dashed."""
    assert trace.lrs_resumed is not None
    resume = trace.spec.resume
    assert resume is not None
    at, one = resume.at, trace.groups == 1
    if one:
        ax.get_lines()[0].set_label("uninterrupted run")
    for i, row in enumerate(trace.lrs_resumed):
        x, y = steps_post(row[at:])
        ax.plot(x + at, y, drawstyle="steps-post", zorder=3,
                color=PALETTE[1] if one else PALETTE[i % len(PALETTE)],
                label=f"resumed run ({resume.restore})" if one
                else f"{group_label(trace, i)}, resumed", **RESUMED_STYLE)
    ax.axvline(at, color=RESUME_MARK_COLOR, linewidth=1.0, linestyle="-", zorder=1,
               label=resume_label(at, resume.restore))


def linear_lr_ticks(ax: Axes, lrs: np.ndarray) -> str:
    """Plain tick labels on a linear lr axis; the axis label for them.

    Very small (or large) lrs are shown in units of a power of ten that the label names
    ("learning rate (x1e-5)"): matplotlib's own multiplier floats above the axis, where it
    runs into an epoch axis or a panel title, and its offsets ("1e-5+9.499e-1") are
    unreadable.
    """
    from matplotlib.ticker import FuncFormatter

    finite = np.abs(lrs[np.isfinite(lrs)])
    high = float(finite.max()) if finite.size else 0.0
    if high == 0 or 1e-3 <= high < 1e4:
        ax.ticklabel_format(axis="y", style="plain", useOffset=False)
        return "learning rate"
    power = int(np.floor(np.log10(high)))
    unit = 10.0 ** power
    ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value / unit:g}"))
    return f"learning rate (x1e{power})"


def _draw_metric(ax: Axes, trace: Trace) -> None:
    """The metric fed, the best so far, the band a value must clear, cooldowns and cuts."""
    from lrviz.plateau import decisions

    assert trace.metric is not None
    fed = np.flatnonzero(~np.isnan(trace.metric))
    # a long run is drawn as the lr line is: the min and max of each bucket of values
    x, y = envelope(trace.metric[fed])
    ax.plot(np.interp(x, np.arange(len(fed)), fed) if len(x) != len(fed) else fed, y,
            color=PALETTE[2], linewidth=1.0, label="metric fed")
    steps = decisions(trace)  # the replay keeps only the steps where something happens
    if steps:
        rows = np.array([d.row for d in steps])
        best = np.array([d.best for d in steps])
        bar = np.array([d.bar for d in steps])
        step: Any = "post"
        if len(rows) > _MAX_POINTS:  # a long noisy run improves at most steps: envelopes
            # of a few buckets per pixel; a filled polygon is never simplified when saved,
            # so the band takes fewer buckets and no steps of its own (both sub-pixel)
            rows, best, bar = _step_envelopes(rows, best, bar, points=_MAX_POINTS // 4)
            step = None
        ax.plot(rows, best, color="#333333", linewidth=0.9,
                drawstyle="steps-post" if step else "default", label="best so far")
        ax.fill_between(rows, best, bar, step=step, color="#333333", alpha=0.15,
                        linewidth=0, label="threshold to beat")
        for start, end in _runs([d.row for d in steps if d.cooldown]):
            ax.axvspan(start - 0.5, end + 0.5, color=PALETTE[5], alpha=0.12, linewidth=0)
        cuts = [d for d in steps if d.reduced]
        ax.plot([d.row for d in cuts], [d.metric for d in cuts], linestyle="none",
                marker="v", color=PALETTE[1], markersize=5, label="lr cut after this value")
        ax.legend(loc="upper right", frameon=False, fontsize=6.5, ncol=2)
    ax.set_ylabel("metric")


def _step_envelopes(rows: np.ndarray, *values: np.ndarray,
                    points: int = _MAX_POINTS) -> tuple[np.ndarray, ...]:
    """Step functions known at ``rows`` (each holds until the next row), as the min/max
    envelope of their value at every row in between: bounded in points, as the lr line."""
    every = np.arange(int(rows[0]), int(rows[-1]) + 1)
    at = np.searchsorted(rows, every, side="right") - 1
    out = [envelope(v[at], points) for v in values]
    x = out[0][0] + rows[0]
    return (x, *(y for _, y in out))


def _runs(rows: list[int]) -> list[tuple[int, int]]:
    """Consecutive rows as (first, last) runs: one span per cooldown window, not per row."""
    runs: list[tuple[int, int]] = []
    for row in rows:
        if runs and runs[-1][1] == row - 1:
            runs[-1] = (runs[-1][0], row)
        else:
            runs.append((row, row))
    return runs


def _draw_events(ax: Axes, marks: list[Event], label: bool,
                 size: tuple[float, float] = (8.0, 3.2)) -> None:
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
    _label_events(ax, firsts, size)


def _label_events(ax: Axes, firsts: dict[str, int], size: tuple[float, float]) -> None:
    """Write each label beside its line, horizontally, in rows at the top of the axes,
    and raise the top of the y axis so that no data lies under a label."""
    width, height = size
    plot_width = max(1.0, width - 1.1) * 72  # points: the figure less y label and ticks
    x0, x1 = ax.get_xlim()
    gap = 2.0  # points between a line and its label
    rows: list[list[tuple[float, float]]] = [[] for _ in range(_LABEL_ROWS)]
    placed = []
    for text, step in sorted(firsts.items(), key=lambda item: item[1]):
        at = (step - x0) / (x1 - x0) * plot_width
        wide = len(text) * _CHAR_WIDTH * _LABEL_SIZE
        # beside the line on the right, or on the left where the right edge would cut it
        sides = [(at + gap, at + gap + wide, "left"), (at - gap - wide, at - gap, "right")]
        sides = [side for side in sides if side[0] >= 0 and side[1] <= plot_width]
        if not sides:  # wider than either side: shortened to the wider side
            room = max(at, plot_width - at) - gap
            keep = max(4, int(room / (_CHAR_WIDTH * _LABEL_SIZE)) - 1)
            text = text[:keep] + "…"
            wide = len(text) * _CHAR_WIDTH * _LABEL_SIZE
            sides = [(at + gap, at + gap + wide, "left") if at < plot_width / 2
                     else (at - gap - wide, at - gap, "right")]
        spot = next(((r, side) for side in sides for r, row in enumerate(rows)
                     if all(side[1] + 4 <= a or side[0] >= b + 4 for a, b in row)), None)
        if spot is None:
            continue  # no room left: the dotted line stays, `lrviz table` names it
        r, (a, b, ha) = spot
        rows[r].append((a, b))
        placed.append((text, step, r, ha))
    used = 1 + max((r for *_, r, _ in placed), default=-1)
    if not used:
        return
    line = _LABEL_SIZE * 1.3
    for text, step, r, ha in placed:
        ax.annotate(text, xy=(step, 1.0), xycoords=("data", "axes fraction"),
                    xytext=(gap if ha == "left" else -gap, -1.5 - r * line),
                    textcoords="offset points", fontsize=_LABEL_SIZE, color="#555555",
                    ha=ha, va="top", annotation_clip=False)
    # The lr panel's height, estimated from the figure's (title, x axis and footer off):
    # the band for the labels is a fraction of it, with room to spare.
    panels = len(ax.figure.axes) if ax.figure is not None else 1
    share = 2.0 / (2.0 + panels - 1)
    plot_height = max(0.6, (height - 1.2) * share) * 72
    band = min(0.45, (used * line + 4) / plot_height * 1.15)
    _raise_top(ax, band)


def _raise_top(ax: Axes, band: float) -> None:
    """Extend the y axis upwards so that the data fills only the lower 1 - band."""
    low, high = ax.get_ylim()
    if ax.get_yscale() == "log":
        top = np.log10(low) + (np.log10(high) - np.log10(low)) / (1 - band)
        ax.set_ylim(low, 10 ** top)
    else:
        ax.set_ylim(low, low + (high - low) / (1 - band))


def _draw_findings(fig: Figure, ax: Axes, trace: Trace, width: float = 8.0) -> None:
    """What ``lrviz check`` would warn about: a marker where it happens, a line under the
    figure saying what it is."""
    import textwrap

    from matplotlib.lines import Line2D

    found = [f for f in trace.findings if f.severity in _FINDING_STYLE]
    if not found:
        return
    # Wrapped so that no line reaches the version note in the bottom right corner.
    room = width * 72 - len(_version_note(trace)) * _CHAR_WIDTH * 6.5 - 40
    columns = max(30, int(room / (_CHAR_WIDTH * 6.5)))
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
        text = text if len(text) <= 160 else text[:159] + "…"  # wrapped below
        if len(found) > _MAX_FINDINGS and f is found[_MAX_FINDINGS - 1]:
            text += f"  (+{len(found) - _MAX_FINDINGS} more: lrviz check)"
        labels.append(textwrap.fill(text, columns))
        handles.append(Line2D([], [], **style))
    fig.legend(handles, labels, loc="outside lower left", frameon=False, fontsize=6.5,
               handletextpad=0.3, borderaxespad=0.2)


def _fit(text: str, room: float, size: float) -> str:
    """``text`` broken into lines (at its " · " separators where it has them) so that
    none is wider than ``room`` points at font ``size``: a figure cuts what overflows."""
    import textwrap

    columns = max(20, int(room / (_CHAR_WIDTH * size)))
    if len(text) <= columns:
        return text
    if " · " in text:
        lines: list[str] = []
        for part in text.split(" · "):
            if lines and len(lines[-1]) + 3 + len(part) <= columns:
                lines[-1] += " · " + part
            else:
                lines.append(part)
        return "\n".join(textwrap.fill(line, columns) for line in lines)
    return textwrap.fill(text, columns)


def _version_note(trace: Trace) -> str:
    return f"lrviz {__version__} · torch {trace.torch_version}"


def _short(event: Event) -> str:
    text = event.label.split(": ", 1)[-1] if ": " in event.label else event.label
    return text if len(text) <= 48 else text[:47] + "…"


def style_axes(ax: Axes, steps: int) -> None:
    ax.grid(True, color="#e5e5e5", linewidth=0.6)
    ax.set_xlim(0, max(1, steps))  # row steps-1 holds until x = steps
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
