"""Where the training loop and the schedule disagree (README "The training loop").

A schedule's horizon (``T_max``, ``total_steps``, ``num_training_steps``) counts
``scheduler.step()`` calls; the loop decides how many calls a run makes and when
(:mod:`lrviz.loop`). These checks compare the two, and say what the framework did in a
user's words: a scheduler stepped once per process, a step-sized horizon stepped once per
epoch, an epoch whose last optimizer step runs on a partial window. They read the spec's
plan only; nothing here imports torch.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from lrviz.loop import RULES
from lrviz.schedulers.base import INFO, WARNING
from lrviz.spec import SchedulerSpec, Spec
from lrviz.trace import Finding

if TYPE_CHECKING:
    from lrviz.trace import Trace

# Findings that say the same as a loop finding on the same key, without its cause.
SUPERSEDED = ("cosine-unfinished", "cosine-rises", "decay-unfinished", "onecycle-unfinished",
              "hf-past-training-steps")

def loop_findings(spec: Spec, trace: Trace | None) -> Iterator[Finding]:
    """Every disagreement between a framework's loop and the schedule."""
    plan = spec.plan
    if plan.plain:
        return
    title = RULES[plan.framework].title
    calls, rows = plan.scheduler_steps, plan.rows
    per_row = int(plan.after.max()) if rows else 0
    horizon = _horizon(spec.scheduler)
    if horizon is not None and not spec.scheduler.info.takes_metric:
        yield from _horizon_findings(spec, title, horizon, calls, per_row)
    elif per_row > 1 and plan.interval == "step":
        yield _per_process(spec, title, per_row)
    yield from _windows(spec, title)


def _horizon_findings(spec: Spec, title: str, horizon: tuple[int, str], calls: int,
                      per_row: int) -> Iterable[Finding]:
    plan = spec.plan
    length, key = horizon
    rows = plan.rows
    if length < calls:
        end = plan.row_of(length)
        if per_row > 1 and plan.interval == "step":
            cause = (f"{title} steps the scheduler {per_row} times per optimizer step "
                     f"(once per process)")
            fix = (f"set {key.rpartition('.')[2]} to {calls} ({per_row} × {length}), or "
                   + ("prepare with split_batches=True" if plan.framework == "accelerate"
                      else "step the scheduler once per optimizer step"))
        else:
            cause = f"{title} steps the scheduler {calls} times in this run"
            fix = f"set {key.rpartition('.')[2]} to {calls}, the scheduler steps of the run"
        yield Finding(
            WARNING, "loop-horizon-short",
            f"{key.rpartition('.')[2]} is {length} scheduler steps, but {cause}: the schedule "
            f"ends at optimizer step {end} of {rows}"
            + (f" ({100 * end / rows:.0f}% of the run)" if rows else ""),
            end if end < rows else None, key, fix,
        )
    elif length > calls:
        got = 100 * calls / length
        if plan.interval == "epoch" and length >= rows > calls:
            yield Finding(
                WARNING, "loop-horizon-long",
                f"{key.rpartition('.')[2]} is {length}, a length in optimizer steps ({rows} in "
                f"this run), but {title} steps this scheduler once per epoch: {calls} times, "
                f"{got:.1f}% of its schedule",
                None, key,
                f"step it every optimizer step (interval: step), or set "
                f"{key.rpartition('.')[2]} to {calls}, counted in epochs",
            )
        else:
            yield Finding(
                WARNING, "loop-horizon-long",
                f"{key.rpartition('.')[2]} is {length} scheduler steps, but {title} steps the "
                f"scheduler {calls} times in this run: it gets {got:.0f}% of the way through "
                "its schedule",
                None, key, f"set {key.rpartition('.')[2]} to {calls} to finish it in the run",
            )
    if per_row > 1 and plan.interval == "step" and length >= calls:
        yield _per_process(spec, title, per_row)


def _per_process(spec: Spec, title: str, per_row: int) -> Finding:
    node = spec.scheduler
    if node.info.takes_metric:
        what = (f"{node.type}'s patience and cooldown count scheduler steps, so each "
                f"optimizer step's metric is seen {per_row} times")
    else:
        what = "the schedule runs that many times faster than the optimizer steps"
    return Finding(
        WARNING, "loop-steps-per-process",
        f"{title} steps the scheduler {per_row} times per optimizer step: {what}",
        None, "training.world_size",
        "prepare with split_batches=True, or step the scheduler outside accelerate "
        "(do not pass it to accelerator.prepare)" if spec.plan.framework == "accelerate"
        else "step the scheduler once per optimizer step",
    )


def _windows(spec: Spec, title: str) -> Iterator[Finding]:
    """An epoch's batches that do not fill the last accumulation window."""
    plan, training = spec.plan, spec.training or {}
    ga = int(training.get("grad_accum", 1))
    left = plan.batches_per_epoch % ga
    if ga == 1 or not left:
        return
    rule = RULES[plan.framework]
    if rule.windows == "epoch-ceil":
        what = (f"the last optimizer step of every epoch runs on {left} of {ga} micro-batches "
                f"({plan.batches_per_epoch} batches per epoch)")
        fix = f"make batches per epoch a multiple of grad_accum {ga} for even steps"
    elif rule.windows == "epoch-floor":
        what = (f"the last {left} micro-batches of every epoch make no optimizer step of "
                f"their own ({title} counts {plan.batches_per_epoch} // {ga} steps per epoch)")
        fix = f"make batches per epoch a multiple of grad_accum {ga}"
    else:
        what = (f"accumulation windows of {ga} micro-batches run across epoch ends "
                f"({plan.batches_per_epoch} batches per epoch)")
        fix = f"make batches per epoch a multiple of grad_accum {ga} to keep epochs apart"
    yield Finding(INFO, "loop-partial-window", f"{title}: {what}", None,
                  "training.grad_accum", fix)


def without_superseded(findings: list[Finding]) -> list[Finding]:
    """``findings`` less the generic ones a loop finding on the same key explains."""
    explained = {f.param for f in findings if f.code.startswith("loop-horizon")}
    return [f for f in findings if not (f.code in SUPERSEDED and f.param in explained)]


def _horizon(node: SchedulerSpec) -> tuple[int, str] | None:
    """The scheduler steps the schedule is made for, and the key that sets them.

    A SequentialLR's horizon is its last child's, from the last milestone; schedulers
    with no length (StepLR, MultiStepLR) have none.
    """
    handovers = node.info.handovers(node.params)
    if handovers and node.children and len(handovers) == len(node.children) - 1:
        last = _horizon(node.children[-1])
        if last is None:
            return None
        return handovers[-1] + last[0], last[1]
    key = node.info.length_param
    if key is None:
        return None
    value = node.params.get(key)
    unless = node.info.length_unless
    if not value and unless and all(node.params.get(k) for k in unless):
        value, key = node.params[unless[0]] * node.params[unless[1]], unless[0]
    if not value:
        return None
    return int(value), f"{node.path}.{key}"
