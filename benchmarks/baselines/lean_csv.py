"""The leanest torch loop, as a whole program: (b) of bench.py plus a CSV with repr floats.

    python benchmarks/baselines/lean_csv.py STEPS [OUT.csv]

Simulates CosineAnnealingLR(T_max=STEPS) on SGD(lr=0.1, momentum=0.9), the same
schedule as ``lrviz plot cosine --steps STEPS --t-max STEPS``, and writes the same CSV
bytes (``step,lr`` then one row per step). Without OUT it only runs the loop: that is
the "lean loop process" whose peak memory bench.py compares lrviz against.
"""

from __future__ import annotations

import sys

import numpy as np
import torch


def lean_lrs(steps: int) -> np.ndarray:
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1, momentum=0.9)
    optimizer._opt_called = True  # as lrviz does: no "scheduler before optimizer" warning
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps)
    group = optimizer.param_groups[0]
    step = scheduler.step
    lrs = np.empty(steps)
    for k in range(steps):
        lrs[k] = group["lr"]
        step()
    return lrs


def write_csv(lrs: np.ndarray, path: str) -> None:
    with open(path, "w", encoding="utf-8") as out:
        out.write("step,lr\n")
        out.writelines(f"{k},{v!r}\n" for k, v in enumerate(lrs.tolist()))


def main() -> None:
    steps = int(sys.argv[1])
    lrs = lean_lrs(steps)
    if len(sys.argv) > 2:
        write_csv(lrs, sys.argv[2])


if __name__ == "__main__":
    main()
