"""Did a run follow the plan? The logged lr aligned with the simulation, and a diagnosis.

The plan is :func:`lrviz.api.simulate` of the spec: row k is the lr optimizer step k used.
A logged step becomes a plan row by the framework's counting (``LoggedRun.first_step``:
HF and mmengine log step N for row N-1, Lightning step k for row k; unknown: both tried).

Values are compared exactly, except that event files hold float32 (the plan is rounded to
float32 first) and decimal-text formats get a relative tolerance of :data:`TEXT_TOLERANCE`,
far below any difference a schedule makes, for writers that print fewer than 17 digits.

When the log does not follow, the diagnosis is the first of the README's list ("Is my run
following the schedule?") that explains every logged value: shifted by one step (the lr
after ``scheduler.step()``), runs N times fast (``log[k] == plan[N*k + j]``: the scheduler
steps N times per optimizer step), restarts at step K (from K on the log repeats the plan
from row 0, or the plan's first lr comes back: a resume rebuilt the scheduler or restored it
alone), lags (from step K on the log is the plan a few steps earlier, falling behind: the
scheduler missed optimizer steps, as fp16 loss scaling makes it), scaled by a constant (a
different base lr); else "differs from step K".
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from lrviz.runs.model import LoggedRun

if TYPE_CHECKING:
    from lrviz.runs.common import Options
    from lrviz.spec import Spec
    from lrviz.trace import Trace

TEXT_TOLERANCE = 1e-12  # relative, for decimal text only
SCALE_TOLERANCE = 1e-6  # relative spread of log/plan that still counts as one constant
MAX_SPEED = 64  # the fastest "runs N times fast" looked for
MAX_LAG = 64  # the most steps a log may fall behind the plan and still read as "lags"
HEAD = 16  # points a candidate diagnosis must explain before the whole log is checked


@dataclass(frozen=True)
class Verdict:
    """The diagnosis of one run, in words and in numbers."""

    kind: str  # follows | longer | shifted | fast | slow | restarts | lags | scaled | differs
    message: str  # the plain-language diagnosis
    first: int | None = None  # index into the aligned points of the first difference
    factor: float | None = None  # fast: N; scaled: the constant; lags: the last lag
    at: int | None = None  # restarts: the plan row K where the restart happened; lags:
    # the plan row of the first point that lags

    @property
    def follows(self) -> bool:
        return self.kind == "follows"


@dataclass(frozen=True)
class Comparison:
    """One run held against the plan: each logged point, its plan row and both values."""

    run: LoggedRun
    plan: np.ndarray  # the plan's lr for the compared param group, every row
    name: str  # the spec's name
    rows: np.ndarray  # plan row of each logged point (may fall outside the plan)
    planned: np.ndarray  # the plan's lr at each row, NaN outside the plan
    equal: np.ndarray  # bool per point
    verdict: Verdict
    first_step: int  # the logged step that is plan row 0, as chosen

    @property
    def follows(self) -> bool:
        return self.verdict.follows

    def line(self) -> str:
        """One plain-language line: the run, the verdict and the first difference."""
        first = self.verdict.first
        text = f"{self.run.source}: {self.verdict.message}"
        if first is not None:
            planned = self.planned[first]
            shown = "none (past the plan's end)" if np.isnan(planned) else _value(planned)
            text += (f"; first difference at logged step {self.run.steps[first]} (plan step "
                     f"{self.rows[first]}): logged {_value(self.run.lr[first])}, plan {shown}")
        return text


@dataclass(frozen=True)
class Loop:
    """What verify takes from the spec's ``training:`` (lrviz.loop.LOGS): how the framework
    counts logged steps and what makes its scheduler step N times per optimizer step."""

    first_step: int | None = None  # the logged step of row 0; None: try 0 and 1
    positions: np.ndarray | None = None  # logged steps count micro-batches: each row's one
    fast: str = "stepped per micro-batch, or by accelerate in several processes"
    processes: bool = False  # the framework's N is its process count
    grad_accum: int = 1
    per_row: int = 1  # scheduler steps the plan makes per row (1 when it varies)
    epoch_rows: int = 0  # optimizer steps in an epoch, when the plan steps once per epoch

    def cause(self, speed: int) -> str:
        """Why the scheduler would step ``speed`` times per optimizer step."""
        if speed == self.epoch_rows:  # the run stepped every optimizer step, the plan not
            return (f"likelier here: the run stepped it every optimizer step, the plan once "
                    f"per epoch of {speed} steps; set interval: step in the spec")
        if self.processes:
            return f"{self.fast}: {speed} processes"
        if speed == self.grad_accum:
            return f"{self.fast}: grad_accum {speed}"
        return self.fast

    @classmethod
    def of(cls, spec: Spec) -> Loop:
        from lrviz.loop import LOGS, RULES

        plan = spec.plan
        logs = LOGS[plan.framework]
        given = spec.training or {}
        after = plan.after
        per_row = int(after[0]) if after.size and (after == after[0]).all() else 1
        return cls(first_step=logs.first_step,
                   positions=plan.positions if logs.unit == "batch" else None,
                   fast=logs.fast, processes=RULES[plan.framework].per_process,
                   grad_accum=int(given.get("grad_accum", 1)), per_row=max(per_row, 1),
                   epoch_rows=(plan.steps_per_epoch or 0) if plan.interval == "epoch" else 0)


def verify_paths(spec: Spec, paths: Sequence[str], options: Options | None = None,
                 jobs: int | None = None, before_running: Callable[[], object] | None = None
                 ) -> list[Comparison]:
    """``lrviz verify``: read the runs at ``paths`` and hold each against ``spec``.

    With one worker every run is read before anything runs (a log that cannot be read
    is refused before torch is imported); with several (``jobs``, :mod:`lrviz.workers`)
    the workers read the logs, importing no torch, while this process simulates the
    plan. ``before_running`` is called before the simulation (the CLI's torch setup).
    """
    from functools import partial

    from lrviz import workers
    from lrviz.api import simulate
    from lrviz.runs import read_run

    def plan() -> Trace:
        if before_running is not None:
            before_running()
        return simulate(spec)

    count = workers.jobs_for(jobs, len(paths))
    if count == 1:
        logged = [read_run(path, options) for path in paths]
        return verify(spec, logged, plan())
    traces: list[Trace] = []
    logged = workers.run(partial(read_run, options=options), list(paths), count,
                         preload=("numpy", "lrviz.runs", "lrviz.verify"),
                         starting=lambda: traces.append(plan()))
    return verify(spec, logged, traces[0])


def verify(spec: Spec, runs: Sequence[LoggedRun], trace: Trace | None = None
           ) -> list[Comparison]:
    """Hold every run against the plan of ``spec`` (its ``trace``, simulated here when
    not given), aligned by the framework the spec's ``training:`` names (its counting of
    logged steps), else by the log's format."""
    if trace is None:
        from lrviz.api import simulate

        trace = simulate(spec)
    loop = Loop.of(spec)
    return [compare(trace.lrs[min(run.group, trace.groups - 1)], run, spec.name, loop)
            for run in runs]


def compare(plan: np.ndarray, run: LoggedRun, name: str = "plan", loop: Loop | None = None
            ) -> Comparison:
    """Align ``run`` with ``plan`` (one lr per row) the framework's way and diagnose it.

    The log's own counting comes first (a trainer_state.json is HF's whatever the spec
    says), then the framework's (``loop``), else both 0 and 1 are tried.
    """
    plan = np.asarray(plan, dtype=np.float64)
    loop = loop or Loop()
    first_step = run.first_step if run.first_step is not None else loop.first_step
    # a log of iterations (micro-batches): mmengine's own scalars.json, or a log that does
    # not say how it counts under a spec whose framework logs so
    iterations = run.first_step is None or run.format == "mmengine"
    if loop.positions is not None and iterations:
        run = _per_row(run, loop.positions, first_step or 0)
        first_step = 0
    choices = [first_step] if first_step is not None else [0, 1]
    tried = [_compare_at(plan, run, name, first, loop) for first in choices]
    return next((c for c in tried if c.follows), tried[0])


def _per_row(run: LoggedRun, positions: np.ndarray, first_step: int) -> LoggedRun:
    """A log counting micro-batches, cut to the ones an optimizer step fell on and
    renumbered by row (an iteration-stepped scheduler moves within a window)."""
    from dataclasses import replace

    batch = run.steps - first_step
    rows = np.searchsorted(positions, batch)
    rows = np.minimum(rows, positions.size - 1)
    kept = positions[rows] == batch
    if not kept.any():
        return run
    return replace(run, steps=rows[kept].astype(np.int64), lr=run.lr[kept], first_step=0)


def _compare_at(plan: np.ndarray, run: LoggedRun, name: str, first_step: int,
                loop: Loop) -> Comparison:
    rows = run.steps - first_step
    inside = (rows >= 0) & (rows < plan.size)
    planned = np.full(rows.shape, np.nan)
    planned[inside] = plan[rows[inside]]
    equal = np.zeros(rows.shape, dtype=bool)
    equal[inside] = _same(run, run.lr[inside], planned[inside])
    verdict = _diagnose(plan, run, rows, inside, equal, first_step, loop)
    return Comparison(run, plan, name, rows, planned, equal, verdict, first_step)


def _same(run: LoggedRun, logged: np.ndarray, planned: np.ndarray) -> np.ndarray:
    """Whether each logged value is the planned one, as the format can store it."""
    if run.float32:
        return planned.astype(np.float32).astype(np.float64) == logged
    if run.decimal:
        scale = np.maximum(np.abs(logged), np.abs(planned))
        return np.abs(logged - planned) <= TEXT_TOLERANCE * scale
    return planned == logged


def _matches(plan: np.ndarray, run: LoggedRun, rows: np.ndarray, points: np.ndarray
             ) -> tuple[bool, int]:
    """Whether the logged ``points`` equal the plan at ``rows`` (rows inside the plan only),
    and how many could be checked."""
    usable = (rows >= 0) & (rows < plan.size)
    chosen = points[usable]
    if chosen.size == 0:
        return False, 0
    same = _same(run, run.lr[chosen], plan[rows[usable]])
    return bool(same.all()), int(chosen.size)


def _diagnose(plan: np.ndarray, run: LoggedRun, rows: np.ndarray, inside: np.ndarray,
              equal: np.ndarray, first_step: int, loop: Loop) -> Verdict:
    n = plan.size
    guessed = run.first_step is None and loop.first_step is None
    counting = " (steps counted from 1)" if guessed and first_step == 1 else ""
    if equal[inside].all() and inside.any():
        if inside.all():
            note = (f"; the log ends at plan step {rows[-1]} of {n - 1}"
                    if rows[-1] < n - 1 else "")
            float32 = " (as float32)" if run.float32 else ""
            return Verdict("follows", f"follows the plan{counting}: {len(run)} logged lr values"
                           f"{float32}, steps {run.steps[0]}..{run.steps[-1]}{note}")
        first = int(np.flatnonzero(~inside)[0])
        return Verdict("longer", f"follows the plan as far as it goes, but logs steps outside "
                       f"its {n} steps (the run is longer than the plan)", first)
    first = int(np.flatnonzero(inside & ~equal)[0]) if (inside & ~equal).any() else \
        int(np.flatnonzero(~inside)[0])
    every = np.arange(len(run))
    ok, checked = _matches(plan, run, rows + 1, every)
    if ok and checked >= 2:
        return Verdict("shifted", "shifted by one step: each logged lr is the next step's "
                       "(read after scheduler.step(), as transformers < 4.51 and torchtune "
                       "log it)", first)
    base, points = rows[rows >= 1], every[rows >= 1]
    for speed in range(2, MAX_SPEED + 1):
        for lag in range(speed):
            # the first few points rule out nearly every (speed, lag) before a full pass
            if not _matches(plan, run, base[:HEAD] * speed + lag, points[:HEAD])[0]:
                continue
            ok, checked = _matches(plan, run, base * speed + lag, points)
            if ok and checked >= 2:
                at = f"{speed}k" + (f"+{lag}" if lag else "")
                return Verdict("fast", f"runs {speed} times fast: step k uses the plan's step "
                               f"{at}; the scheduler steps {speed} times per optimizer step "
                               f"({loop.cause(speed)})", first, float(speed))
    slow = _slow(plan, run, rows, loop)
    if slow is not None:
        return Verdict("slow", slow, first, float(loop.per_row))
    restart = _restart(plan, run, rows, first)
    if restart is not None:
        return restart
    lagging = _lag(plan, run, rows, first)
    if lagging is not None:
        return lagging
    scale = _scale(plan, run, rows, inside)
    if scale is not None:
        return Verdict("scaled", f"scaled by a constant: the log is {scale:.6g} times the plan "
                       "(a different base lr?)", first, scale)
    return Verdict("differs", f"differs from plan step {rows[first]} on", first)


def _slow(plan: np.ndarray, run: LoggedRun, rows: np.ndarray, loop: Loop) -> str | None:
    """Runs N times slow: the plan steps the scheduler N times per row (accelerate's
    processes) and the run once, so logged row N*k holds the plan's row k."""
    speed = loop.per_row
    if speed < 2:
        return None
    every = np.arange(len(run))
    whole = (rows % speed == 0) & (rows > 0)
    ok, checked = _matches(plan, run, rows[whole] // speed, every[whole])
    if not (ok and checked >= 2):
        return None
    return (f"runs {speed} times slow: step {speed}k uses the plan's step k; the plan steps "
            f"the scheduler {speed} times per optimizer step ({loop.cause(speed)}) and the run "
            "once (split_batches, or a scheduler left out of accelerator.prepare?)")


def _restart(plan: np.ndarray, run: LoggedRun, rows: np.ndarray, first: int) -> Verdict | None:
    """Restarts at K: the log follows until K, then repeats the plan from row 0, or (a
    scheduler restored alone, with a fresh optimizer) goes back to the plan's first lr."""
    if first == 0 or rows[first] <= 0:
        return None
    later = np.arange(first, len(run))
    low = max(int(rows[first - 1]) + 1, 1)
    for at in range(low, int(rows[first]) + 1):
        if not _matches(plan, run, rows[later[:HEAD]] - at, later[:HEAD])[0]:
            continue
        ok, checked = _matches(plan, run, rows[later] - at, later)
        if ok and checked == later.size:
            return Verdict("restarts", f"restarts at plan step {at}: from there it repeats "
                           "the plan from step 0 (a resume rebuilt the scheduler)", first,
                           at=at)
    if _same(run, run.lr[first:first + 1], plan[:1]).all():
        return Verdict("restarts", f"restarts at plan step {rows[first]}: the lr goes back to "
                       "the plan's initial lr there (a resume restored the scheduler without "
                       "the optimizer, or rebuilt it)", first, at=int(rows[first]))
    return None


def _lag(plan: np.ndarray, run: LoggedRun, rows: np.ndarray, first: int) -> Verdict | None:
    """Lags: from the first difference on, each logged lr is the plan's a few steps earlier,
    and the log falls further behind, never catches up (``log[i] == plan[row_i - d_i]``, d
    non-decreasing, 1 to :data:`MAX_LAG`; -1 is allowed before the first lag, for a log read
    after ``scheduler.step()``). The scheduler missed optimizer steps: under fp16 the HF
    Trainer and accelerate do not step it when the loss scaler skips an optimizer step.

    The lag of each point is the smallest one that keeps the sequence non-decreasing, so a
    stretch where the plan is flat (any lag fits) never forces a larger one.
    """
    later = np.arange(first, len(run))
    if later.size < 2:
        return None
    at_rows, logged = rows[later], run.lr[later]

    def fits(lag: int, start: int, stop: int | None = None) -> np.ndarray:
        """Whether each point from ``start`` (to ``stop``) is the plan's lr ``lag`` steps
        earlier."""
        at = at_rows[start:stop] - lag
        usable = (at >= 0) & (at < plan.size)
        out = np.zeros(at.size, dtype=bool)
        out[usable] = _same(run, logged[start:stop][usable], plan[at[usable]])
        return out

    # one pass over the points per lag taken (at most MAX_LAG + 2 of them), so a long log
    # that no lag explains costs about two passes
    lag = -1 if first == 0 else 0  # before the first difference the log is the plan: lag 0
    i = 0
    chosen = np.empty(later.size, dtype=np.int64)
    while i < later.size:
        while lag <= MAX_LAG and not fits(lag, i, i + 1).all():
            lag += 1
        if lag > MAX_LAG:
            return None
        stop = np.flatnonzero(~fits(lag, i))  # keep this lag as long as it fits
        end = i + int(stop[0]) if stop.size else later.size
        chosen[i:end] = lag
        i = end
    high = int(chosen[-1])
    if high <= 0:
        return None
    low = int(chosen[chosen > 0].min())
    behind = f"{high} step{'s' if high > 1 else ''}" if low == high else f"{low} to {high} steps"
    start = int(rows[later[int(np.flatnonzero(chosen > 0)[0])]])
    return Verdict("lags", f"lags behind the plan from plan step {start}: each logged lr is "
                   f"the plan's {behind} earlier, never catching up (the scheduler missed "
                   "optimizer steps: under fp16 the HF Trainer and accelerate skip "
                   "scheduler.step() when the loss scaler skips an optimizer step)", first,
                   float(high), at=start)


def _scale(plan: np.ndarray, run: LoggedRun, rows: np.ndarray, inside: np.ndarray
           ) -> float | None:
    """The constant c with log == c * plan at every point, if there is one (and c != 1)."""
    planned = plan[rows[inside]]
    logged = run.lr[inside]
    zero = planned == 0
    if (logged[zero] != 0).any() or zero.all() or not inside.all():
        return None
    ratio = logged[~zero] / planned[~zero]
    factor = float(np.median(ratio))
    if factor <= 0 or abs(factor - 1) <= SCALE_TOLERANCE:
        return None
    if np.abs(ratio / factor - 1).max() > SCALE_TOLERANCE:
        return None
    return factor


def _value(value: float) -> str:
    return repr(float(value))
