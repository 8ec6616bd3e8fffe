"""Named moments of a schedule: where a milestone, restart, cycle or phase falls.

Events come from the spec (what each scheduler is documented to do, as its catalog
record tells: ``Scheduler.events`` in :mod:`lrviz.schedulers`), placed on the rows
of README "What a row means": the scheduler's ``last_epoch`` reaches ``e`` after ``e`` calls of
``step()``, and the loop (``spec.plan``, :mod:`lrviz.loop`) says at which row that is.
ReduceLROnPlateau's cuts depend on the metric, so they are read off the trace instead.
Nothing here imports torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from lrviz.spec import Spec

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
    plan = spec.plan
    horizon = spec.scheduler_steps
    unit = "epoch" if spec.interval == "epoch" else "step"  # a scheduler step, in words
    found = {
        Event(plan.row_of(epoch), label, kind)
        for epoch, label, kind in spec.scheduler.info.events(spec.scheduler, 0, horizon, unit)
        if 0 < epoch <= horizon and plan.row_of(epoch) < spec.steps
    }
    if spec.warmup_steps:
        end = plan.row_of(spec.warmup_steps)
        found = {e for e in found if not (e.step == end and e.kind in ("milestone", "warmup"))}
        if end < spec.steps:
            found.add(Event(end, f"warmup ends ({_count(spec.warmup_steps, unit)})", "warmup"))
    if trace is not None:
        from lrviz.plateau import decisions

        for decision in decisions(trace):
            if decision.action and decision.row + 1 < trace.steps:
                kind = "cut" if decision.reduced else "skip"
                found.add(Event(decision.row + 1, decision.reason, kind))
    return sorted(found)


def _count(n: int, unit: str) -> str:
    return f"{n} {unit}{'' if n == 1 else 's'}"
