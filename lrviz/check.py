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
import json
import re
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lrviz.errors import RunError
from lrviz.spec import SchedulerSpec, Spec

if TYPE_CHECKING:
    import numpy as np
    from rich.console import Console

    from lrviz.trace import Trace

ERROR, WARNING, INFO = "error", "warning", "info"
SEVERITIES = (ERROR, WARNING, INFO)  # most severe first

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
}


@dataclass(frozen=True)
class Finding:
    """One problem found in a spec."""

    severity: str  # "error" | "warning" | "info"
    code: str  # short stable id, e.g. "onecycle-overstep"
    message: str  # plain words, one line
    step: int | None = None  # row index (README "What a row means") where it happens
    param: str | None = None  # key path, e.g. "scheduler.schedulers[1].T_max"
    fix: str | None = None  # suggested fix, one line

    def to_dict(self) -> dict[str, Any]:
        """The finding as plain JSON-able data; ``Finding(**d)`` rebuilds it."""
        return dataclasses.asdict(self)


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


def check_spec(spec: Spec) -> Report:
    """Run ``spec`` against torch and return every finding, most severe first.

    A crash while stepping becomes an error finding, and findings at later steps are
    dropped (training never gets there); an invalid spec (including an
    optimizer or scheduler torch refuses to build) raises :class:`~lrviz.errors.SpecError`
    as ``plot`` does.
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
                trace = simulate(dataclasses.replace(spec, steps=row))
            except RunError:
                trace = None
    for fn in CHECKS:
        findings.extend(fn(spec, trace))
    if crash is not None:  # training never gets past the crash
        last = crash.step if crash.step is not None else -1
        findings = [crash, *(f for f in findings if f.step is None or f.step <= last)]
    findings.sort(key=lambda f: (SEVERITIES.index(f.severity), -1 if f.step is None else f.step))
    return Report(spec.name, spec.source, findings, trace)


def findings(spec: Spec, trace: Trace) -> list[Finding]:
    """Every finding of a run that completed, most severe first (what ``plot`` prints)."""
    found = [f for fn in CHECKS for f in fn(spec, trace)]
    found.sort(key=lambda f: (SEVERITIES.index(f.severity), -1 if f.step is None else f.step))
    return found


def exit_code(reports: Iterable[Report]) -> int:
    """1 when any report has an error finding, else 0 (README "Errors")."""
    return 1 if any(r.has_errors for r in reports) else 0


def render_reports(reports: list[Report], fmt: str, console: Console) -> None:
    """Print ``reports``: ``"text"`` one line per finding, ``"json"`` a list of report dicts.

    JSON goes to ``console.file`` unwrapped and unstyled, so it parses as written.
    """
    if fmt == "json":
        console.file.write(json.dumps([r.to_dict() for r in reports], indent=2) + "\n")
        console.file.flush()
        return
    if fmt != "text":
        raise ValueError(f"unknown format {fmt!r}; expected 'text' or 'json'")
    from rich.markup import escape

    styles = {ERROR: "bold red", WARNING: "yellow", INFO: "cyan"}
    for report in reports:
        name = escape(report.name)
        if not report.findings:
            console.print(f"[green]ok     [/] {name}: no problems found",
                          soft_wrap=True, highlight=False)
        for f in report.findings:
            where = f" step {f.step}" if f.step is not None else ""
            param = f" {escape(f.param)}:" if f.param else ""
            fix = f" [dim]fix: {escape(f.fix)}[/]" if f.fix else ""
            console.print(
                f"[{styles[f.severity]}]{f.severity:<7}[/] {name}{where}{param} "
                f"{escape(f.message)}{fix}",
                soft_wrap=True,
                highlight=False,
            )
    if not reports:  # every spec was refused, each with its own error line
        return
    totals = [sum(r.count(s) for r in reports) for s in SEVERITIES]
    parts = [f"{n} {s}{'' if n == 1 else 's'}" for n, s in zip(totals, SEVERITIES, strict=True)]
    specs = f"{len(reports)} spec{'' if len(reports) == 1 else 's'}"
    console.print(f"checked {specs}: {', '.join(parts)}", soft_wrap=True, highlight=False)


# ------------------------------------------------------------------------------ crashes

def _crash_row(exc: RunError) -> int:
    """The row after which ``scheduler.step()`` failed."""
    return exc.step or 0


def _crash_finding(spec: Spec, exc: RunError, row: int) -> Finding:
    cause = exc.__cause__ or exc
    text = str(cause) or "(no message)"
    said = f"{type(cause).__name__}: {text}"
    onecycle = [s for s in _spans(spec) if s.node.type == "OneCycleLR"]
    if onecycle and "Tried to step" in text:
        span = onecycle[0]
        p = span.node.params
        need = span.length if span.to_end else max(1, span.length - 1)
        by_epochs = bool(p.get("epochs") and p.get("steps_per_epoch"))
        total = p["epochs"] * p["steps_per_epoch"] if by_epochs else p.get("total_steps")
        key = "epochs" if by_epochs else "total_steps"
        fix = (f"set epochs * steps_per_epoch to at least {need}" if by_epochs
               else f"set total_steps to at least {need}")
        return Finding(
            ERROR, "onecycle-overstep",
            f"OneCycleLR is stepped more than its {total} total steps; torch raises {said}",
            row, _join(span.node.path, key),
            f"{fix} (the scheduler steps it gets), or shorten the run",
        )
    param = spec.scheduler.path
    exprs = [(s, k) for s in spec.scheduler.walk() for k in ("lr_lambda", "scale_fn")
             if s.params.get(k) is not None]
    if len(exprs) == 1 and type(cause).__name__ == "ExpressionError":
        param = _join(exprs[0][0].path, exprs[0][1])
    fix = "training would stop here with the same error; change the spec"
    # the failing call is the top scheduler's step number `epoch`
    epoch = (row + 1) // _every(spec)
    nested = [c for span in _spans(spec) if span.node.type == "SequentialLR"
              for m, c in zip(span.node.params["milestones"], span.node.children[1:],
                              strict=False)
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


@dataclass(frozen=True)
class _Span:
    """Where one scheduler of the tree runs, in scheduler steps (``last_epoch`` values).

    ``start`` is the top scheduler's step at which this one's own step 0 is, ``length``
    how many steps it runs in the run, ``to_end`` whether it runs to the end of the run
    (rather than being replaced at a SequentialLR milestone), ``direct`` whether the lr
    is this scheduler's own (no ChainedScheduler mixes in other factors).
    """

    node: SchedulerSpec
    start: int
    length: int
    to_end: bool
    direct: bool


def _spans(spec: Spec) -> list[_Span]:
    """Every scheduler of the spec with where it runs, depth first.

    Children of a SequentialLR with unsorted milestones are left out: torch's bisect on
    an unsorted list decides where they run (see :func:`_sequential_active`).
    """
    out: list[_Span] = []

    def visit(node: SchedulerSpec, start: int, length: int, to_end: bool, direct: bool) -> None:
        out.append(_Span(node, start, length, to_end, direct))
        if node.type == "SequentialLR":
            ms = list(node.params["milestones"])
            if ms != sorted(ms):
                return
            bounds: list[int | None] = [0, *ms, None]
            for i, child in enumerate(node.children):
                lo = min(bounds[i] or 0, length)
                nxt = bounds[i + 1]
                hi = length if nxt is None else min(nxt, length)
                ends = to_end and (nxt is None or nxt >= length)
                visit(child, start + lo, max(0, hi - lo), ends, direct)
        else:
            for child in node.children:
                visit(child, start, length, to_end, False)

    visit(spec.scheduler, 0, spec.scheduler_steps, True, True)
    return out


def _running(spec: Spec) -> list[_Span]:
    """The spans of the schedulers that run at least one step."""
    return [s for s in _spans(spec) if s.length > 0]


def _every(spec: Spec) -> int:
    return spec.steps_per_epoch if spec.interval == "epoch" else 1


def _row(spec: Spec, span: _Span, local: int) -> int | None:
    """The first row at which ``span``'s scheduler is at its own step ``local``, if any."""
    if local < 0 or (local >= span.length and not span.to_end):
        return None
    row = (span.start + local) * _every(spec)
    return row if row < spec.steps else None


def _rows(spec: Spec, span: _Span) -> tuple[int, int]:
    """The rows ``span`` covers, as a half-open range."""
    every = _every(spec)
    hi = spec.steps if span.to_end else min(spec.steps, (span.start + span.length) * every)
    return min(spec.steps, span.start * every), hi


def _initial_lrs(spec: Spec) -> list[float]:
    """Each param group's lr before any scheduler touches it (torch's ``initial_lr``)."""
    base = spec.optimizer.params.get("lr", 0.1)
    groups = spec.optimizer.param_groups or ({},)
    return [float(g.get("lr", base)) for g in groups]


def _per_group(value: Any, groups: int = 1) -> list[float]:
    """A per-group parameter as one float per group (a scalar is repeated)."""
    if isinstance(value, (list, tuple)):
        return [float(v) for v in value]
    return [float(value)] * groups


def _join(path: str, key: str) -> str:
    return f"{path}.{key}"


def _num(x: float) -> str:
    return f"{x:.6g}"


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
            what = _LENGTH_PARAM.get(node.type, "its lengths")
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


# What a schedule's pace is written in, to ask whether it was meant in epochs.
_LENGTH_PARAM = {"StepLR": "step_size", "MultiStepLR": "milestones", "ExponentialLR": "gamma",
                 "CosineAnnealingLR": "T_max", "CosineAnnealingWarmRestarts": "T_0",
                 "LinearLR": "total_iters", "ConstantLR": "total_iters",
                 "PolynomialLR": "total_iters", "CyclicLR": "step_size_up",
                 "MultiplicativeLR": "lr_lambda", "LambdaLR": "lr_lambda"}


@check
def ramp_of_zero_length(spec: Spec, trace: Trace | None) -> Iterator[Finding]:
    """LinearLR or ConstantLR with ``total_iters: 0``: the ramp never happens.

    torch applies start_factor (ConstantLR: factor) at construction and, with no steps to
    ramp over, never changes it: the lr is held there for the whole run.
    """
    for span in _running(spec):
        node, p = span.node, span.node.params
        if node.type not in ("LinearLR", "ConstantLR") or p.get("total_iters", 5) != 0:
            continue
        if node.type == "LinearLR":
            start, end = p.get("start_factor", 1 / 3), p.get("end_factor", 1.0)
            if start == end:
                continue
            what = (f"LinearLR with total_iters 0 never ramps: torch holds the lr at "
                    f"start_factor ({_num(start)}) times the initial lr for the whole run and "
                    f"never reaches end_factor ({_num(end)})")
            fix = "set total_iters to the ramp's length in scheduler steps (>= 1)"
        else:
            factor = p.get("factor", 1 / 3)
            if factor == 1:
                continue
            what = (f"ConstantLR with total_iters 0 never ends: torch holds the lr at factor "
                    f"({_num(factor)}) times the initial lr for the whole run")
            fix = "set total_iters to the scheduler steps the factor should last (>= 1)"
        first = _row(spec, span, 0)
        yield Finding(WARNING, "ramp-of-zero-length", what, first,
                      _join(node.path, "total_iters"), fix)


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
        if node.type != "SequentialLR" or not node.children:
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
    spec: Spec, trace: Trace | None, child: SchedulerSpec, span: _Span
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
        alone = simulate(dataclasses.replace(spec, scheduler=child, steps=hi, metric=None))
    except RunError:
        return True
    differ = np.flatnonzero((trace.lrs[:, :hi] != alone.lrs[:, :hi]).any(axis=0))
    if not differ.size:
        return False
    row = int(differ[0])
    got, meant = float(trace.lrs[0, row]), float(alone.lrs[0, row])
    return row, f": from step {row} the lr is {_num(got)}, not {_num(meant)}"


# The parameter that sets a scheduler's lr values, to name when those go wrong.
_LR_PARAM = {"LambdaLR": "lr_lambda", "MultiplicativeLR": "lr_lambda",
             "PolynomialLR": "total_iters", "LinearLR": "end_factor", "ConstantLR": "factor",
             "CosineAnnealingLR": "eta_min", "CosineAnnealingWarmRestarts": "eta_min",
             "ExponentialLR": "gamma", "StepLR": "gamma", "MultiStepLR": "gamma",
             "CyclicLR": "base_lr", "SWALR": "swa_lr", "OneCycleLR": "final_div_factor"}


def _culprit(spec: Spec, row: int) -> tuple[SchedulerSpec, str]:
    """The innermost scheduler running at ``row``, and the key path of the parameter
    that sets its lr there."""
    epoch = row // _every(spec)
    running = [s for s in _running(spec)
               if s.start <= epoch and (s.to_end or epoch < s.start + s.length)
               and not s.node.children]
    if not running:
        return spec.scheduler, spec.scheduler.path
    node = running[-1].node
    key = _LR_PARAM.get(node.type)
    if node.type == "LinearLR" and epoch == running[-1].start:
        key = "start_factor"
    if node.info.builder == "hf":
        warmup = node.params.get("num_warmup_steps", 0)
        key = "num_warmup_steps" if epoch - running[-1].start <= warmup else (
            "num_training_steps" if "num_training_steps" in node.info.param_names else None)
    return node, _join(node.path, key) if key else node.path


def _zero_fix(node: SchedulerSpec) -> str:
    """How to keep ``node``'s lr above 0."""
    if node.type == "PolynomialLR":
        return "set total_iters to the scheduler steps it runs for, so it reaches 0 only at the end"
    if node.type == "LinearLR":
        return "set end_factor (and start_factor) above 0"
    if node.type in ("LambdaLR", "MultiplicativeLR"):
        return "keep lr_lambda above 0 over the whole run"
    if node.type in ("CosineAnnealingLR", "CosineAnnealingWarmRestarts"):
        return "set eta_min above 0, e.g. a hundredth of the initial lr"
    return "give the schedule a floor above 0 (eta_min, a factor > 0)"


@check
def momentum_overwritten(spec: Spec, trace: Trace | None) -> Iterator[Finding]:
    """The optimizer's momentum replaced by CyclicLR/OneCycleLR's ``cycle_momentum``."""
    cyclers = [s for s in spec.scheduler.walk()
               if s.info.changes_momentum and s.params.get("cycle_momentum", True)]
    if not cyclers:
        return
    node = cyclers[0]
    low = _per_group(node.params.get("base_momentum", node.info.param("base_momentum").default))
    high = _per_group(node.params.get("max_momentum", node.info.param("max_momentum").default))
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
                f"set {turn_off}: false to keep it, or set base_momentum/max_momentum instead",
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
    """OneCycleLR whose cycle is longer than the steps it gets: it never anneals."""
    for span in _running(spec):
        p = span.node.params
        if span.node.type != "OneCycleLR":
            continue
        by_epochs = bool(p.get("epochs") and p.get("steps_per_epoch"))
        total = p["epochs"] * p["steps_per_epoch"] if by_epochs else p.get("total_steps")
        if total is None or total <= span.length:
            continue
        key = "epochs" if by_epochs else "total_steps"
        warming = span.length < total * p.get("pct_start", 0.3)
        yield Finding(
            WARNING, "onecycle-unfinished",
            f"OneCycleLR is set for {total} steps but gets {span.length}: it stops "
            f"{'while still warming up' if warming else 'mid-anneal'}, far above its final lr",
            None, _join(span.node.path, key),
            ("set epochs * steps_per_epoch" if by_epochs else "set total_steps")
            + f" to {span.length}" + (
                "" if spec.interval == "step" else
                " or step it every step (interval: step), as OneCycleLR expects"),
        )


@check
def ramps(spec: Spec, trace: Trace | None) -> Iterator[Finding]:
    """Warmups that never end (or are cut short by a milestone), decays that never finish."""
    for span in _running(spec):
        node, p = span.node, span.node.params
        key = "total_iters"
        iters = p.get(key, 5)
        has = f"has {span.length} scheduler steps"
        if node.info.builder == "hf" and p.get("num_warmup_steps", 0) > 0:
            key, iters, warmup = "num_warmup_steps", p["num_warmup_steps"], True
            what = f"{node.type} warms up over {iters} scheduler steps"
        elif node.type == "LinearLR":
            start, end = p.get("start_factor", 1 / 3), p.get("end_factor", 1.0)
            if start == end:
                continue
            warmup = start < end
            what = (f"LinearLR ramps the lr factor from {_num(start)} to {_num(end)} over "
                    f"{iters} scheduler steps")
        elif node.type == "ConstantLR":
            factor = p.get("factor", 1 / 3)
            if factor == 1 or not span.to_end:  # a milestone ends it as total_iters would
                continue
            warmup = True
            what = f"ConstantLR scales the lr by {_num(factor)} for {iters} scheduler steps"
        elif node.type == "PolynomialLR":
            warmup = False
            what = f"PolynomialLR decays the lr to 0 over {iters} scheduler steps"
        else:
            continue
        param = _join(node.path, key)
        if warmup and span.to_end and iters >= span.length and iters > 0:
            yield Finding(
                WARNING, "warmup-never-ends",
                f"{what}, but the run {has}: it never trains at the full lr",
                None, param, f"set {key} below {span.length}, or run longer",
            )
        elif warmup and not span.to_end and iters > span.length:
            handover = (span.start + span.length) * _every(spec)
            yield Finding(
                WARNING, "warmup-never-ends",
                f"{what}, but the next scheduler takes over after {span.length}: the warmup "
                f"is cut short and the lr jumps at step {handover}",
                handover if handover < spec.steps else None, param,
                f"set {key} to {span.length}, the milestone that ends it",
            )
        elif not warmup and iters > span.length:
            yield Finding(
                INFO, "decay-unfinished",
                f"{what}, but it {has}: it never reaches its end value",
                None, param, f"set total_iters to {span.length} to finish the decay in the run",
            )


@check
def hf_past_training_steps(spec: Spec, trace: Trace | None) -> Iterator[Finding]:
    """A Hugging Face schedule stepped past ``num_training_steps``: its lambda keeps going
    (a cosine rises again, a linear decay holds 0)."""
    for span in _running(spec):
        node, p = span.node, span.node.params
        total = p.get("num_training_steps")
        if node.info.builder != "hf" or not total or total >= span.length \
                or "num_stable_steps" in p:
            continue
        step = (span.start + total + 1) * _every(spec)
        yield Finding(
            WARNING, "hf-past-training-steps",
            f"{node.type} is stepped {span.length} times but num_training_steps is {total}: "
            "past it the schedule does not stop (a cosine climbs back up, a linear decay "
            "stays at 0)",
            step if step < spec.steps else None, _join(node.path, "num_training_steps"),
            f"set num_training_steps to {span.length}, or leave it out",
        )


@check
def cosine(spec: Spec, trace: Trace | None) -> Iterator[Finding]:
    """Cosine rising after ``T_max``, cut short before it, or with ``eta_min`` too high."""
    initial = _initial_lrs(spec)
    for span in _running(spec):
        node, p = span.node, span.node.params
        if node.type not in ("CosineAnnealingLR", "CosineAnnealingWarmRestarts"):
            continue
        eta_min = p.get("eta_min", 0.0)
        above = [i for i, lr in enumerate(initial) if eta_min > lr]
        if above:
            lr = initial[above[0]]
            group = f" of param group {above[0]}" if len(initial) > 1 else ""
            yield Finding(
                WARNING, "eta-min-above-lr",
                f"eta_min {_num(eta_min)} is above the initial lr {_num(lr)}{group}: "
                "the 'annealing' raises the lr",
                None, _join(node.path, "eta_min"),
                f"set eta_min below {_num(lr)} (e.g. {_num(lr / 100)})",
            )
        if node.type != "CosineAnnealingLR":
            continue
        t_max = p["T_max"]
        if t_max > span.length:
            yield Finding(
                WARNING, "cosine-unfinished",
                f"T_max is {t_max} but CosineAnnealingLR runs {span.length} scheduler steps: "
                f"the lr never comes down to eta_min ({_num(eta_min)})",
                None, _join(node.path, "T_max"),
                f"set T_max to {span.length}, the scheduler steps it runs for",
            )
            continue
        rise = _row(spec, span, t_max + 1)
        if rise is None or not any(eta_min != lr for lr in initial):
            continue
        if span.direct and trace is not None:
            hi = _rows(spec, span)[1]
            rise = _first_rise(trace.lrs, rise, min(hi, trace.steps))
            if rise is None:
                continue
        yield Finding(
            WARNING, "cosine-rises",
            f"CosineAnnealingLR reaches eta_min at T_max ({t_max}) and then rises again "
            f"from step {rise}: torch's cosine is periodic, it does not stay at eta_min",
            rise, _join(node.path, "T_max"),
            f"set T_max to {span.length} (the scheduler steps it runs for)"
            + (", or end the run there" if span.to_end else
               ", or start the next SequentialLR stage there"),
        )


def _first_rise(lrs: np.ndarray, lo: int, hi: int) -> int | None:
    """The first row in ``lo..hi`` whose lr is above the row before it, in any group."""
    import numpy as np

    lo = max(lo, 1)
    if hi <= lo:
        return None
    up = np.flatnonzero((lrs[:, lo:hi] > lrs[:, lo - 1:hi - 1]).any(axis=0))
    return lo + int(up[0]) if up.size else None


@check
def gamma(spec: Spec, trace: Trace | None) -> Iterator[Finding]:
    """``gamma > 1`` (the lr grows) and ``gamma == 1`` (nothing happens)."""
    for span in _running(spec):
        node, p = span.node, span.node.params
        first: int | None
        if node.type == "StepLR":
            first = _row(spec, span, p["step_size"])
        elif node.type == "MultiStepLR":
            first = _row(spec, span, min(p["milestones"])) if p["milestones"] else None
        elif node.type == "ExponentialLR":
            first = _row(spec, span, 1)
        elif node.type == "CyclicLR" and p.get("mode") == "exp_range" and not p.get("scale_fn"):
            first = None
        else:
            continue
        g = p.get("gamma", 0.1 if node.type != "CyclicLR" else 1.0)
        param = _join(node.path, "gamma")
        if g > 1:
            grows = "amplitude" if node.type == "CyclicLR" else "lr"
            yield Finding(
                WARNING, "gamma-above-one",
                f"gamma {_num(g)} > 1: {node.type} multiplies the {grows} up, "
                "so it grows instead of decaying",
                first, param, f"use a gamma below 1 (e.g. {_num(1 / g)})",
            )
        elif g == 1 and node.type != "CyclicLR":
            yield Finding(INFO, "gamma-one",
                          f"gamma is 1: {node.type} never changes the lr",
                          None, param, "use a gamma below 1, or drop the scheduler")
        elif g == 1:
            # exp_range's one difference from triangular is gamma; left at torch's default
            # it is an oversight (a warning), written as 1 a choice (said, as for StepLR)
            given = "gamma" in p
            yield Finding(
                INFO if given else WARNING, "gamma-one",
                "mode exp_range with gamma 1" + ("" if given else " (torch's default)")
                + " is triangular: the cycles' amplitude never shrinks",
                None, param, "set gamma below 1 (e.g. 0.999) for shrinking cycles, or write "
                "mode: triangular")


@check
def milestones(spec: Spec, trace: Trace | None) -> Iterator[Finding]:
    """Unsorted, duplicate or unreachable milestones, where they change the result."""
    for span in _running(spec):
        if span.node.type == "MultiStepLR":
            yield from _multistep_milestones(spec, span)
        elif span.node.type == "SequentialLR":
            yield from _sequential_milestones(spec, span)


def _multistep_milestones(spec: Spec, span: _Span) -> Iterator[Finding]:
    node = span.node
    ms = list(node.params["milestones"])
    param = _join(node.path, "milestones")
    g = node.params.get("gamma", 0.1)
    for m, n in sorted(Counter(ms).items()):
        if n > 1:
            yield Finding(
                WARNING, "duplicate-milestones",
                f"milestone {m} is listed {n} times: MultiStepLR counts it {n} times and "
                f"multiplies the lr by gamma**{n} ({_num(g ** n)}) there",
                _row(spec, span, m), param, f"list {m} once (or mean gamma**{n} there)",
            )
    if ms != sorted(ms):
        yield Finding(INFO, "unsorted-milestones",
                      "milestones are not in increasing order; harmless for MultiStepLR, "
                      "which counts them, but easy to misread",
                      None, param, f"write them sorted: {sorted(set(ms))}")
    past = sorted({m for m in ms if _row(spec, span, m) is None})
    if past:
        none = len(past) == len(set(ms))
        yield Finding(
            WARNING if none else INFO, "milestone-past-end",
            f"milestone{'s' if len(past) > 1 else ''} {', '.join(map(str, past))} "
            f"{'lie' if len(past) > 1 else 'lies'} past the run's {span.length} scheduler "
            "steps" + (": the lr never changes" if none else ": that decay never happens"),
            None, param,
            "check the units: milestones count scheduler steps "
            f"({'epochs' if spec.interval == 'epoch' else 'training steps'} here)",
        )


def _sequential_active(milestones: list[int], epoch: int) -> int:
    """The child SequentialLR runs at ``epoch``: torch's own ``bisect_right``."""
    return bisect_right(milestones, epoch)


def _sequential_milestones(spec: Spec, span: _Span) -> Iterator[Finding]:
    node = span.node
    ms = list(node.params["milestones"])
    param = _join(node.path, "milestones")
    children = node.children
    if ms != sorted(ms):
        # bisect_right changes its answer only where the epoch crosses a milestone value
        points = sorted({0, *(m for m in ms if 0 <= m < span.length)})
        real = [_sequential_active(ms, e) for e in points]
        meant = [_sequential_active(sorted(ms), e) for e in points]
        diff = [e for e, a, b in zip(points, real, meant, strict=True) if a != b]
        if not diff:
            yield Finding(INFO, "unsorted-milestones",
                          "milestones are not in increasing order (no effect within this run)",
                          None, param, f"write them sorted: {sorted(ms)}")
            return
        never = [i for i in range(len(children)) if i not in real]
        lost = ""
        if never:
            names = ", ".join(f"schedulers[{i}]" for i in never)
            lost = f"; {names} never run{'s' if len(never) == 1 else ''}"
        at = points.index(diff[0])
        row = _row(spec, span, diff[0])
        yield Finding(
            WARNING, "unsorted-milestones",
            "milestones are not in increasing order, but torch's SequentialLR looks them up "
            f"with bisect, which assumes they are: from step {row} it runs "
            f"schedulers[{real[at]}] instead of schedulers[{meant[at]}]{lost}",
            row, param, f"write them sorted: {sorted(ms)}",
        )
        return
    for i, child in enumerate(children):
        lo = 0 if i == 0 else ms[i - 1]
        hi = ms[i] if i < len(ms) else None
        if i > 0 and lo == hi:
            yield Finding(
                WARNING, "duplicate-milestones",
                f"milestone {lo} is listed twice: schedulers[{i}] ({child.type}) never runs",
                _row(spec, span, lo), param, f"list {lo} once, or drop schedulers[{i}]",
            )
        elif hi == 0:
            yield Finding(
                WARNING, "scheduler-never-runs",
                f"the first milestone is 0: schedulers[0] ({child.type}) never runs",
                None, child.path, "drop it, or start the milestones above 0",
            )
        elif lo >= span.length:
            of = "the run's" if span.to_end else f"{node.type}'s"
            yield Finding(
                WARNING, "scheduler-never-runs",
                f"schedulers[{i}] ({child.type}) starts at milestone {lo}, past {of} "
                f"{span.length} scheduler steps: it never runs",
                None, child.path,
                "run longer, or check the units: milestones count scheduler steps "
                f"({'epochs' if spec.interval == 'epoch' else 'training steps'} here)",
            )


@check
def plateau_floors(spec: Spec, trace: Trace | None) -> Iterator[Finding]:
    """Cuts ReduceLROnPlateau wanted but skipped: the lr at ``min_lr``, or under ``eps``."""
    node = spec.scheduler
    if not node.info.plateau or trace is None or spec.metric is None:
        return
    from lrviz.plateau import replay

    p = node.params
    factor, eps = p.get("factor", 0.1), p.get("eps", 1e-8)
    floors = _per_group(p.get("min_lr", 0), trace.groups)
    synthetic = "generator" in spec.metric.source
    several = trace.groups > 1
    for g in range(trace.groups):
        group = f" of param group {g}" if several else ""
        # torch's own bookkeeping, replayed from the trace: what each due cut did to g
        due = [(d.row, d.groups[g]) for d in replay(trace) if d.groups]
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
def torch_warnings(spec: Spec, trace: Trace | None) -> Iterator[Finding]:
    """Warnings torch raised during the run, once each."""
    if trace is None:
        return
    for text in trace.warnings:
        yield Finding(WARNING, "torch-warning", f"torch warns: {text}", None,
                      spec.scheduler.path, None)

