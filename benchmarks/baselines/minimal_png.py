"""The least a script can do to draw a schedule to PNG: the lean loop, matplotlib, no pyplot.

    python benchmarks/baselines/minimal_png.py STEPS OUT.png

CosineAnnealingLR(T_max=STEPS) stepped as in ``lean_csv.py``, drawn as one line on a
``matplotlib.figure.Figure`` (pyplot's state machine and backend switching skipped) at
lrviz's figure size and dpi. The strictest baseline for a short ``lrviz plot``, whose
cost is mostly imports and drawing; ``hand_png.py`` is the pyplot script people write.
"""

from __future__ import annotations

import sys

from lean_csv import lean_lrs


def main() -> None:
    steps, out = int(sys.argv[1]), sys.argv[2]
    lrs = lean_lrs(steps)
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 3.2))
    ax = fig.add_subplot()
    ax.plot(lrs)
    ax.set_xlabel("step")
    ax.set_ylabel("learning rate")
    fig.savefig(out, dpi=150)


if __name__ == "__main__":
    main()
