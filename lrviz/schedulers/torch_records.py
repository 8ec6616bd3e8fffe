"""The behaviour of torch's schedulers that lrviz knows: one record class each.

Each class adds to the shared :class:`~lrviz.schedulers.base.Scheduler` record the hooks
its scheduler needs (natural length, events, relations between parameters, its own
``lrviz check`` pitfalls); :mod:`lrviz.schedulers.torch` fills them with each class's
parameters. Nothing here imports torch.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from lrviz.schedulers.base import (
    ANNEALING,
    CYCLE_LENGTH,
    ERROR,
    FALLBACK_LENGTH,
    GAMMA,
    INFO,
    MILESTONES,
    RAMPS,
    WARNING,
    ZERO_LENGTH,
    Finding,
    Moment,
    Node,
    Run,
    Scheduler,
    Span,
    as_list,
    show,
)

# ------------------------------------------------------------------ the records' hooks
# One class per scheduler whose behaviour differs from the defaults of ``Scheduler``;
# its record (in TABLE below) is an instance of it.


@dataclass(frozen=True)
class DecayRecord(Scheduler):
    """StepLR, MultiStepLR, ExponentialLR: the lr times gamma at each decay."""

    def _first_decay(self, run: Run, span: Span) -> int | None:
        """The row of the first decay, if the run has it."""
        return None

    def pitfalls(self, stage: str, run: Run, span: Span) -> Iterator[Finding]:
        if stage != GAMMA:
            return
        first = self._first_decay(run, span)
        g = self.value(span.node.params, "gamma")
        param = run.join(span.node.path, "gamma")
        if g > 1:
            yield run.finding(
                WARNING, "gamma-above-one",
                f"gamma {run.num(g)} > 1: {self.name} multiplies the lr up, "
                "so it grows instead of decaying",
                first, param, f"use a gamma below 1 (e.g. {run.num(1 / g)})",
            )
        elif g == 1:
            yield run.finding(INFO, "gamma-one", f"gamma is 1: {self.name} never changes the lr",
                              None, param, "use a gamma below 1, or drop the scheduler")


@dataclass(frozen=True)
class StepLRRecord(DecayRecord):
    def natural_length(self, node: Node, metric_values: int) -> int:
        return 4 * node.params["step_size"]

    def events(self, node: Node, offset: int, horizon: int, unit: str) -> Iterator[Moment]:
        size, gamma = node.params["step_size"], self.value(node.params, "gamma")
        for epoch in range(size, horizon - offset + 1, size):
            yield offset + epoch, f"{self.name}: lr x {gamma:g}", "drop"

    def _first_decay(self, run: Run, span: Span) -> int | None:
        return run.row(span, span.node.params["step_size"])


@dataclass(frozen=True)
class MultiStepLRRecord(DecayRecord):
    def natural_length(self, node: Node, metric_values: int) -> int:
        last = max(node.params["milestones"], default=0)
        return max(10, last + max(1, last // 4))

    def events(self, node: Node, offset: int, horizon: int, unit: str) -> Iterator[Moment]:
        gamma = self.value(node.params, "gamma")
        for epoch in sorted(set(node.params["milestones"])):
            yield offset + epoch, f"{self.name} milestone {epoch}: lr x {gamma:g}", "drop"

    def _first_decay(self, run: Run, span: Span) -> int | None:
        ms = span.node.params["milestones"]
        return run.row(span, min(ms)) if ms else None

    def pitfalls(self, stage: str, run: Run, span: Span) -> Iterator[Finding]:
        if stage == MILESTONES:
            yield from self._milestones(run, span)
        else:
            yield from super().pitfalls(stage, run, span)

    def _milestones(self, run: Run, span: Span) -> Iterator[Finding]:
        """Duplicate (gamma twice), unsorted (harmless) or unreachable milestones."""
        node, spec = span.node, run.spec
        ms = list(node.params["milestones"])
        param = run.join(node.path, "milestones")
        g = self.value(node.params, "gamma")
        for m, n in sorted(Counter(ms).items()):
            if n > 1:
                yield run.finding(
                    WARNING, "duplicate-milestones",
                    f"milestone {m} is listed {n} times: {self.name} counts it {n} times and "
                    f"multiplies the lr by gamma**{n} ({run.num(g ** n)}) there",
                    run.row(span, m), param, f"list {m} once (or mean gamma**{n} there)",
                )
        if ms != sorted(ms):
            yield run.finding(INFO, "unsorted-milestones",
                              f"milestones are not in increasing order; harmless for {self.name}, "
                              "which counts them, but easy to misread",
                              None, param, f"write them sorted: {sorted(set(ms))}")
        past = sorted({m for m in ms if run.row(span, m) is None})
        if past:
            none = len(past) == len(set(ms))
            yield run.finding(
                WARNING if none else INFO, "milestone-past-end",
                f"milestone{'s' if len(past) > 1 else ''} {', '.join(map(str, past))} "
                f"{'lie' if len(past) > 1 else 'lies'} past the run's {span.length} scheduler "
                "steps" + (": the lr never changes" if none else ": that decay never happens"),
                None, param,
                "check the units: milestones count scheduler steps "
                f"({'epochs' if spec.interval == 'epoch' else 'training steps'} here)",
            )


@dataclass(frozen=True)
class RampRecord(Scheduler):
    """ConstantLR, LinearLR, PolynomialLR and SWALR: a change over ``ramp_param`` steps,
    then a constant lr."""

    ramp_param: str = "total_iters"

    def natural_length(self, node: Node, metric_values: int) -> int:
        return max(10, 2 * self.value(node.params, self.ramp_param))

    def events(self, node: Node, offset: int, horizon: int, unit: str) -> Iterator[Moment]:
        length = self.value(node.params, self.ramp_param)
        yield offset + length, f"{self.name}: end of the {length}-{unit} ramp", "warmup"


@dataclass(frozen=True)
class LinearLRRecord(RampRecord):
    def lr_param_at(self, params: dict[str, Any], local: int) -> str | None:
        return "start_factor" if local == 0 else self.lr_param

    def pitfalls(self, stage: str, run: Run, span: Span) -> Iterator[Finding]:
        p = span.node.params
        iters = self.value(p, "total_iters")
        start, end = self.value(p, "start_factor"), self.value(p, "end_factor")
        if start == end:
            return
        if stage == ZERO_LENGTH and iters == 0:
            yield run.finding(
                WARNING, "ramp-of-zero-length",
                f"{self.name} with total_iters 0 never ramps: torch holds the lr at "
                f"start_factor ({run.num(start)}) times the initial lr for the whole run and "
                f"never reaches end_factor ({run.num(end)})",
                run.row(span, 0), run.join(span.node.path, "total_iters"),
                "set total_iters to the ramp's length in scheduler steps (>= 1)")
        elif stage == RAMPS:
            what = (f"{self.name} ramps the lr factor from {run.num(start)} to {run.num(end)} "
                    f"over {iters} scheduler steps")
            yield from run.ramp(span, "total_iters", iters, start < end, what)


@dataclass(frozen=True)
class ConstantLRRecord(RampRecord):
    def pitfalls(self, stage: str, run: Run, span: Span) -> Iterator[Finding]:
        p = span.node.params
        iters, factor = self.value(p, "total_iters"), self.value(p, "factor")
        if factor == 1:
            return
        if stage == ZERO_LENGTH and iters == 0:
            yield run.finding(
                WARNING, "ramp-of-zero-length",
                f"{self.name} with total_iters 0 never ends: torch holds the lr at factor "
                f"({run.num(factor)}) times the initial lr for the whole run",
                run.row(span, 0), run.join(span.node.path, "total_iters"),
                "set total_iters to the scheduler steps the factor should last (>= 1)")
        elif stage == RAMPS and span.to_end:  # a milestone ends it as total_iters would
            what = f"{self.name} scales the lr by {run.num(factor)} for {iters} scheduler steps"
            yield from run.ramp(span, "total_iters", iters, True, what)


@dataclass(frozen=True)
class PolynomialLRRecord(RampRecord):
    def events(self, node: Node, offset: int, horizon: int, unit: str) -> Iterator[Moment]:
        return iter(())  # its decay just ends at 0: the curve shows it

    def pitfalls(self, stage: str, run: Run, span: Span) -> Iterator[Finding]:
        if stage == RAMPS:
            iters = self.value(span.node.params, "total_iters")
            what = f"{self.name} decays the lr to 0 over {iters} scheduler steps"
            yield from run.ramp(span, "total_iters", iters, False, what)


@dataclass(frozen=True)
class ExponentialLRRecord(DecayRecord):
    def natural_length(self, node: Node, metric_values: int) -> int:
        gamma = node.params["gamma"]
        if 0 < gamma < 1:  # until the lr is a hundredth of where it started
            return min(100_000, max(10, math.ceil(math.log(0.01) / math.log(gamma))))
        return 100

    def _first_decay(self, run: Run, span: Span) -> int | None:
        return run.row(span, 1)


@dataclass(frozen=True)
class CosineRecord(Scheduler):
    """CosineAnnealingLR and CosineAnnealingWarmRestarts: a cosine down to eta_min."""

    def pitfalls(self, stage: str, run: Run, span: Span) -> Iterator[Finding]:
        if stage != ANNEALING:
            return
        initial = run.initial_lrs()
        eta_min = self.value(span.node.params, "eta_min")
        above = [i for i, lr in enumerate(initial) if eta_min > lr]
        if above:
            lr = initial[above[0]]
            group = f" of param group {above[0]}" if len(initial) > 1 else ""
            yield run.finding(
                WARNING, "eta-min-above-lr",
                f"eta_min {run.num(eta_min)} is above the initial lr {run.num(lr)}{group}: "
                "the 'annealing' raises the lr",
                None, run.join(span.node.path, "eta_min"),
                f"set eta_min below {run.num(lr)} (e.g. {run.num(lr / 100)})",
            )


@dataclass(frozen=True)
class CosineAnnealingLRRecord(CosineRecord):
    def natural_length(self, node: Node, metric_values: int) -> int:
        p = node.params
        return p["T_max"] + 1 if "T_max" in p else FALLBACK_LENGTH

    def events(self, node: Node, offset: int, horizon: int, unit: str) -> Iterator[Moment]:
        t_max = node.params["T_max"]
        for k, epoch in enumerate(range(t_max, horizon - offset + 1, t_max)):
            what = "reaches eta_min" if k % 2 == 0 else "back at the initial lr"
            yield offset + epoch, f"{self.name} {what} (T_max {t_max})", "phase"

    def pitfalls(self, stage: str, run: Run, span: Span) -> Iterator[Finding]:
        yield from super().pitfalls(stage, run, span)
        if stage != ANNEALING:
            return
        node, p = span.node, span.node.params
        eta_min = self.value(p, "eta_min")
        t_max = p["T_max"]
        if t_max > span.length:
            yield run.finding(
                WARNING, "cosine-unfinished",
                f"T_max is {t_max} but {self.name} runs {span.length} scheduler steps: "
                f"the lr never comes down to eta_min ({run.num(eta_min)})",
                None, run.join(node.path, "T_max"),
                f"set T_max to {span.length}, the scheduler steps it runs for",
            )
            return
        rise = run.row(span, t_max + 1)
        if rise is None or not any(eta_min != lr for lr in run.initial_lrs()):
            return
        if span.direct and run.trace is not None:
            hi = run.rows(span)[1]
            rise = run.first_rise(rise, min(hi, run.trace.steps))
            if rise is None:
                return
        yield run.finding(
            WARNING, "cosine-rises",
            f"{self.name} reaches eta_min at T_max ({t_max}) and then rises again "
            f"from step {rise}: torch's cosine is periodic, it does not stay at eta_min",
            rise, run.join(node.path, "T_max"),
            f"set T_max to {span.length} (the scheduler steps it runs for)"
            + (", or end the run there" if span.to_end else
               ", or start the next SequentialLR stage there"),
        )


@dataclass(frozen=True)
class CosineAnnealingWarmRestartsRecord(CosineRecord):
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
class CyclicLRRecord(Scheduler):
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

    def pitfalls(self, stage: str, run: Run, span: Span) -> Iterator[Finding]:
        p = span.node.params
        if stage != GAMMA or self.value(p, "mode") != "exp_range" or p.get("scale_fn"):
            return
        g = self.value(p, "gamma")
        param = run.join(span.node.path, "gamma")
        if g > 1:
            yield run.finding(
                WARNING, "gamma-above-one",
                f"gamma {run.num(g)} > 1: {self.name} multiplies the amplitude up, "
                "so it grows instead of decaying",
                None, param, f"use a gamma below 1 (e.g. {run.num(1 / g)})",
            )
        elif g == 1:
            # exp_range's one difference from triangular is gamma; left at torch's default
            # it is an oversight (a warning), written as 1 a choice (said, as for StepLR)
            given = "gamma" in p
            yield run.finding(
                INFO if given else WARNING, "gamma-one",
                "mode exp_range with gamma 1" + ("" if given else " (torch's default)")
                + " is triangular: the cycles' amplitude never shrinks",
                None, param, "set gamma below 1 (e.g. 0.999) for shrinking cycles, or write "
                "mode: triangular")


@dataclass(frozen=True)
class OneCycleLRRecord(Scheduler):
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

    @staticmethod
    def _total(p: dict[str, Any]) -> tuple[int | None, str, bool]:
        """The cycle's length, the key that sets it, and whether epochs do."""
        by_epochs = bool(p.get("epochs") and p.get("steps_per_epoch"))
        total = p["epochs"] * p["steps_per_epoch"] if by_epochs else p.get("total_steps")
        return total, "epochs" if by_epochs else "total_steps", by_epochs

    def crash(self, run: Run, span: Span, text: str, said: str, row: int) -> Finding | None:
        if "Tried to step" not in text:
            return None
        need = span.length if span.to_end else max(1, span.length - 1)
        total, key, by_epochs = self._total(span.node.params)
        fix = (f"set epochs * steps_per_epoch to at least {need}" if by_epochs
               else f"set total_steps to at least {need}")
        return run.finding(
            ERROR, "onecycle-overstep",
            f"{self.name} is stepped more than its {total} total steps; torch raises {said}",
            row, run.join(span.node.path, key),
            f"{fix} (the scheduler steps it gets), or shorten the run",
        )

    def pitfalls(self, stage: str, run: Run, span: Span) -> Iterator[Finding]:
        if stage != CYCLE_LENGTH:
            return
        p = span.node.params
        total, key, by_epochs = self._total(p)
        if total is None or total <= span.length:
            return
        warming = span.length < total * self.value(p, "pct_start")
        yield run.finding(
            WARNING, "onecycle-unfinished",
            f"{self.name} is set for {total} steps but gets {span.length}: it stops "
            f"{'while still warming up' if warming else 'mid-anneal'}, far above its final lr",
            None, run.join(span.node.path, key),
            ("set epochs * steps_per_epoch" if by_epochs else "set total_steps")
            + f" to {span.length}" + (
                "" if run.spec.interval == "step" else
                " or step it every step (interval: step), as OneCycleLR expects"),
        )


@dataclass(frozen=True)
class SequentialLRRecord(Scheduler):
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

    def pitfalls(self, stage: str, run: Run, span: Span) -> Iterator[Finding]:
        if stage == MILESTONES:
            yield from self._milestones(run, span)

    def _milestones(self, run: Run, span: Span) -> Iterator[Finding]:
        """Unsorted milestones (torch bisects them), duplicates and unreachable ones: a
        child that never runs."""
        node, spec = span.node, run.spec
        ms = list(node.params["milestones"])
        param = run.join(node.path, "milestones")
        children = node.children
        if ms != sorted(ms):
            # bisect_right changes its answer only where the epoch crosses a milestone value
            points = sorted({0, *(m for m in ms if 0 <= m < span.length)})
            real = [_active(ms, e) for e in points]
            meant = [_active(sorted(ms), e) for e in points]
            diff = [e for e, a, b in zip(points, real, meant, strict=True) if a != b]
            if not diff:
                yield run.finding(
                    INFO, "unsorted-milestones",
                    "milestones are not in increasing order (no effect within this run)",
                    None, param, f"write them sorted: {sorted(ms)}")
                return
            never = [i for i in range(len(children)) if i not in real]
            lost = ""
            if never:
                names = ", ".join(f"schedulers[{i}]" for i in never)
                lost = f"; {names} never run{'s' if len(never) == 1 else ''}"
            at = points.index(diff[0])
            row = run.row(span, diff[0])
            yield run.finding(
                WARNING, "unsorted-milestones",
                f"milestones are not in increasing order, but torch's {self.name} looks them "
                f"up with bisect, which assumes they are: from step {row} it runs "
                f"schedulers[{real[at]}] instead of schedulers[{meant[at]}]{lost}",
                row, param, f"write them sorted: {sorted(ms)}",
            )
            return
        for i, child in enumerate(children):
            lo = 0 if i == 0 else ms[i - 1]
            hi = ms[i] if i < len(ms) else None
            if i > 0 and lo == hi:
                yield run.finding(
                    WARNING, "duplicate-milestones",
                    f"milestone {lo} is listed twice: schedulers[{i}] ({child.type}) never runs",
                    run.row(span, lo), param, f"list {lo} once, or drop schedulers[{i}]",
                )
            elif hi == 0:
                yield run.finding(
                    WARNING, "scheduler-never-runs",
                    f"the first milestone is 0: schedulers[0] ({child.type}) never runs",
                    None, child.path, "drop it, or start the milestones above 0",
                )
            elif lo >= span.length:
                of = "the run's" if span.to_end else f"{node.type}'s"
                yield run.finding(
                    WARNING, "scheduler-never-runs",
                    f"schedulers[{i}] ({child.type}) starts at milestone {lo}, past {of} "
                    f"{span.length} scheduler steps: it never runs",
                    None, child.path,
                    "run longer, or check the units: milestones count scheduler steps "
                    f"({'epochs' if spec.interval == 'epoch' else 'training steps'} here)",
                )


def _active(milestones: list[int], epoch: int) -> int:
    """The child SequentialLR runs at ``epoch``: torch's own ``bisect_right``."""
    return bisect_right(milestones, epoch)


@dataclass(frozen=True)
class ChainedSchedulerRecord(Scheduler):
    def natural_length(self, node: Node, metric_values: int) -> int:
        return max(c.info.natural_length(c, metric_values) for c in node.children)

    def events(self, node: Node, offset: int, horizon: int, unit: str) -> Iterator[Moment]:
        for child in node.children:
            yield from child.info.events(child, offset, horizon, unit)
