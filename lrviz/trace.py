"""The result of a simulation: one array per recorded quantity, its columns, and what
analysis found in it (findings, ReduceLROnPlateau's decisions).

A model module: it knows nothing of torch and imports nothing of lrviz's above it (the
records analysis fills in are defined here too, so the engine, the analysis and the
renderers all look down to this module). The conveniences that draw or write a trace
(``to_csv()``, ``plot()``) belong to :class:`lrviz.api.Simulation`, a Trace the library's
front door hands back.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from lrviz.spec import Spec


@dataclass(frozen=True)
class Finding:
    """One problem found in a spec (``lrviz check``)."""

    severity: str  # "error" | "warning" | "info"
    code: str  # short stable id, e.g. "onecycle-overstep"
    message: str  # plain words, one line
    step: int | None = None  # row index (README "What a row means") where it happens
    param: str | None = None  # key path, e.g. "scheduler.schedulers[1].T_max"
    fix: str | None = None  # suggested fix, one line

    def to_dict(self) -> dict[str, Any]:
        """The finding as plain JSON-able data; ``Finding(**d)`` rebuilds it."""
        return dataclasses.asdict(self)


# Every finding code the built-in checks produce, with what it means.
CODES: dict[str, str] = {
    "crash": "scheduler.step() raises, as it would in training (torch's own message)",
    "onecycle-overstep": "OneCycleLR is stepped past its total steps and raises",
    "lr-not-finite": "the lr becomes inf or NaN",
    "lr-negative": "the lr becomes negative",
    "lr-zero": "the lr is 0 at some steps (every step: error; the first or last one only: "
               "info)",
    "lr-collapses": "the lr falls below a millionth of its peak early and stays there: a "
                    "decay far too fast (often one meant per epoch, stepped per batch)",
    "ramp-of-zero-length": "LinearLR/ConstantLR with total_iters 0: torch holds the start "
                           "factor for the whole run",
    "nested-composite-early": "a composite first in SequentialLR runs one step ahead: torch "
                              "steps the schedulers inside it once more when it is built",
    "warmup-never-ends": "a LinearLR/ConstantLR warmup outlasts the run or is cut by a milestone",
    "decay-unfinished": "a LinearLR/PolynomialLR decay outlasts the steps it gets",
    "onecycle-unfinished": "OneCycleLR's cycle is longer than the steps it gets",
    "cosine-rises": "CosineAnnealingLR runs past T_max, and the lr climbs back up",
    "hf-past-training-steps": "a Hugging Face schedule runs past num_training_steps",
    "cosine-unfinished": "T_max is longer than the steps the cosine gets",
    "eta-min-above-lr": "eta_min is above a param group's initial lr",
    "gamma-above-one": "gamma > 1 makes the lr (or CyclicLR's amplitude) grow",
    "gamma-one": "gamma is 1, so the scheduler does nothing (CyclicLR exp_range: it is "
                 "triangular)",
    "duplicate-milestones": "a milestone listed twice (MultiStepLR: gamma twice; "
                            "SequentialLR: a scheduler never runs)",
    "unsorted-milestones": "milestones out of order (harmless for MultiStepLR, "
                           "not for SequentialLR)",
    "milestone-past-end": "MultiStepLR milestones the run never reaches",
    "scheduler-never-runs": "a SequentialLR child never runs (milestone 0 or past the end)",
    "momentum-overwritten": "cycle_momentum replaces the optimizer's momentum or beta1",
    "min-lr-floor": "ReduceLROnPlateau cuts have no effect: the lr is at min_lr",
    "eps-skips-cut": "ReduceLROnPlateau skips a cut smaller than eps",
    "torch-warning": "torch warned during the run",
    "loop-horizon-short": "the schedule's horizon counts optimizer steps, but the loop steps "
                          "the scheduler more often: it ends early",
    "loop-horizon-long": "the loop steps the scheduler fewer times than the schedule's "
                         "horizon: it never finishes (a step-sized horizon stepped per epoch)",
    "loop-steps-per-process": "the scheduler steps several times per optimizer step "
                              "(accelerate: once per process)",
    "resume-breaks": "with training.resume, a restore mode (scheduler, optimizer, rebuild) "
                     "does not continue the schedule: the first step that differs",
    "loop-partial-window": "an epoch's batches do not divide by grad_accum: the last "
                           "optimizer step of each epoch runs on fewer batches, or none",
}


@dataclass(frozen=True)
class PlateauStep:
    """One ``ReduceLROnPlateau.step(metric)`` call: what the scheduler saw and did."""

    row: int  # the row after which the metric was fed
    metric: float
    best: float  # best metric so far, after this step
    bar: float  # what the next metric must beat to count as an improvement
    bad: int  # bad steps counted after this step (before a cut resets it)
    cooldown: bool  # whether this step fell in a cooldown window
    action: str  # "", "cut", "clamped", "skipped", "at floor"
    reason: str  # plain words for the table and the figure
    groups: tuple[str, ...] = ()  # the action per param group, when a cut was due

    @property
    def reduced(self) -> bool:
        return self.action in ("cut", "clamped")


@dataclass(repr=False)
class Trace:
    """Row ``k`` holds what the optimizer used for training step ``k`` (README, "What a row
    means")."""

    spec: Spec
    lrs: np.ndarray  # shape (groups, steps)
    momenta: np.ndarray | None = None  # shape (groups, steps), when the scheduler cycles it
    metric: np.ndarray | None = None  # shape (steps,): value fed after the row, NaN if none
    warnings: tuple[str, ...] = ()  # torch warnings raised during the run, once each
    torch_version: str = ""
    momentum_name: str = "momentum"  # or "beta1" for Adam-like optimizers
    # What ``lrviz check`` finds in this run, most severe first: worked out once, by
    # :func:`lrviz.api.analyze`; renderers only read them.
    findings: tuple[Finding, ...] = ()
    # ReduceLROnPlateau's decisions, replayed once by :func:`lrviz.api.analyze` (None:
    # not replayed yet); events, the metric panel and check read them.
    plateau_steps: tuple[PlateauStep, ...] | None = None
    # training.resume: the lr of the process resumed at ``spec.resume.at``, shape
    # (groups, steps), equal to ``lrs`` before it (README "Resume")
    lrs_resumed: np.ndarray | None = None

    @property
    def steps(self) -> int:
        return int(self.lrs.shape[1])

    @property
    def groups(self) -> int:
        return int(self.lrs.shape[0])

    @property
    def lr(self) -> np.ndarray:
        """The lr per step: 1-D for one param group, else shape (steps, groups)."""
        return self.lrs[0] if self.groups == 1 else self.lrs.T

    @property
    def momentum(self) -> np.ndarray | None:
        """Like :attr:`lr` for momentum (or beta1); None when the scheduler leaves it alone."""
        if self.momenta is None:
            return None
        return self.momenta[0] if self.groups == 1 else self.momenta.T

    def columns(self) -> list[tuple[str, np.ndarray]]:
        """The output columns, named and ordered as README "What a row means" says."""
        cols: list[tuple[str, np.ndarray]] = [("step", np.arange(self.steps))]
        cols.extend(self.spec.plan.columns())
        cols.extend(_per_group("lr", self.lrs))
        if self.lrs_resumed is not None:
            cols.extend(_per_group("lr_resumed", self.lrs_resumed))
        if self.momenta is not None:
            cols.extend(_per_group("momentum", self.momenta))
        if self.metric is not None:
            cols.append(("metric", self.metric))
        return cols

    def __repr__(self) -> str:
        return (f"Trace({self.spec.name!r}, {self.spec.scheduler.type}, steps={self.steps}, "
                f"groups={self.groups})")

    def change_rows(self) -> np.ndarray:
        """Indices of the first row, the last row, and every row where any lr changes."""
        changed = np.zeros(self.steps, dtype=bool)
        changed[0] = changed[-1] = True
        if self.steps > 1:
            changed[1:] |= np.any(self.lrs[:, 1:] != self.lrs[:, :-1], axis=0)
        return np.flatnonzero(changed)


def _per_group(name: str, values: np.ndarray) -> list[tuple[str, np.ndarray]]:
    if values.shape[0] == 1:
        return [(name, values[0])]
    return [(f"{name}_{i}", row) for i, row in enumerate(values)]
