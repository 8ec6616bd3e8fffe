"""Where each scheduler of a spec runs, in scheduler steps and in rows.

A spec's scheduler is a tree (composites hold children); :func:`_spans` says where each
node runs: from which of the top scheduler's steps, for how many, to the end of the run or
until a SequentialLR milestone replaces it. :class:`Run` is what a scheduler record's
own pitfall hooks see of a run, with the helpers that put a scheduler's own steps on
rows. The checks of :mod:`lrviz.check` and the records of :mod:`lrviz.schedulers` both
use them; nothing here imports torch.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lrviz.schedulers.base import INFO, WARNING
from lrviz.schedulers.base import Span as _SpanLike
from lrviz.spec import SchedulerSpec, Spec
from lrviz.trace import Finding

if TYPE_CHECKING:
    import numpy as np

    from lrviz.trace import Trace


@dataclass(frozen=True)
class Span:
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


_Span = Span


@dataclass(frozen=True)
class Run:
    """What a scheduler's own pitfall hooks (``Scheduler.pitfalls`` in
    :mod:`lrviz.schedulers`) see of the run: the spec, the trace (None after an early
    crash), and the helpers that place a scheduler's own steps on rows."""

    spec: Spec
    trace: Trace | None

    def row(self, span: _SpanLike, local: int) -> int | None:
        """The first row at which ``span``'s scheduler is at its own step ``local``."""
        return _row(self.spec, span, local)

    def rows(self, span: _SpanLike) -> tuple[int, int]:
        """The rows ``span`` covers, as a half-open range."""
        return _rows(self.spec, span)

    def initial_lrs(self) -> list[float]:
        """Each param group's lr before any scheduler touches it."""
        return _initial_lrs(self.spec)

    def first_rise(self, lo: int, hi: int) -> int | None:
        """The first row in ``lo..hi`` whose lr is above the row before it, in any group."""
        assert self.trace is not None
        return _first_rise(self.trace.lrs, lo, hi)

    @staticmethod
    def finding(severity: str, code: str, message: str, step: int | None = None,
                param: str | None = None, fix: str | None = None) -> Finding:
        return Finding(severity, code, message, step, param, fix)

    @staticmethod
    def join(path: str, key: str) -> str:
        """A parameter's key path."""
        return _join(path, key)

    @staticmethod
    def num(x: float) -> str:
        """A number in a finding."""
        return _num(x)

    def ramp(self, span: _SpanLike, key: str, iters: int, warmup: bool,
             what: str) -> Iterator[Finding]:
        """A warmup (``warmup``) or decay of ``iters`` steps, set by ``key`` and described
        by ``what``, that outlasts the steps it gets or is cut short by a milestone."""
        spec, node = self.spec, span.node
        has = f"has {span.length} scheduler steps"
        param = _join(node.path, key)
        if warmup and span.to_end and iters >= span.length and iters > 0:
            yield Finding(
                WARNING, "warmup-never-ends",
                f"{what}, but the run {has}: it never trains at the full lr",
                None, param, f"set {key} below {span.length}, or run longer",
            )
        elif warmup and not span.to_end and iters > span.length:
            handover = spec.plan.row_of(span.start + span.length)
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


def _spans(spec: Spec) -> list[_Span]:
    """Every scheduler of the spec with where it runs, depth first.

    Children of a SequentialLR with unsorted milestones are left out: torch's bisect on
    an unsorted list decides where they run (SequentialLR's own milestones check).
    """
    out: list[_Span] = []

    def visit(node: SchedulerSpec, start: int, length: int, to_end: bool, direct: bool) -> None:
        out.append(_Span(node, start, length, to_end, direct))
        handovers = node.info.handovers(node.params)
        if handovers is not None:  # its children run one after another
            ms = list(handovers)
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


def _row(spec: Spec, span: _SpanLike, local: int) -> int | None:
    """The first row at which ``span``'s scheduler is at its own step ``local``, if any."""
    if local < 0 or (local >= span.length and not span.to_end):
        return None
    row = spec.plan.row_of(span.start + local)
    return row if row < spec.steps else None


def _rows(spec: Spec, span: _SpanLike) -> tuple[int, int]:
    """The rows ``span`` covers, as a half-open range."""
    plan = spec.plan
    hi = spec.steps if span.to_end else plan.row_of(span.start + span.length)
    return plan.row_of(span.start), hi


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


def _first_rise(lrs: np.ndarray, lo: int, hi: int) -> int | None:
    """The first row in ``lo..hi`` whose lr is above the row before it, in any group."""
    import numpy as np

    lo = max(lo, 1)
    if hi <= lo:
        return None
    up = np.flatnonzero((lrs[:, lo:hi] > lrs[:, lo - 1:hi - 1]).any(axis=0))
    return lo + int(up[0]) if up.size else None
