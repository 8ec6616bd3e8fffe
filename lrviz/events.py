"""Named moments of a schedule: where a milestone, restart, cycle or phase falls.

Events come from the spec (what each scheduler is documented to do), placed on the rows
of README "What a row means": the scheduler's ``last_epoch`` reaches ``e`` after ``e`` calls of
``step()``, which is row ``e`` when stepping every step and row ``e * steps_per_epoch``
when stepping every epoch. ReduceLROnPlateau's cuts depend on the metric, so they are
read off the trace instead. Nothing here imports torch.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from lrviz.spec import SchedulerSpec, Spec

if TYPE_CHECKING:
    from lrviz.trace import Trace


@dataclass(frozen=True, order=True)
class Event:
    """Something that happens at the start of row ``step``."""

    step: int
    label: str
    kind: str  # "drop", "milestone", "restart", "cycle", "phase", "warmup", "cut"


def events(spec: Spec, trace: Trace | None = None) -> list[Event]:
    """Every event of the spec's schedule that falls inside the run, in step order."""
    every = spec.steps_per_epoch if spec.interval == "epoch" else 1
    horizon = spec.scheduler_steps
    unit = "epoch" if spec.interval == "epoch" else "step"  # a scheduler step, in words
    found = {
        Event(epoch * every, label, kind)
        for epoch, label, kind in _scheduler_events(spec.scheduler, 0, horizon, unit)
        if 0 < epoch <= horizon and epoch * every < spec.steps
    }
    if spec.warmup_steps:
        end = spec.warmup_steps * every
        found = {e for e in found if not (e.step == end and e.kind in ("milestone", "warmup"))}
        if end < spec.steps:
            found.add(Event(end, f"warmup ends ({_count(spec.warmup_steps, unit)})", "warmup"))
    if trace is not None:
        from lrviz.plateau import replay

        for decision in replay(trace):
            if decision.action and decision.row + 1 < trace.steps:
                kind = "cut" if decision.reduced else "skip"
                found.add(Event(decision.row + 1, decision.reason, kind))
    return sorted(found)


def _count(n: int, unit: str) -> str:
    return f"{n} {unit}{'' if n == 1 else 's'}"


def _scheduler_events(
    sched: SchedulerSpec, offset: int, horizon: int, unit: str = "step"
) -> Iterator[tuple[int, str, str]]:
    """(scheduler epoch, label, kind) for one scheduler that starts at ``offset``.

    ``unit`` names a scheduler step in labels: ``epoch`` when it steps once an epoch.
    """
    p, name = sched.params, sched.type
    end = horizon - offset
    if name == "StepLR":
        size, gamma = p["step_size"], p.get("gamma", 0.1)
        for epoch in range(size, end + 1, size):
            yield offset + epoch, f"StepLR: lr x {gamma:g}", "drop"
    elif name == "MultiStepLR":
        gamma = p.get("gamma", 0.1)
        for epoch in sorted(set(p["milestones"])):
            yield offset + epoch, f"MultiStepLR milestone {epoch}: lr x {gamma:g}", "drop"
    elif name in ("LinearLR", "ConstantLR", "SWALR"):
        length = p.get("anneal_epochs" if name == "SWALR" else "total_iters",
                       10 if name == "SWALR" else 5)
        yield offset + length, f"{name}: end of the {length}-{unit} ramp", "warmup"
    elif name == "CosineAnnealingLR":
        t_max = p["T_max"]
        for k, epoch in enumerate(range(t_max, end + 1, t_max)):
            what = "reaches eta_min" if k % 2 == 0 else "back at the initial lr"
            yield offset + epoch, f"CosineAnnealingLR {what} (T_max {t_max})", "phase"
    elif name == "CosineAnnealingWarmRestarts":
        period, mult, epoch = p["T_0"], p.get("T_mult", 1), p["T_0"]
        while epoch <= end:
            yield offset + epoch, f"warm restart (next period {period * mult})", "restart"
            period *= mult
            epoch += period
    elif name == "CyclicLR":
        up = p.get("step_size_up", 2000)
        down = p.get("step_size_down") or up
        for cycle, start in enumerate(range(0, end + 1, up + down)):
            if start:
                yield offset + start, "CyclicLR: new cycle at base_lr", "cycle"
            if start + up <= end:
                yield offset + start + up, f"CyclicLR: {_cyclic_peak(p, cycle)}", "cycle"
    elif name == "OneCycleLR":
        total = p.get("total_steps") or p["epochs"] * p["steps_per_epoch"]
        pct = p.get("pct_start", 0.3)
        # torch's phase boundaries: end_step = pct_start * total_steps - 1, and so on
        ends = [float(pct * total) - 1, total - 1]
        names = ["peak at max_lr", "end of annealing"]
        if p.get("three_phase", False):
            ends = [float(pct * total) - 1, float(2 * pct * total) - 2, total - 1]
            names = ["peak at max_lr", "back at the initial lr", "end of annealing"]
        for step, label in zip(ends, names, strict=True):
            yield offset + max(0, math.ceil(step)), f"OneCycleLR: {label}", "phase"
    elif name == "SequentialLR":
        starts = [0, *p["milestones"]]
        for i, child in enumerate(sched.children):
            if i:
                yield (offset + starts[i], f"SequentialLR milestone {starts[i]}: "
                       f"{child.type} takes over", "milestone")
            # a child runs until the next milestone, where the next child's event stands
            until = min(horizon, offset + starts[i + 1] - 1 if i + 1 < len(starts) else horizon)
            for event in _scheduler_events(child, offset + starts[i], until, unit):
                if event[0] <= until:
                    yield event
    elif name == "ChainedScheduler":
        for child in sched.children:
            yield from _scheduler_events(child, offset, horizon, unit)
    elif sched.info.builder == "hf":
        warmup = p.get("num_warmup_steps", 0)
        if warmup:
            yield offset + warmup, f"{name}: end of the {warmup}-{unit} warmup", "warmup"
        if name == "hf:warmup_stable_decay":
            stable = p.get("num_stable_steps")
            if stable is None and p.get("num_training_steps"):
                stable = p["num_training_steps"] - warmup - p["num_decay_steps"]
            if stable is not None and stable > 0:
                yield offset + warmup + stable, f"{name}: decay starts", "phase"
        elif p.get("num_training_steps"):
            yield offset + p["num_training_steps"], f"{name}: end of the schedule", "phase"


def _cyclic_peak(p: dict[str, object], cycle: int) -> str:
    """What a CyclicLR peak reaches: max_lr only where the scale at the peak is 1
    (triangular; triangular2's first cycle; exp_range with gamma 1)."""
    if p.get("scale_fn") is not None:
        return "top of the cycle (max_lr x scale_fn)"
    mode, gamma = p.get("mode", "triangular"), p.get("gamma", 1.0)
    if mode == "triangular" or (mode == "triangular2" and cycle == 0) or (
            mode == "exp_range" and gamma == 1):
        return "peak at max_lr"
    if mode == "triangular2":
        return "peak (halved each cycle)"
    return "peak below max_lr (x gamma^step)"
