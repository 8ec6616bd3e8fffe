"""What every framework run shares: the tiny model's data, the reference scheduler, the
recorder, the grid of cases and the recording format.

A run records, for every optimizer step, the lr that step used (read from
``optimizer.param_groups`` in a step pre-hook, right before the step), the epoch the
framework was in, and how many times ``scheduler.step()`` had been called so far (the
torch scheduler's ``step`` is wrapped with a counter after its constructor ran). The
scheduler is the same everywhere, a CosineAnnealingLR whose lr changes at every step, so
that one step too many or too few changes the floats.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

BASE_LR = 0.1
T_MAX = 40  # the reference cosine's horizon; runs may step past it (the cosine rises again)
NOT_LOOP = ("onecycle_total_steps",)  # case keys that are not Loop fields


def reference(case: dict[str, Any]) -> dict[str, Any]:
    """The scheduler a case uses: the cosine, or a OneCycleLR with a short total_steps."""
    if case.get("onecycle_total_steps"):
        return {"type": "OneCycleLR", "max_lr": BASE_LR,
                "total_steps": case["onecycle_total_steps"]}
    return {"type": "CosineAnnealingLR", "T_max": T_MAX}


def scheduler_for(optimizer: Any, case: dict[str, Any] | None = None) -> Any:
    """A fresh reference scheduler (tests/test_loop.py replays the plan on the same)."""
    import torch

    kwargs = reference(case or {})
    cls = getattr(torch.optim.lr_scheduler, kwargs.pop("type"))
    return cls(optimizer, **kwargs)


def features(n: int, seed: int = 0) -> tuple[Any, Any]:
    import torch

    gen = torch.Generator().manual_seed(seed)
    return torch.randn(n, 4, generator=gen), torch.randn(n, 1, generator=gen)


class Recorder:
    """The lr before every optimizer step, the epoch, and scheduler.step() calls so far."""

    def __init__(self, optimizer: Any, scheduler: Any) -> None:
        self.lr: list[float] = []
        self.epoch: list[int] = []
        self.calls_before: list[int] = []
        self.calls = 0
        self.current_epoch = 0
        inner_step = scheduler.step

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            return inner_step(*args, **kwargs)

        scheduler.step = counted
        # frameworks wrap the optimizer (AcceleratedOptimizer, LightningOptimizer): the hook
        # goes on the torch optimizer inside, which steps only when the run really steps
        while not hasattr(optimizer, "register_step_pre_hook") or hasattr(optimizer, "optimizer"):
            optimizer = optimizer.optimizer
        optimizer.register_step_pre_hook(self._before_step)

    def _before_step(self, optimizer: Any, args: Any, kwargs: Any) -> None:
        self.lr.append(optimizer.param_groups[0]["lr"])
        self.epoch.append(self.current_epoch)
        self.calls_before.append(self.calls)

    def record(self, case: dict[str, Any], **extra: Any) -> dict[str, Any]:
        loop = {key: value for key, value in case.items() if key not in NOT_LOOP}
        return {"case": case_name(case), "loop": loop, "base_lr": BASE_LR,
                "scheduler": reference(case), "lr": self.lr, "epoch": self.epoch,
                "calls_before": self.calls_before, "calls_total": self.calls, **extra}


def case_name(case: dict[str, Any]) -> str:
    short = {"framework": "", "dataset_size": "n", "batch_size": "b", "world_size": "ws",
             "grad_accum": "ga", "drop_last": "drop", "epochs": "e", "max_steps": "max",
             "interval": "", "frequency": "f", "split_batches": "split",
             "max_steps_per_epoch": "maxpe", "batches_per_epoch": "B",
             "onecycle_total_steps": "onecycle"}
    parts = []
    for key, value in case.items():
        if value is True:
            parts.append(short[key])
        elif value not in (None, False):
            parts.append(f"{short[key]}{value}")
    return "-".join(parts)


def _case(framework: str, n: int, b: int, ga: int, **more: Any) -> dict[str, Any]:
    return {"framework": framework, "dataset_size": n, "batch_size": b, "grad_accum": ga,
            **more}


# Small on purpose: a few dozen optimizer steps each, chosen so that partial accumulation
# windows, drop_last, fractional epochs, max_steps mid-epoch and at an epoch's end,
# frequencies that do and do not divide the optimizer-step batches all occur.
GRID: dict[str, list[dict[str, Any]]] = {
    "hf-trainer": [
        _case("hf-trainer", 37, 4, 3, epochs=2.5),
        _case("hf-trainer", 64, 8, 4, epochs=2),
        _case("hf-trainer", 100, 4, 3, drop_last=True, epochs=2),
        _case("hf-trainer", 37, 4, 1, epochs=1, max_steps=23),
        _case("hf-trainer", 100, 8, 4, drop_last=True, epochs=1.5),
        _case("hf-trainer", 37, 8, 4, epochs=3),
        # two processes (gloo): batches sharded per process, one scheduler step per update
        _case("hf-trainer", 37, 4, 3, world_size=2, epochs=2.5),
    ],
    "lightning": [
        _case("lightning", 37, 4, 3, epochs=3),
        _case("lightning", 37, 4, 3, epochs=2, interval="step"),
        _case("lightning", 37, 4, 3, epochs=2, interval="step", frequency=2),
        _case("lightning", 100, 8, 1, drop_last=True, epochs=2, interval="step", frequency=3),
        _case("lightning", 100, 4, 4, drop_last=True, epochs=2, interval="step", frequency=3),
        _case("lightning", 64, 4, 4, epochs=3, interval="epoch", frequency=2),
        _case("lightning", 37, 4, 1, epochs=3, max_steps=25, interval="epoch"),
        _case("lightning", 64, 8, 4, epochs=3, max_steps=4, interval="epoch"),
    ],
    "accelerate": [
        _case("accelerate", 37, 4, 3, epochs=2),
        _case("accelerate", 37, 4, 1, world_size=2, epochs=2),
        _case("accelerate", 37, 4, 3, world_size=2, epochs=2),
        _case("accelerate", 100, 4, 4, world_size=2, drop_last=True, epochs=2),
        _case("accelerate", 64, 8, 3, world_size=2, split_batches=True, epochs=2),
        _case("accelerate", 100, 8, 1, world_size=2, drop_last=True, epochs=1),
        # OneCycleLR stepped 20 (12) times by the loop, capped at its total_steps by accelerate
        _case("accelerate", 37, 4, 1, world_size=2, epochs=2, onecycle_total_steps=12),
        _case("accelerate", 37, 4, 3, world_size=2, epochs=3, onecycle_total_steps=9),
    ],
    "torchtune": [
        _case("torchtune", 37, 4, 1, epochs=2),
        _case("torchtune", 37, 4, 4, epochs=2),
        _case("torchtune", 100, 8, 3, epochs=2),
        _case("torchtune", 100, 4, 4, epochs=2, max_steps_per_epoch=4),
        _case("torchtune", 64, 8, 3, epochs=3),
    ],
    "mmengine": [
        _case("mmengine", 37, 4, 3, epochs=2, interval="step"),
        _case("mmengine", 37, 4, 4, epochs=2, interval="step"),
        _case("mmengine", 37, 4, 4, epochs=3),
        _case("mmengine", 64, 8, 3, drop_last=True, epochs=2, interval="epoch"),
    ],
}


def versions(*names: str) -> dict[str, str]:
    from importlib.metadata import version

    return {name: version(name) for name in ("torch", *names)}


def main(framework: str, run: Callable[[list[dict[str, Any]]], list[dict[str, Any]]],
         packages: tuple[str, ...]) -> None:
    """``python run_X.py OUT.json``: run the grid of one framework, write its recording."""
    runs = run(GRID[framework])
    out = {"framework": framework, "versions": versions(*packages), "runs": runs}
    Path(sys.argv[1]).write_text(json.dumps(out, indent=1) + "\n")


def preload() -> None:
    """Import, before forking worker processes, what each would import for seconds on its
    own: DDP imports torch._dynamo, accelerate's prepare_data_loader imports datasets."""
    import importlib
    import importlib.util

    for name in ("torch._dynamo", "datasets"):
        if importlib.util.find_spec(name.split(".")[0]) is not None:
            importlib.import_module(name)


def launched(target: Callable[[dict[str, Any], str], None], case: dict[str, Any]) -> Any:
    """``target(case, path)`` run in ``case["world_size"]`` CPU processes (gloo, through
    accelerate's debug_launcher); rank 0 writes its record to ``path``, returned here."""
    import os
    import tempfile

    from accelerate import debug_launcher

    preload()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "record.json")
        debug_launcher(target, args=(case, path), num_processes=case["world_size"])
        with open(path) as f:
            return json.load(f)
