"""``lrviz check``: a dry run that reports what would go wrong in training.

:func:`check_spec` runs a spec with the real torch scheduler (the same run as ``plot``)
and hands the spec and its trace to every function in :data:`CHECKS`. Each check is
small and independent, a ``(spec, trace) -> Iterable[Finding]``; it reads what it can
from the trace (what torch actually did) and falls back on the spec for what the trace
cannot show (parameters whose effect lies past the end of the run, say).

A crash in ``scheduler.step()`` is itself a finding, with torch's own message and the
row after which it happens; the checks then look at the rows before the crash.

Steps in findings are row indices as in README "What a row means": row ``k`` is the lr of
training step ``k``. A finding about a ``scheduler.step()`` call (a crash, a cut
ReduceLROnPlateau skips) names the row after which that call runs.

Nothing here imports torch or rich at module level.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lrviz.errors import RunError
from lrviz.loop_checks import loop_findings, without_superseded
from lrviz.resume_checks import resume_findings, sampled_resume_findings
from lrviz.schedulers.base import (
    ANNEALING,
    CYCLE_LENGTH,
    ERROR,
    GAMMA,
    INFO,
    MILESTONES,
    PAST_SCHEDULE,
    RAMPS,
    SEVERITIES,
    WARNING,
    ZERO_LENGTH,
)
from lrviz.spans import (
    Run,
    Span,
    _initial_lrs,
    _join,
    _num,
    _per_group,
    _rows,
    _running,
    _spans,
)
from lrviz.spec import SchedulerSpec, Spec
from lrviz.trace import CODES, Finding

if TYPE_CHECKING:
    import numpy as np

    from lrviz.trace import Trace

__all__ = ["CODES", "ERROR", "INFO", "WARNING", "Finding", "Report", "Run", "Span", "check_spec",
           "exit_code", "findings"]


@dataclass
class Report:
    """Everything ``check`` found in one spec, and the trace it looked at."""

    name: str
    source: str | None
    findings: list[Finding]
    trace: Trace | None = None  # None when the run crashed before its first scheduler step

    @property
    def has_errors(self) -> bool:
        """True when a finding is an error (``lrviz check`` then exits with 1)."""
        return any(f.severity == ERROR for f in self.findings)

    def count(self, severity: str) -> int:
        """How many findings have ``severity``."""
        return sum(f.severity == severity for f in self.findings)

    def to_dict(self) -> dict[str, Any]:
        """The report as plain JSON-able data (without the trace)."""
        return {
            "name": self.name,
            "source": self.source,
            "errors": self.count(ERROR),
            "warnings": self.count(WARNING),
            "infos": self.count(INFO),
            "findings": [f.to_dict() for f in self.findings],
        }


Check = Callable[[Spec, "Trace | None"], Iterable[Finding]]
CHECKS: list[Check] = []  # every check, run in this order by check_spec


def check(fn: Check) -> Check:
    """Register ``fn`` as a check (decorator)."""
    CHECKS.append(fn)
    return fn


# ------------------------------------------------------------------------- entry points


def check_spec(spec: Spec, resume_sample: bool = False) -> Report:
    """Run ``spec`` against torch and return every finding, most severe first.

    A crash while stepping becomes an error finding, and findings at later steps are
    dropped (training never gets there); an invalid spec (including an
    optimizer or scheduler torch refuses to build) raises :class:`~lrviz.errors.SpecError`
    as ``plot`` does. ``resume_sample`` (``check --resume-at auto``) also resumes the run
    at a quarter, half and three quarters in (:mod:`lrviz.resume_checks`).
    """
    from lrviz.engine import simulate

    findings: list[Finding] = []
    trace: Trace | None
    crash: Finding | None = None
    try:
        trace = simulate(spec)
    except RunError as exc:
        row = _crash_row(exc)
        crash = _crash_finding(spec, exc, row)
        trace = None
        if row:  # the rows before the crash, for the other checks
            try:
                trace = simulate(spec.cut(row))
            except RunError:
                trace = None
    for fn in CHECKS:
        findings.extend(fn(spec, trace))
    if resume_sample and trace is not None and crash is None:  # check --resume-at auto
        findings.extend(sampled_resume_findings(spec, trace))
    findings = without_superseded(findings)
    if crash is not None:  # training never gets past the crash
        last = crash.step if crash.step is not None else -1
        findings = [crash, *(f for f in findings if f.step is None or f.step <= last)]
    findings.sort(key=lambda f: (SEVERITIES.index(f.severity), -1 if f.step is None else f.step))
    return Report(spec.name, spec.source, findings, trace)


def findings(spec: Spec, trace: Trace) -> list[Finding]:
    """Every finding of a run that completed, most severe first (what ``plot`` prints)."""
    found = without_superseded([f for fn in CHECKS for f in fn(spec, trace)])
    found.sort(key=lambda f: (SEVERITIES.index(f.severity), -1 if f.step is None else f.step))
    return found


def exit_code(reports: Iterable[Report]) -> int:
    """1 when any report has an error finding, else 0 (README "Errors")."""
    return 1 if any(r.has_errors for r in reports) else 0


# ------------------------------------------------------------------------------ crashes

def _crash_row(exc: RunError) -> int:
    """The row after which ``scheduler.step()`` failed."""
    return exc.step or 0


def _crash_finding(spec: Spec, exc: RunError, row: int) -> Finding:
    cause = exc.__cause__ or exc
    text = str(cause) or "(no message)"
    said = f"{type(cause).__name__}: {text}"
    run = Run(spec, None)
    for span in _spans(spec):  # a scheduler that explains its own crash (OneCycleLR's)
        explained = span.node.info.crash(run, span, text, said, row)
        if explained is not None:
            return explained
    param = spec.scheduler.path
    exprs = [(s, k) for s in spec.scheduler.walk() for k in ("lr_lambda", "scale_fn")
             if s.params.get(k) is not None]
    if len(exprs) == 1 and type(cause).__name__ == "ExpressionError":
        param = _join(exprs[0][0].path, exprs[0][1])
    fix = "training would stop here with the same error; change the spec"
    # the failing call is the top scheduler's step number `epoch`
    epoch = spec.plan.position(row) + 1
    nested = [c for span in _spans(spec)
              for m, c in zip(span.node.info.handovers(span.node.params) or [],
                              span.node.children[1:], strict=False)
              if c.info.composite and span.start + m == epoch]
    if nested:  # torch 2.13: NotImplementedError from get_lr; older: step(0) refused
        param = nested[0].path
        fix = (f"torch's SequentialLR cannot restart a nested {nested[0].type} at a milestone;"
               " flatten the composite into one SequentialLR")
    return Finding(ERROR, "crash", f"{_stepper(exc)} fails after step {row}: {said}",
                   row, param, fix)


def _stepper(exc: RunError) -> str:
    """``"OneCycleLR.step()"`` from the engine's message, or ``scheduler.step()``."""
    found = re.match(r"(\w+\.step\(\))", exc.message)
    return found.group(1) if found else "scheduler.step()"


# ---------------------------------------------------------------- where schedulers run


def _pitfalls(stage: str, spec: Spec, trace: Trace | None) -> Iterator[Finding]:
    """Stage ``stage`` of the checks: each running scheduler's own pitfalls."""
    run = Run(spec, trace)
    for span in _running(spec):
        yield from span.node.info.pitfalls(stage, run, span)


# ------------------------------------------------------------------------- the checks


@check
def lr_values(spec: Spec, trace: Trace | None) -> Iterator[Finding]:
    """lr values training cannot use: inf/NaN and negative (errors), zero (warning)."""
    import numpy as np

    if trace is None or trace.steps == 0:
        return
    lrs = trace.lrs

    def first(mask: np.ndarray) -> tuple[int, int] | None:
        """(row, group) of the first masked value."""
        rows = np.flatnonzero(mask.any(axis=0))
        if not rows.size:
            return None
        row = int(rows[0])
        return row, int(np.flatnonzero(mask[:, row])[0])

    def lr_of(group: int) -> str:
        return f"the lr of param group {group}" if trace.groups > 1 else "the lr"

    finite = np.isfinite(lrs)
    found = first(~finite)
    if found is not None:
        row, group = found
        node, param = _culprit(spec, row)
        yield Finding(ERROR, "lr-not-finite",
                      f"{lr_of(group)} is {_num(float(lrs[group, row]))} from step {row} on "
                      f"({int((~finite).any(axis=0).sum())} of {trace.steps} steps)",
                      row, param, "keep the schedule's factors bounded so the lr stays finite")
    found = first(finite & (lrs < 0))
    if found is not None:
        row, group = found
        node, param = _culprit(spec, row)
        yield Finding(ERROR, "lr-negative",
                      f"{lr_of(group)} is negative ({_num(float(lrs[group, row]))}) at step "
                      f"{row}: training would climb the loss",
                      row, param, "keep the schedule's factor at or above 0 over the whole run")
    zero = lrs == 0
    found = first(zero)
    if found is not None:
        row, group = found
        count = int(zero[group].sum())
        node, param = _culprit(spec, row)
        fix = _zero_fix(node)
        if _initial_lrs(spec)[group] == 0:  # the optimizer's lr, not the schedule
            param = (f"optimizer.param_groups[{group}].lr" if spec.optimizer.param_groups
                     else "optimizer.lr")
            fix = "give it an lr above 0, or leave its parameters out to freeze them"
        if zero.all():
            yield Finding(ERROR, "lr-zero", "the lr is 0 at every step: nothing is learned",
                          row, param, fix)
        elif count == 1 and row == trace.steps - 1:
            yield Finding(INFO, "lr-zero",
                          f"{lr_of(group)} reaches 0 at the last step ({row}), which learns "
                          "nothing", row, param, "end the run one step earlier, or " + fix)
        elif count == 1 and row == 0 and trace.steps > 1 and lrs[:, 1].all():
            yield Finding(INFO, "lr-zero",
                          f"{lr_of(group)} is 0 at step 0 only (a warmup that starts from 0): "
                          "the first step learns nothing",
                          row, param, "harmless; a warmup from a small factor avoids it")
        else:
            yield Finding(WARNING, "lr-zero",
                          f"{lr_of(group)} is 0 at {count} of {trace.steps} steps, first at "
                          f"step {row}: those steps learn nothing", row, param, fix)


# An lr under this fraction of its peak moves the weights by nothing that matters: about
# float32's resolution relative to 1 (1.2e-7) is already lost in most updates.
COLLAPSE = 1e-6
# ... and a schedule that ends there (a cosine or a linear decay to 0) only brushes it in
# its last rows; a collapse holds for more of the run than this fraction.
COLLAPSE_SHARE = 0.05


@check
def lr_collapses(spec: Spec, trace: Trace | None) -> Iterator[Finding]:
    """The lr falls under a millionth of its peak long before the end: training stalls.

    The commonest cause is a decay written in epochs but stepped every batch (StepLR
    step_size 3 with 100 steps an epoch is a hundredth of a millionth by step 24).
    Exactly 0, negative and non-finite values are :func:`lr_values`' findings.
    """
    import numpy as np

    if trace is None or trace.steps < 2:
        return
    for g in range(trace.groups):
        lr = trace.lrs[g]
        finite = lr[np.isfinite(lr)]
        peak = float(finite.max()) if finite.size else 0.0
        if peak <= 0:
            continue
        under = np.isfinite(lr) & (lr < peak * COLLAPSE)
        rows = np.flatnonzero(under)
        if not rows.size or rows[0] == 0 or lr[rows[0]] <= 0:
            continue
        if rows.size <= COLLAPSE_SHARE * trace.steps:
            continue
        row = int(rows[0])
        node, param = _culprit(spec, row)
        group = f" of param group {g}" if trace.groups > 1 else ""
        fix = ("decay more slowly (a gamma closer to 1, fewer or later decays), or give it a "
               "floor")
        # ReduceLROnPlateau's cuts follow the metric: with a synthetic one, only a may-be
        synthetic = node.info.plateau and spec.metric is not None \
            and "generator" in spec.metric.source
        if node.info.plateau:
            param = _join(node.path, "min_lr")
            fix = "set min_lr, a floor ReduceLROnPlateau does not cut below"
        elif spec.interval == "step" and spec.steps_per_epoch > 1:
            what = node.info.pace_param or "its lengths"
            fix = (f"{node.type} steps every training step, {spec.steps_per_epoch} times an "
                   f"epoch: if {what} counts epochs, set scheduler.interval: epoch "
                   "(--interval epoch)")
            param = "scheduler.interval"
        yield Finding(
            INFO if synthetic else WARNING, "lr-collapses",
            f"the lr{group} collapses: from step {row} it is below {COLLAPSE:g} of its peak "
            f"({_num(float(lr[row]))} against {_num(peak)}) for {rows.size} of {trace.steps} "
            "steps, which then learn next to nothing"
            + (" (with the synthetic metric lrviz fed)" if synthetic else ""),
            row, param, fix,
        )
        return  # one group says it; the others usually collapse with it


@check
def ramp_of_zero_length(spec: Spec, trace: Trace | None) -> Iterator[Finding]:
    """A warmup ramp (LinearLR, ConstantLR) with ``total_iters: 0``: it never happens,
    the start factor is held for the whole run."""
    return _pitfalls(ZERO_LENGTH, spec, trace)


@check
def nested_composite(spec: Spec, trace: Trace | None) -> Iterator[Finding]:
    """A ChainedScheduler or SequentialLR as the first scheduler of a SequentialLR.

    SequentialLR's constructor undoes its children's initial steps and then steps the
    first child once more; a composite child passes that step on to the schedulers inside
    it, which then run one step ahead of the same composite built alone (torch 2.13; a
    composite at a later milestone crashes instead, which ``crash`` reports).
    """
    spans = _spans(spec)
    for span in spans:
        node = span.node
        if node.info.handovers(node.params) is None or not node.children:
            continue
        child = node.children[0]
        inner = next((s for s in spans if s.node is child), None)
        if not child.info.composite or inner is None or inner.length == 0:
            continue
        compared = _against_alone(spec, trace, child, inner)
        if compared is False:
            continue  # no difference within this run
        row, shown = compared if isinstance(compared, tuple) else (None, "")
        yield Finding(
            WARNING, "nested-composite-early",
            f"{child.type} is the first scheduler of a SequentialLR: torch's SequentialLR "
            f"steps the schedulers inside it once more when it is built, so they run one "
            f"step ahead of the same {child.type} alone{shown}",
            row, child.path,
            "put its schedulers in the outer SequentialLR itself (or a ChainedScheduler's "
            "product in one LambdaLR) instead of nesting a composite first",
        )


def _against_alone(
    spec: Spec, trace: Trace | None, child: SchedulerSpec, span: Span
) -> tuple[int, str] | bool:
    """Where the trace leaves ``child`` built alone: ``(row, "...")``, ``False`` when it
    never does in this run, ``True`` when that cannot be told from the trace."""
    import numpy as np

    from lrviz.engine import simulate

    lo, hi = _rows(spec, span)
    if trace is None or not span.direct or lo != 0 or spec.warmup is not None:
        return True
    hi = min(hi, trace.steps)
    try:
        alone = simulate(dataclasses.replace(spec.cut(hi), scheduler=child, metric=None))
    except RunError:
        return True
    differ = np.flatnonzero((trace.lrs[:, :hi] != alone.lrs[:, :hi]).any(axis=0))
    if not differ.size:
        return False
    row = int(differ[0])
    got, meant = float(trace.lrs[0, row]), float(alone.lrs[0, row])
    return row, f": from step {row} the lr is {_num(got)}, not {_num(meant)}"


def _culprit(spec: Spec, row: int) -> tuple[SchedulerSpec, str]:
    """The innermost scheduler running at ``row``, and the key path of the parameter
    that sets its lr there."""
    epoch = spec.plan.position(row)
    running = [s for s in _running(spec)
               if s.start <= epoch and (s.to_end or epoch < s.start + s.length)
               and not s.node.children]
    if not running:
        return spec.scheduler, spec.scheduler.path
    node = running[-1].node
    key = node.info.lr_param_at(node.params, epoch - running[-1].start)
    return node, _join(node.path, key) if key else node.path


def _zero_fix(node: SchedulerSpec) -> str:
    """How to keep ``node``'s lr above 0."""
    return node.info.zero_fix


@check
def momentum_overwritten(spec: Spec, trace: Trace | None) -> Iterator[Finding]:
    """The optimizer's momentum replaced by CyclicLR/OneCycleLR's ``cycle_momentum``."""
    cyclers = [s for s in spec.scheduler.walk()
               if s.info.changes_momentum and s.info.value(s.params, "cycle_momentum")]
    if not cyclers:
        return
    node = cyclers[0]
    # torch's names, or DeepSpeed's OneCycle's (cycle_min_mom at the peak lr)
    low_key, high_key = (("base_momentum", "max_momentum") if "base_momentum" in
                         node.info.param_names else ("cycle_min_mom", "cycle_max_mom"))
    low = _per_group(node.params.get(low_key, node.info.param(low_key).default))
    high = _per_group(node.params.get(high_key, node.info.param(high_key).default))
    cycled = f"{_num(min(low))}..{_num(max(high))}"
    betas = _uses_betas(spec)
    opt = spec.optimizer
    top = dict(opt.params)
    if not betas and "momentum" not in top:  # torch's default: RMSprop's is 0
        default = _momentum_default(spec)
        if default is not None:
            top["momentum"] = default
    sources = [("optimizer", top)] + [
        (f"optimizer.param_groups[{i}]", g) for i, g in enumerate(opt.param_groups)]
    for path, values in sources:
        if "momentum" in values:
            key, value = "momentum", values["momentum"]
        elif betas and "betas" in values:
            key, value = "betas", values["betas"][0]
        else:
            continue
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            continue
        what = "beta1" if betas else "momentum"
        turn_off = _join(node.path, "cycle_momentum")
        if value == 0:
            yield Finding(
                WARNING, "momentum-overwritten",
                f"{opt.type} has {what} 0"
                + (" (torch's default)" if "momentum" not in opt.params and not betas else "")
                + f", but {node.type} (cycle_momentum: true) cycles it over {cycled} from "
                "step 0: the run trains with momentum",
                0, _join(path, key),
                f"set {turn_off}: false to keep {what} 0",
            )
        elif not (path == "optimizer" and key == "momentum" and not betas and value == 0.9):
            # SGD's 0.9 is also lrviz's default, so it may not be the user's: not reported
            yield Finding(
                INFO, "momentum-overwritten",
                f"{opt.type} {what} {_num(value)} is replaced by {node.type}'s cycled "
                f"{what} ({cycled}) from step 0",
                0, _join(path, key),
                f"set {turn_off}: false to keep it, or set {low_key}/{high_key} instead",
            )


def _momentum_default(spec: Spec) -> float | None:
    """The optimizer's own default momentum, when it has a ``momentum`` keyword."""
    import inspect

    from lrviz.engine import optimizer_class

    cls = optimizer_class(spec.optimizer.type, "optimizer.type")
    param = inspect.signature(cls).parameters.get("momentum")
    default = None if param is None else param.default
    return float(default) if isinstance(default, (int, float)) else None


def _uses_betas(spec: Spec) -> bool:
    """Whether the optimizer's momentum is Adam-style ``betas[0]`` (as the engine decides)."""
    from lrviz.engine import momentum_is_beta1, optimizer_class

    return momentum_is_beta1(optimizer_class(spec.optimizer.type, "optimizer.type"))


@check
def onecycle_length(spec: Spec, trace: Trace | None) -> Iterator[Finding]:
    """A cycle longer than the steps it gets (OneCycleLR): it never anneals."""
    return _pitfalls(CYCLE_LENGTH, spec, trace)


@check
def ramps(spec: Spec, trace: Trace | None) -> Iterator[Finding]:
    """Warmups that never end (or are cut short by a milestone), decays that never finish."""
    return _pitfalls(RAMPS, spec, trace)


@check
def hf_past_training_steps(spec: Spec, trace: Trace | None) -> Iterator[Finding]:
    """A schedule stepped past its own length (a Hugging Face ``num_training_steps``): its
    lambda keeps going (a cosine rises again, a linear decay holds 0)."""
    return _pitfalls(PAST_SCHEDULE, spec, trace)


@check
def cosine(spec: Spec, trace: Trace | None) -> Iterator[Finding]:
    """Cosine rising after ``T_max``, cut short before it, or with ``eta_min`` too high."""
    return _pitfalls(ANNEALING, spec, trace)


@check
def gamma(spec: Spec, trace: Trace | None) -> Iterator[Finding]:
    """``gamma > 1`` (the lr grows) and ``gamma == 1`` (nothing happens)."""
    return _pitfalls(GAMMA, spec, trace)


@check
def milestones(spec: Spec, trace: Trace | None) -> Iterator[Finding]:
    """Unsorted, duplicate or unreachable milestones, where they change the result."""
    return _pitfalls(MILESTONES, spec, trace)


@check
def plateau_floors(spec: Spec, trace: Trace | None) -> Iterator[Finding]:
    """Cuts ReduceLROnPlateau wanted but skipped: the lr at ``min_lr``, or under ``eps``."""
    node = spec.scheduler
    if not node.info.plateau or trace is None or spec.metric is None:
        return
    from lrviz.plateau import decisions

    p = node.params
    factor, eps = node.info.value(p, "factor"), node.info.value(p, "eps")
    floors = _per_group(node.info.value(p, "min_lr"), trace.groups)
    synthetic = "generator" in spec.metric.source
    several = trace.groups > 1
    for g in range(trace.groups):
        group = f" of param group {g}" if several else ""
        # torch's own bookkeeping, replayed from the trace: what each due cut did to g
        due = [(d.row, d.groups[g]) for d in decisions(trace) if d.groups]
        below = [row for row, action in due
                 if action == "at floor" and float(trace.lrs[g, row]) < floors[g]]
        held = [row for row, action in due if action == "at floor" and row not in below]
        skipped = [row for row, action in due if action == "skipped"]
        if below:
            yield Finding(
                WARNING, "min-lr-floor",
                f"min_lr ({_num(floors[g])}) is above the lr{group} "
                f"({_num(float(trace.lrs[g, below[0]]))}): ReduceLROnPlateau can never cut "
                f"it ({len(below)} cut{'s' if len(below) > 1 else ''} without effect)",
                below[0], _join(node.path, "min_lr"),
                "set min_lr below the optimizer's lr",
            )
        if held:
            yield Finding(
                INFO, "min-lr-floor",
                f"the lr{group} is held at min_lr ({_num(floors[g])}) from step {held[0]}: "
                f"{len(held)} later cut{'s' if len(held) > 1 else ''} ReduceLROnPlateau "
                "wanted had no effect",
                held[0], _join(node.path, "min_lr"),
                "lower min_lr if the lr should keep falling",
            )
        if skipped:
            row = skipped[0]
            old = float(trace.lrs[g, row])
            yield Finding(
                INFO if synthetic else WARNING, "eps-skips-cut",
                f"the metric of step {row} triggers a cut, but the change{group} "
                f"({_num(old)} -> {_num(old * factor)}) is not above eps ({_num(eps)}), so "
                "torch skips it"
                + (f" ({len(skipped)} cuts skipped)" if len(skipped) > 1 else "")
                + (" (with the synthetic metric lrviz fed)" if synthetic else ""),
                row, _join(node.path, "eps"),
                f"lower eps below {_num(old * (1 - factor))}, or use min_lr as the floor",
            )


@check
def training_loop(spec: Spec, trace: Trace | None) -> Iterator[Finding]:
    return loop_findings(spec, trace)


@check
def torch_warnings(spec: Spec, trace: Trace | None) -> Iterator[Finding]:
    """Warnings torch raised during the run, once each."""
    if trace is None:
        return
    for text in trace.warnings:
        yield Finding(WARNING, "torch-warning", f"torch warns: {text}", None,
                      spec.scheduler.path, None)


@check
def resume_breaks(spec: Spec, trace: Trace | None) -> Iterator[Finding]:
    return resume_findings(spec, trace)
