"""The loop people write by hand, as a whole program: (a) of bench.py plus a pyplot PNG.

    python benchmarks/baselines/hand_png.py STEPS OUT.png

Simulates CosineAnnealingLR(T_max=STEPS) the way a training script would step it (a
dummy ``nn.Linear``, ``zero_grad``/``step``, ``get_last_lr()`` appended to a list) and
plots every point with pyplot at lrviz's figure size and dpi.
"""

from __future__ import annotations

import sys

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import torch


def hand_lrs(steps: int) -> list[float]:
    model = torch.nn.Linear(1, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps)
    lrs = []
    for _ in range(steps):
        optimizer.zero_grad()
        optimizer.step()
        lr = scheduler.get_last_lr()[0]
        lrs.append(lr)
        scheduler.step()
    return lrs


def main() -> None:
    steps, out = int(sys.argv[1]), sys.argv[2]
    lrs = hand_lrs(steps)
    fig, ax = plt.subplots(figsize=(8, 3.2))
    ax.plot(lrs)
    ax.set_xlabel("step")
    ax.set_ylabel("learning rate")
    fig.savefig(out, dpi=150)


if __name__ == "__main__":
    main()
