"""The schedule as a matplotlib figure, saved so that the same trace gives the same bytes.

Uses ``matplotlib.figure.Figure`` directly (no pyplot): no global state, no GUI backend.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from lrviz import __version__
from lrviz.trace import Trace

if TYPE_CHECKING:
    from matplotlib.figure import Figure

# Okabe-Ito: distinguishable with the common colour-vision deficiencies.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
# Above this many points a line is drawn as a per-bucket min/max envelope: the picture
# is the same at any sensible resolution, and peaks and troughs are never dropped.
_MAX_POINTS = 8000

_METADATA = {
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


def figure(trace: Trace) -> Figure:
    """A figure of the trace: the lr, one line per param group, and momentum when it moves."""
    from matplotlib.figure import Figure

    panels = 2 if trace.momenta is not None else 1
    fig = Figure(figsize=(8, 3.2 + 1.8 * (panels - 1)), dpi=100, layout="constrained")
    axes = fig.subplots(panels, 1, sharex=True, squeeze=False)[:, 0]
    spec = trace.spec
    lr_ax = axes[0]
    # steps-post: the lr of row k holds for all of training step k.
    for i, row in enumerate(trace.lrs):
        x, y = envelope(row)
        label = f"group {i} (lr {row[0]:.3g})" if trace.groups > 1 else None
        lr_ax.plot(x, y, color=PALETTE[i % len(PALETTE)], linewidth=1.4, label=label,
                   drawstyle="steps-post")
    lr_ax.set_ylabel("learning rate")
    if trace.groups > 1:
        lr_ax.legend(loc="best", frameon=False)
    if trace.momenta is not None:
        mom_ax = axes[1]
        for i, row in enumerate(trace.momenta):
            x, y = envelope(row)
            mom_ax.plot(x, y, color=PALETTE[i % len(PALETTE)], linewidth=1.2, linestyle="--",
                        drawstyle="steps-post")
        mom_ax.set_ylabel(trace.momentum_name)
    for ax in axes:
        ax.grid(True, color="#dddddd", linewidth=0.6)
        ax.set_xlim(0, max(1, trace.steps - 1))
        ax.spines[["top", "right"]].set_visible(False)
    axes[-1].set_xlabel("step" if spec.interval == "step" or spec.steps_per_epoch == 1
                        else f"step ({spec.steps_per_epoch} per epoch, stepped every epoch)")
    title = spec.title or f"{spec.name}: {spec.scheduler.type}"
    lr_ax.set_title(title, loc="left", fontsize=11)
    fig.text(0.995, 0.002, f"lrviz {__version__} · torch {trace.torch_version}",
             ha="right", va="bottom", fontsize=6.5, color="#888888")
    return fig


def save_figure(trace: Trace, path: Path) -> None:
    """Save the trace's figure in the format its suffix names."""
    import matplotlib

    suffix = path.suffix.lower()
    with matplotlib.rc_context({"svg.hashsalt": "lrviz", "pdf.compression": 6}):
        fig = figure(trace)
        fig.savefig(path, format=suffix[1:], metadata=_METADATA[suffix], dpi=150)

