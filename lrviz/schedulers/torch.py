"""torch's schedulers: every public class of ``torch.optim.lr_scheduler`` and SWALR.

``tests/test_catalog.py`` holds these records against ``inspect.signature`` of the
installed torch classes, so names, defaults and required-ness cannot drift. Nothing
here imports torch.

``last_epoch`` (resuming a run) is left out on purpose: a simulation always starts
from step 0, and torch refuses ``last_epoch >= 0`` on a fresh optimizer.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from lrviz.schedulers.base import (
    BOOL,
    CHOICE,
    EXPR,
    FALLBACK_LENGTH,
    FLOAT,
    INT,
    INT_LIST,
    SCHEDULERS,
    Moment,
    Node,
    Param,
    Scheduler,
    as_list,
    show,
)

# ------------------------------------------------------------------ the records' hooks
# One class per scheduler whose behaviour differs from the defaults of ``Scheduler``;
# its record (in TABLE below) is an instance of it.


@dataclass(frozen=True)
class _StepLR(Scheduler):
    def natural_length(self, node: Node, metric_values: int) -> int:
        return 4 * node.params["step_size"]

    def events(self, node: Node, offset: int, horizon: int, unit: str) -> Iterator[Moment]:
        size, gamma = node.params["step_size"], self.value(node.params, "gamma")
        for epoch in range(size, horizon - offset + 1, size):
            yield offset + epoch, f"{self.name}: lr x {gamma:g}", "drop"


@dataclass(frozen=True)
class _MultiStepLR(Scheduler):
    def natural_length(self, node: Node, metric_values: int) -> int:
        last = max(node.params["milestones"], default=0)
        return max(10, last + max(1, last // 4))

    def events(self, node: Node, offset: int, horizon: int, unit: str) -> Iterator[Moment]:
        gamma = self.value(node.params, "gamma")
        for epoch in sorted(set(node.params["milestones"])):
            yield offset + epoch, f"{self.name} milestone {epoch}: lr x {gamma:g}", "drop"


@dataclass(frozen=True)
class _Ramp(Scheduler):
    """ConstantLR, LinearLR, PolynomialLR and SWALR: a change over ``ramp_param`` steps,
    then a constant lr."""

    ramp_param: str = "total_iters"
    ramp_event: bool = True  # its end is an event (PolynomialLR's decay just ends at 0)

    def natural_length(self, node: Node, metric_values: int) -> int:
        return max(10, 2 * self.value(node.params, self.ramp_param))

    def events(self, node: Node, offset: int, horizon: int, unit: str) -> Iterator[Moment]:
        if not self.ramp_event:
            return
        length = self.value(node.params, self.ramp_param)
        yield offset + length, f"{self.name}: end of the {length}-{unit} ramp", "warmup"


@dataclass(frozen=True)
class _ExponentialLR(Scheduler):
    def natural_length(self, node: Node, metric_values: int) -> int:
        gamma = node.params["gamma"]
        if 0 < gamma < 1:  # until the lr is a hundredth of where it started
            return min(100_000, max(10, math.ceil(math.log(0.01) / math.log(gamma))))
        return 100


@dataclass(frozen=True)
class _CosineAnnealingLR(Scheduler):
    def natural_length(self, node: Node, metric_values: int) -> int:
        p = node.params
        return p["T_max"] + 1 if "T_max" in p else FALLBACK_LENGTH

    def events(self, node: Node, offset: int, horizon: int, unit: str) -> Iterator[Moment]:
        t_max = node.params["T_max"]
        for k, epoch in enumerate(range(t_max, horizon - offset + 1, t_max)):
            what = "reaches eta_min" if k % 2 == 0 else "back at the initial lr"
            yield offset + epoch, f"{self.name} {what} (T_max {t_max})", "phase"


@dataclass(frozen=True)
class _CosineAnnealingWarmRestarts(Scheduler):
    def natural_length(self, node: Node, metric_values: int) -> int:
        mult = self.value(node.params, "T_mult")
        return node.params["T_0"] * (1 + mult + mult * mult)

    def events(self, node: Node, offset: int, horizon: int, unit: str) -> Iterator[Moment]:
        p = node.params
        period, mult, epoch = p["T_0"], self.value(p, "T_mult"), p["T_0"]
        while epoch <= horizon - offset:
            yield offset + epoch, f"warm restart (next period {period * mult})", "restart"
            period *= mult
            epoch += period


@dataclass(frozen=True)
class _CyclicLR(Scheduler):
    def _legs(self, p: dict[str, Any]) -> tuple[int, int]:
        up = self.value(p, "step_size_up")
        return up, p.get("step_size_down") or up

    def natural_length(self, node: Node, metric_values: int) -> int:
        up, down = self._legs(node.params)
        return 2 * (up + down)

    def events(self, node: Node, offset: int, horizon: int, unit: str) -> Iterator[Moment]:
        up, down = self._legs(node.params)
        end = horizon - offset
        for cycle, start in enumerate(range(0, end + 1, up + down)):
            if start:
                yield offset + start, f"{self.name}: new cycle at base_lr", "cycle"
            if start + up <= end:
                yield offset + start + up, f"{self.name}: {self._peak(node.params, cycle)}", \
                    "cycle"

    def _peak(self, p: dict[str, Any], cycle: int) -> str:
        """What a peak reaches: max_lr only where the scale at the peak is 1
        (triangular; triangular2's first cycle; exp_range with gamma 1)."""
        if p.get("scale_fn") is not None:
            return "top of the cycle (max_lr x scale_fn)"
        mode, gamma = self.value(p, "mode"), self.value(p, "gamma")
        if mode == "triangular" or (mode == "triangular2" and cycle == 0) or (
                mode == "exp_range" and gamma == 1):
            return "peak at max_lr"
        if mode == "triangular2":
            return "peak (halved each cycle)"
        return "peak below max_lr (x gamma^step)"

    def relations(self, params: dict[str, Any], children: int) -> Iterator[tuple[str, str]]:
        low, high = as_list(params["base_lr"]), as_list(params["max_lr"])
        for i, (lo, hi) in enumerate(zip(low, high, strict=False)):
            if lo > hi:
                yield ("base_lr", f"base_lr ({show(lo)}) is above max_lr ({show(hi)})"
                       + (f" in param group {i}" if len(low) > 1 else "")
                       + "; expected base_lr <= max_lr")
                return
        yield from super().relations(params, children)


@dataclass(frozen=True)
class _OneCycleLR(Scheduler):
    def natural_length(self, node: Node, metric_values: int) -> int:
        p = node.params
        if p.get("total_steps"):
            return int(p["total_steps"])
        if p.get("epochs") and p.get("steps_per_epoch"):
            return int(p["epochs"] * p["steps_per_epoch"])
        return FALLBACK_LENGTH

    def events(self, node: Node, offset: int, horizon: int, unit: str) -> Iterator[Moment]:
        p = node.params
        total = p.get("total_steps") or p["epochs"] * p["steps_per_epoch"]
        pct = self.value(p, "pct_start")
        # torch's phase boundaries: end_step = pct_start * total_steps - 1, and so on
        ends = [float(pct * total) - 1, total - 1]
        names = ["peak at max_lr", "end of annealing"]
        if self.value(p, "three_phase"):
            ends = [float(pct * total) - 1, float(2 * pct * total) - 2, total - 1]
            names = ["peak at max_lr", "back at the initial lr", "end of annealing"]
        for step, label in zip(ends, names, strict=True):
            yield offset + max(0, math.ceil(step)), f"{self.name}: {label}", "phase"


@dataclass(frozen=True)
class _SequentialLR(Scheduler):
    def natural_length(self, node: Node, metric_values: int) -> int:
        last = node.children[-1]
        return (max(node.params["milestones"], default=0)
                + last.info.natural_length(last, metric_values))

    def handovers(self, params: dict[str, Any]) -> list[int] | None:
        return list(params["milestones"])

    def events(self, node: Node, offset: int, horizon: int, unit: str) -> Iterator[Moment]:
        starts = [0, *node.params["milestones"]]
        for i, child in enumerate(node.children):
            if i:
                yield (offset + starts[i], f"{self.name} milestone {starts[i]}: "
                       f"{child.type} takes over", "milestone")
            # a child runs until the next milestone, where the next child's event stands
            until = min(horizon, offset + starts[i + 1] - 1 if i + 1 < len(starts) else horizon)
            for event in child.info.events(child, offset + starts[i], until, unit):
                if event[0] <= until:
                    yield event

    def relations(self, params: dict[str, Any], children: int) -> Iterator[tuple[str, str]]:
        milestones = params.get("milestones", [])
        if len(milestones) != children - 1:
            yield ("milestones", f"expected {children - 1} milestone(s) for {children} "
                   f"schedulers, got {len(milestones)}")
        yield from super().relations(params, children)


@dataclass(frozen=True)
class _ChainedScheduler(Scheduler):
    def natural_length(self, node: Node, metric_values: int) -> int:
        return max(c.info.natural_length(c, metric_values) for c in node.children)

    def events(self, node: Node, offset: int, horizon: int, unit: str) -> Iterator[Moment]:
        for child in node.children:
            yield from child.info.events(child, offset, horizon, unit)


ANNEAL = ("cos", "linear")

PLATEAU_PARAMS = (
    Param("mode", CHOICE, "min: lower metric is better; max: higher is better", "min",
          choices=("min", "max")),
    Param("factor", FLOAT, "new lr = lr * factor (< 1)", 0.1, positive=True),
    Param("patience", INT, "bad steps tolerated before a cut", 10, minimum=0),
    Param("threshold", FLOAT, "least change that counts as an improvement", 1e-4,
          minimum=0),
    Param("threshold_mode", CHOICE, "rel: relative to the best; abs: absolute", "rel",
          choices=("rel", "abs")),
    Param("cooldown", INT, "steps to wait after a cut before counting again", 0,
          minimum=0),
    Param("min_lr", FLOAT, "floor under the lr", 0, minimum=0, per_group=True),
    Param("eps", FLOAT, "cuts smaller than this are skipped", 1e-8, minimum=0),
)

TABLE: tuple[Scheduler, ...] = (
    Scheduler(
        "LambdaLR", ("lambda",),
        "lr = initial lr * lr_lambda(epoch), an expression in epoch",
        (
            Param("lr_lambda", EXPR, "factor applied to the initial lr, e.g. '0.95 ** epoch'",
                  variable="epoch", per_group=True),
        ),
    ),
    Scheduler(
        "MultiplicativeLR", ("multiplicative",),
        "lr = previous lr * lr_lambda(epoch) at every step after the first",
        (
            Param("lr_lambda", EXPR, "factor applied to the previous lr, e.g. '0.95'",
                  variable="epoch", per_group=True),
        ),
    ),
    _StepLR(
        "StepLR", ("step",),
        "multiply the lr by gamma every step_size steps",
        (
            Param("step_size", INT, "scheduler steps between two decays", minimum=1),
            Param("gamma", FLOAT, "factor applied at each decay", 0.1, minimum=0),
        ),
    ),
    _MultiStepLR(
        "MultiStepLR", ("multistep",),
        "multiply the lr by gamma at each milestone",
        (
            Param("milestones", INT_LIST, "scheduler steps at which the lr decays, e.g. 100,210",
                  minimum=0),
            Param("gamma", FLOAT, "factor applied at each milestone", 0.1, minimum=0),
        ),
    ),
    _Ramp(
        "ConstantLR", ("constant",),
        "scale the lr by factor until total_iters, then restore it",
        (
            Param("factor", FLOAT, "scale applied before total_iters (0 <= factor <= 1)",
                  1.0 / 3, minimum=0, maximum=1),
            Param("total_iters", INT, "scheduler steps the factor lasts", 5, minimum=0),
        ),
    ),
    _Ramp(
        "LinearLR", ("linear",),
        "ramp the lr factor linearly from start_factor to end_factor over total_iters",
        (
            Param("start_factor", FLOAT, "factor at step 0 (0 < start_factor <= 1)", 1.0 / 3,
                  positive=True, maximum=1),
            Param("end_factor", FLOAT, "factor reached at total_iters (0 <= end_factor <= 1)",
                  1.0, minimum=0, maximum=1),
            Param("total_iters", INT, "scheduler steps of the ramp", 5, minimum=0),
        ),
    ),
    _ExponentialLR(
        "ExponentialLR", ("exponential",),
        "multiply the lr by gamma at every step",
        (Param("gamma", FLOAT, "factor applied at every step", minimum=0),),
    ),
    _SequentialLR(
        "SequentialLR", ("sequential",),
        "run schedulers one after another, switching at the milestones",
        (
            Param("schedulers", SCHEDULERS, "the schedulers, in order"),
            Param("milestones", INT_LIST, "scheduler steps at which the next scheduler starts",
                  minimum=0),
        ),
        composite=True,
    ),
    _CosineAnnealingLR(
        "CosineAnnealingLR", ("cosine",),
        "cosine from the initial lr down to eta_min over T_max steps (and back up after it)",
        (
            Param("T_max", INT, "scheduler steps from the initial lr down to eta_min "
                  "(default: the run's scheduler steps)", minimum=1),
            Param("eta_min", FLOAT, "lowest lr", 0.0, minimum=0),
        ),
        length_param="T_max",
    ),
    _ChainedScheduler(
        "ChainedScheduler", ("chained",),
        "step several schedulers together; their factors multiply",
        (Param("schedulers", SCHEDULERS, "the schedulers, all stepped at every step"),),
        composite=True,
        optimizer_arg=False,
        in_sequence=False,
    ),
    Scheduler(
        "ReduceLROnPlateau", ("plateau",),
        "cut the lr by factor when the metric stops improving for patience steps",
        PLATEAU_PARAMS,
        takes_metric=True,
        plateau=True,
    ),
    _CyclicLR(
        "CyclicLR", ("cyclic",),
        "cycle the lr between base_lr and max_lr (triangular, triangular2, exp_range)",
        (
            Param("base_lr", FLOAT, "lower bound of the cycle", minimum=0, per_group=True),
            Param("max_lr", FLOAT, "upper bound of the cycle", minimum=0, per_group=True),
            Param("step_size_up", INT, "steps from base_lr up to max_lr", 2000, minimum=1),
            Param("step_size_down", INT, "steps from max_lr back down; none: as step_size_up",
                  None, minimum=1, nullable=True),
            Param("mode", CHOICE, "shape of the cycles", "triangular",
                  choices=("triangular", "triangular2", "exp_range")),
            Param("gamma", FLOAT, "exp_range: amplitude scale gamma ** iterations", 1.0,
                  positive=True),
            Param("scale_fn", EXPR, "custom amplitude scale (overrides mode)",
                  None, nullable=True, variable="x"),
            Param("scale_mode", CHOICE, "what x counts for scale_fn: cycles or iterations",
                  "cycle", choices=("cycle", "iterations")),
            Param("cycle_momentum", BOOL, "cycle momentum inversely to the lr", True),
            Param("base_momentum", FLOAT, "lowest momentum", 0.8, minimum=0, per_group=True),
            Param("max_momentum", FLOAT, "highest momentum", 0.9, minimum=0, per_group=True),
        ),
        changes_momentum=True,
    ),
    _CosineAnnealingWarmRestarts(
        "CosineAnnealingWarmRestarts", ("cosine-restarts", "warm-restarts"),
        "cosine down to eta_min, restarting every T_0 steps (T_mult times longer each time)",
        (
            Param("T_0", INT, "steps until the first restart", minimum=1),
            Param("T_mult", INT, "growth factor of the period after each restart", 1, minimum=1),
            Param("eta_min", FLOAT, "lowest lr", 0.0, minimum=0),
        ),
    ),
    _OneCycleLR(
        "OneCycleLR", ("onecycle",),
        "one cycle: warm up to max_lr, then anneal far below the initial lr",
        (
            Param("max_lr", FLOAT, "peak lr", positive=True, per_group=True),
            Param("total_steps", INT, "length of the cycle in scheduler steps "
                  "(default: epochs * steps_per_epoch, else the run's scheduler steps)",
                  None, minimum=1, nullable=True),
            Param("epochs", INT, "with steps_per_epoch: total_steps = epochs * steps_per_epoch",
                  None, minimum=1, nullable=True),
            Param("steps_per_epoch", INT, "with epochs: total_steps = epochs * steps_per_epoch",
                  None, minimum=1, nullable=True),
            Param("pct_start", FLOAT, "fraction of the cycle spent warming up", 0.3, minimum=0,
                  maximum=1),
            Param("anneal_strategy", CHOICE, "shape of warm-up and annealing", "cos",
                  choices=ANNEAL),
            Param("cycle_momentum", BOOL, "cycle momentum inversely to the lr", True),
            Param("base_momentum", FLOAT, "lowest momentum", 0.85, minimum=0, per_group=True),
            Param("max_momentum", FLOAT, "highest momentum", 0.95, minimum=0, per_group=True),
            Param("div_factor", FLOAT, "initial lr = max_lr / div_factor", 25.0, positive=True),
            Param("final_div_factor", FLOAT, "final lr = initial lr / final_div_factor", 1e4,
                  positive=True),
            Param("three_phase", BOOL, "add a third phase that anneals to the final lr", False),
        ),
        length_param="total_steps",
        length_unless=("epochs", "steps_per_epoch"),
        changes_momentum=True,
    ),
    _Ramp(
        "PolynomialLR", ("polynomial",),
        "decay the lr to zero over total_iters as a polynomial of the given power",
        (
            Param("total_iters", INT, "scheduler steps of the decay", 5, minimum=0),
            Param("power", FLOAT, "power of the polynomial", 1.0, minimum=0),
        ),
        ramp_event=False,
    ),
    _Ramp(
        "SWALR", ("swa",),
        "anneal each group's lr to swa_lr over anneal_epochs, then hold it",
        (
            Param("swa_lr", FLOAT, "lr reached and held", minimum=0, per_group=True),
            Param("anneal_epochs", INT, "steps of the annealing", 10, minimum=0),
            Param("anneal_strategy", CHOICE, "shape of the annealing", "cos", choices=ANNEAL),
        ),
        module="torch.optim.swa_utils",
        ramp_param="anneal_epochs",
    ),
)

_BY_NAME = {s.name: s for s in TABLE}
# What lrviz builds a spec's ``warmup:`` from: a linear ramp from start_factor to 1 ...
WARMUP = _BY_NAME["LinearLR"]
# ... handed over to the main scheduler by a sequence at the warmup's end.
SEQUENCE = _BY_NAME["SequentialLR"]
