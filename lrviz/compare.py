"""Several schedules side by side: sweeps, per-schedule summaries, one wide table.

Specs are loaded and validated first, then run one after the other in this process, so
a comparison or a gallery pays for one torch import however many schedules it holds.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lrviz import catalog
from lrviz.errors import SpecError
from lrviz.spec import Spec, build_file_spec, read_spec
from lrviz.trace import Trace


@dataclass(frozen=True)
class Summary:
    """The numbers a reader compares schedules by (first param group)."""

    name: str
    scheduler: str
    steps: int
    initial: float
    peak: float
    peak_step: int
    minimum: float
    final: float
    mean: float
    budget: float  # the sum of the lr over the run
    changes: int  # rows where the lr differs from the row before

    def row(self) -> list[str]:
        return [self.name, self.scheduler, str(self.steps), f"{self.initial:.4g}",
                f"{self.peak:.4g} ({self.peak_step})", f"{self.minimum:.4g}",
                f"{self.final:.4g}", f"{self.mean:.4g}", f"{self.budget:.4g}",
                str(self.changes)]

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


SUMMARY_HEADER = ["name", "scheduler", "steps", "initial", "peak (step)", "minimum", "final",
                  "mean", "lr budget", "changes"]


def summarize(trace: Trace) -> Summary:
    """The summary of one trace."""
    lr = trace.lrs[0]
    peak = int(np.argmax(lr))
    return Summary(
        name=trace.spec.name,
        scheduler=trace.spec.scheduler.type,
        steps=trace.steps,
        initial=float(lr[0]),
        peak=float(lr[peak]),
        peak_step=peak,
        minimum=float(lr.min()),
        final=float(lr[-1]),
        mean=float(lr.mean()),
        budget=float(lr.sum()),
        changes=int(np.count_nonzero(np.diff(lr))),
    )


MAX_SCHEDULES = 48  # on one figure: more lines or panels than anyone can read


def load_specs(
    paths: list[str], steps: int | None = None, sweep: str | None = None,
    allow_import: bool = False, allow_paths: tuple[Path, ...] = (),
) -> list[Spec]:
    """Validated specs of the YAML files, ``steps`` overriding each; a sweep expands one."""
    if sweep is not None and len(paths) != 1:
        raise SpecError(f"a sweep takes exactly one spec, got {len(paths)}", "--sweep")
    if len(paths) > MAX_SCHEDULES:
        raise SpecError(f"{len(paths)} specs; a comparison takes at most {MAX_SCHEDULES}",
                        paths[MAX_SCHEDULES])
    specs: list[Spec] = []
    for path in paths:
        raw, found = read_spec(path)
        if steps is not None:
            raw["steps"] = steps
        variants = sweep_variants(raw, sweep) if sweep else [(raw, {})]
        for variant, locations in variants:
            specs.append(build_file_spec(variant, path, locations={**found, **locations},
                                         allow_import=allow_import, allow_paths=allow_paths))
    _unique_names(specs)
    return specs


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


def _unique_names(specs: list[Spec]) -> None:
    seen: dict[str, int] = {}
    for i, spec in enumerate(specs):
        count = seen.get(spec.name, 0)
        seen[spec.name] = count + 1
        if count:
            specs[i] = _renamed(spec, f"{spec.name}-{count + 1}")


def _renamed(spec: Spec, name: str) -> Spec:
    from dataclasses import replace

    return replace(spec, name=name)


INDEX_COLUMN = "step"  # the first column of every wide table: the 0-based row index


def wide_columns(traces: list[Trace]) -> list[tuple[str, np.ndarray]]:
    """``step`` (the row index), then one lr column per schedule, NaN-padded.

    A schedule's column is named after it (``NAME/lr_i`` for each of several param
    groups). Names are unique: a name already taken (a spec named ``step`` beside the
    index, or ``a/lr_1`` beside schedule ``a``'s second group) is written ``NAME/lr``,
    then ``NAME/lr-2``, ``NAME/lr-3``..., so ``step`` is only ever the index.
    """
    length = max(t.steps for t in traces)
    cols: list[tuple[str, np.ndarray]] = [(INDEX_COLUMN, np.arange(length))]
    taken = {INDEX_COLUMN}
    for trace in traces:
        for i, row in enumerate(trace.lrs):
            padded = np.full(length, np.nan)
            padded[: trace.steps] = row
            name = trace.spec.name if trace.groups == 1 else f"{trace.spec.name}/lr_{i}"
            if name in taken:
                base = f"{trace.spec.name}/lr"
                name, n = base, 1
                while name in taken:
                    n += 1
                    name = f"{base}-{n}"
            taken.add(name)
            cols.append((name, padded))
    return cols
