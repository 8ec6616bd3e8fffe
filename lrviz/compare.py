"""Several schedules side by side: sweeps, per-schedule summaries, one wide table.

Specs are loaded and validated first, then run one after the other in this process, so
a comparison or a gallery pays for one torch import however many schedules it holds.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from lrviz import catalog, readers
from lrviz.build import build_file_spec
from lrviz.compare_runs import LoggedCurve, curve, is_run, run_name
from lrviz.errors import SpecError
from lrviz.runs import Options, read_run
from lrviz.spec import Spec

if TYPE_CHECKING:
    from lrviz.trace import Trace


def configured_lrs(spec: Spec) -> list[float | None]:
    """The lr each param group is configured with (the optimizer's, per group), or None
    where the scheduler replaces it (CyclicLR's base_lr, OneCycleLR's max_lr / div_factor).

    Row 0 of a trace is no description of a group: under a warmup it is the warmup's
    start, and Hugging Face schedules start at 0.
    """
    opt = spec.optimizer
    groups = opt.param_groups or ({},)
    if any(s.info.sets_own_lr for s in spec.scheduler.walk()):
        return [None] * len(groups)
    return [float(g.get("lr", opt.params.get("lr", 0.1))) for g in groups]


@dataclass(frozen=True)
class Summary:
    """The numbers a reader compares schedules by, for every param group.

    Per-group values are tuples (one item per group, in group order); the peak is the
    highest lr of any group, with its step and group.
    """

    name: str
    scheduler: str
    steps: int
    lr: tuple[float | None, ...]  # configured per group; None where the scheduler sets it
    initial: tuple[float, ...]
    peak: float
    peak_step: int
    peak_group: int
    minimum: tuple[float, ...]
    final: tuple[float, ...]
    mean: tuple[float, ...]
    budget: tuple[float, ...]  # the sum of the lr over the run
    changes: int  # rows where the lr of some group differs from the row before

    def row(self) -> list[str]:
        peak = f"{short(self.peak)} ({self.peak_step})"
        if len(self.initial) > 1:
            peak = f"{short(self.peak)} (step {self.peak_step}, group {self.peak_group})"
        configured = (per_group(self.lr) if None not in self.lr
                      else f"set by {self.scheduler}")
        return [self.name, self.scheduler, str(self.steps), configured,
                per_group(self.initial), peak, per_group(self.minimum),
                per_group(self.final), per_group(self.mean), per_group(self.budget),
                str(self.changes)]

    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in self.__dict__.items()}


SUMMARY_HEADER = ["name", "scheduler", "steps", "lr", "initial", "peak (step)", "minimum",
                  "final", "mean", "lr budget", "changes"]
_MAX_LISTED_GROUPS = 4  # more groups than this are summarised by their range


def short(value: float | None) -> str:
    """A value as a person reads it in a summary: 4 significant digits."""
    return "–" if value is None else f"{value:.4g}"


def per_group(values: tuple[float | None, ...]) -> str:
    """One value per group, ``a / b / c``; many groups as their range."""
    if len(values) <= _MAX_LISTED_GROUPS:
        return " / ".join(short(v) for v in values)
    known = [v for v in values if v is not None]
    return f"{short(min(known))} to {short(max(known))} ({len(values)} groups)"


def summarize(trace: Trace) -> Summary:
    """The summary of one trace, every param group included."""
    lrs = trace.lrs
    group, peak = np.unravel_index(int(np.argmax(lrs)), lrs.shape)
    changed = np.any(lrs[:, 1:] != lrs[:, :-1], axis=0) if trace.steps > 1 else np.zeros(0)
    return Summary(
        name=trace.spec.name,
        scheduler=trace.spec.scheduler.type,
        steps=trace.steps,
        lr=tuple(configured_lrs(trace.spec)),
        initial=tuple(lrs[:, 0].tolist()),
        peak=float(lrs[group, peak]),
        peak_step=int(peak),
        peak_group=int(group),
        minimum=tuple(lrs.min(axis=1).tolist()),
        final=tuple(lrs[:, -1].tolist()),
        mean=tuple(lrs.mean(axis=1).tolist()),
        budget=tuple(lrs.sum(axis=1).tolist()),
        changes=int(np.count_nonzero(changed)),
    )


MAX_SCHEDULES = 48  # on one figure: more lines or panels than anyone can read


def load_specs(
    paths: list[str], steps: int | None = None, sweep: str | None = None,
    allow_import: bool = False, allow_paths: tuple[Path, ...] = (), from_: str | None = None,
) -> list[Spec]:
    """Validated specs of the YAML files, ``steps`` overriding each; a sweep expands one.

    ``from_`` names the format of every file (:mod:`lrviz.readers`); by default each
    file's content tells it."""
    loaded = load_inputs(paths, [], steps, sweep, allow_import, allow_paths, from_,
                         runs_among=False)
    return [item for item in loaded if isinstance(item, Spec)]


def load_inputs(
    paths: list[str], runs: list[str], steps: int | None = None, sweep: str | None = None,
    allow_import: bool = False, allow_paths: tuple[Path, ...] = (), from_: str | None = None,
    options: Options | None = None, runs_among: bool = True,
) -> list[Spec | LoggedCurve]:
    """What ``compare`` draws, in the order given: the specs of ``paths`` (validated,
    ``steps`` overriding each, a sweep expanding the one spec), and the logged runs among
    ``paths`` (told by :func:`lrviz.compare_runs.is_run`) and in ``runs``, after them.

    Every input is read before anything runs: a bad one is a one-line error."""
    options = options or Options(allowed=allow_paths)
    total = len(paths) + len(runs)
    if total > MAX_SCHEDULES:
        where = (paths + runs)[MAX_SCHEDULES]
        raise SpecError(f"{total} inputs; a comparison takes at most {MAX_SCHEDULES}", where)
    kinds = [is_run(path, options, from_) if runs_among else None for path in paths]
    kinds += [read_run(path, options) for path in runs]
    spec_count = sum(kind is None for kind in kinds)
    if sweep is not None and spec_count != 1:
        raise SpecError(f"a sweep takes exactly one spec, got {spec_count}", "--sweep")
    items: list[Spec | LoggedCurve] = []
    for path, kind in zip([*paths, *runs], kinds, strict=True):
        if kind is not None:
            items.append(curve(kind, run_name(path)))
            continue
        raw, found = readers.read(path, from_=from_, allow_paths=allow_paths)
        if steps is not None:
            raw["steps"] = steps
        variants = sweep_variants(raw, sweep) if sweep else [(raw, {})]
        for variant, locations in variants:
            items.append(build_file_spec(variant, path, locations={**found, **locations},
                                         allow_import=allow_import, allow_paths=allow_paths))
    if len(items) > MAX_SCHEDULES:
        raise SpecError(f"{len(items)} curves; a comparison draws at most {MAX_SCHEDULES}",
                        "--sweep")
    _unique_names(items)
    return items


def run_inputs(loaded: list[Spec | LoggedCurve], jobs: int | None = None,
               before_running: Callable[[], object] | None = None
               ) -> list[Trace | LoggedCurve]:
    """The trace of every spec among ``loaded`` (spread over ``jobs`` workers,
    :mod:`lrviz.workers`), the logged runs as they are, in the order given.
    ``before_running`` is called before a run in this process (the CLI's torch setup)."""
    from lrviz import workers

    plans = [item for item in loaded if isinstance(item, Spec)]
    count = workers.jobs_for(jobs, len(plans)) if plans else 1
    if count == 1 and plans and before_running is not None:
        before_running()
    done = iter(workers.run(workers.simulate_one, plans, count) if plans else [])
    return [item if isinstance(item, LoggedCurve) else next(done) for item in loaded]


def sweep_variants(raw: dict[str, Any], sweep: str) -> list[tuple[dict[str, Any], dict[str, str]]]:
    """One raw spec per value of ``KEY=V1,V2,...``, named ``KEY=V``.

    KEY is a parameter of the spec's scheduler (``max_lr``) or a dotted path in the spec
    (``optimizer.lr``, ``scheduler.schedulers[1].T_max`` is not supported: dots only).
    """
    key, eq, values = sweep.partition("=")
    key = key.strip()
    items = [v.strip() for v in values.split(",") if v.strip()]
    if not eq or not key or len(items) < 1:
        raise SpecError(f"expected KEY=V1,V2,..., got {sweep!r}", "--sweep")
    if len(items) > MAX_SCHEDULES:
        raise SpecError(f"{len(items)} values; a sweep takes at most {MAX_SCHEDULES}", "--sweep")
    path = key.split(".") if "." in key else ["scheduler", key]
    if "." not in key:
        sched = raw.get("scheduler")
        info = catalog.find(sched.get("type", "")) if isinstance(sched, dict) else None
        if info is not None and key not in info.param_names:
            raise SpecError(f"{info.name} has no parameter {key!r}"
                            f"{catalog.suggest(key, info.param_names)}", "--sweep")
    out = []
    for value in items:
        variant = copy.deepcopy(raw)
        node = variant
        for part in path[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        node[path[-1]] = value
        variant["name"] = f"{key}={value}"
        out.append((variant, {".".join(path): f"--sweep {key}={value}"}))
    return out


def _unique_names(items: list[Spec | LoggedCurve]) -> None:
    seen: dict[str, int] = {}
    for i, item in enumerate(items):
        count = seen.get(item.name, 0)
        seen[item.name] = count + 1
        if count:
            items[i] = _renamed(item, f"{item.name}-{count + 1}")


def _renamed(item: Spec | LoggedCurve, name: str) -> Spec | LoggedCurve:
    from dataclasses import replace

    return replace(item, name=name)


INDEX_COLUMN = "step"  # the first column of every wide table: the 0-based row index


def length_of(item: Trace | LoggedCurve) -> int:
    """The rows of the comparison's axis ``item`` needs."""
    return item.length if isinstance(item, LoggedCurve) else item.steps


def wide_columns(traces: list[Trace | LoggedCurve]) -> list[tuple[str, np.ndarray]]:
    """``step`` (the row index), then one lr column per schedule, NaN-padded.

    A schedule's column is named after it (``NAME/lr_i`` for each of several param
    groups); a logged run's holds its lr at the steps it logged, NaN (an empty cell)
    elsewhere. Names are unique: a name already taken (a spec named ``step`` beside the
    index, or ``a/lr_1`` beside schedule ``a``'s second group) is written ``NAME/lr``,
    then ``NAME/lr-2``, ``NAME/lr-3``..., so ``step`` is only ever the index.
    """
    length = max(length_of(t) for t in traces)
    cols: list[tuple[str, np.ndarray]] = [(INDEX_COLUMN, np.arange(length))]
    taken = {INDEX_COLUMN}
    for trace in traces:
        if isinstance(trace, LoggedCurve):
            padded = np.full(length, np.nan)
            padded[trace.x] = trace.lr
            rows: list[tuple[str, np.ndarray]] = [(trace.name, padded)]
        else:
            rows = []
            for i, row in enumerate(trace.lrs):
                padded = np.full(length, np.nan)
                padded[: trace.steps] = row
                rows.append((trace.spec.name if trace.groups == 1
                             else f"{trace.spec.name}/lr_{i}", padded))
        owner = trace.name if isinstance(trace, LoggedCurve) else trace.spec.name
        for name, padded in rows:
            if name in taken:
                base = f"{owner}/lr"
                name, n = base, 1
                while name in taken:
                    n += 1
                    name = f"{base}-{n}"
            taken.add(name)
            cols.append((name, padded))
    return cols
