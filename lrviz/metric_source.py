"""A spec's ``metric:`` section -> the values fed to ReduceLROnPlateau.

Logged values (``values:``), a CSV file (``file:`` and ``column:``), a logged run
(``run:`` and ``tag:``, read by :mod:`lrviz.runs`) or a seeded generator (``generator:``)
whose values are made once the run's length is known. Part of :mod:`lrviz.build`.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from lrviz import catalog, inputs
from lrviz.checker import (
    Checker,
    names_excerpt,
    num_text,
    numbers,
    show_value,
)
from lrviz.errors import SpecError
from lrviz.spec import (
    MetricSpec,
    SchedulerSpec,
)


def metric_spec(
    check: Checker, raw: Any, base_dir: str | Path | None, scheduler: SchedulerSpec,
    notes: list[str],
) -> MetricSpec:
    """Logged values (``values:``, ``file:``) as given, or a generator still to be run.

    A generator's values are made once the run's length is known (:func:`with_values`).
    """
    if not scheduler.info.takes_metric:
        raise check.fail("metric", f"only ReduceLROnPlateau takes a metric, not {scheduler.type}")
    if raw is None:
        mode = scheduler.params.get("mode", "min")
        name = "accuracy" if mode == "max" else _default_generator()
        notes.append(f"metric not given: feeding the synthetic `{name}` metric (seed 0); "
                     "--metric, --metric-file or `metric:` choose another")
        raw = {"generator": name, "seed": 0}
    check.mapping(raw, "metric", None)
    sources = [k for k in ("values", "file", "run", "generator") if k in raw]
    # only a seed or generator parameters
    if not sources and raw and "column" not in raw and "tag" not in raw:
        default = "accuracy" if scheduler.params.get("mode", "min") == "max" else \
            _default_generator()
        raw = {"generator": default, **raw}
        sources = ["generator"]
    if not sources and "tag" in raw:
        raise check.fail("metric.tag", "a tag needs its run: give `run:` (--metric-from) "
                         "beside it")
    if not sources and "column" in raw:
        raise check.fail("metric.column", "a column needs its file: give `file:` "
                         "(--metric-file) beside it")
    if len(sources) != 1:
        raise check.fail(
            "metric", "expected exactly one of `values:` (a list), `file:` (a CSV, with "
            "`column:`), `run:` (a logged run, with `tag:`) or `generator:` (a synthetic "
            "metric)"
        )
    if sources == ["generator"]:
        return _generator_spec(check, raw)
    if sources == ["run"]:
        return _metric_run(check, raw, base_dir)
    check.mapping(raw, "metric", ("values",) if sources == ["values"] else ("file", "column"))
    if "values" in raw:
        values = raw["values"]
        if isinstance(values, str):
            values = values.split(",")
        if not isinstance(values, list) or not values:
            raise check.fail("metric.values", "expected a non-empty list of numbers")
        nums = numbers(check, values, "metric.values")
        return MetricSpec(nums, {"values": list(nums)})
    return _metric_file(check, raw, base_dir)


def _default_generator() -> str:
    from lrviz.metrics import DEFAULT

    return DEFAULT


def _generator_spec(check: Checker, raw: dict[str, Any]) -> MetricSpec:
    from lrviz.metrics import GENERATORS

    name = raw["generator"]
    if not isinstance(name, str) or name not in GENERATORS:
        hint = catalog.suggest(str(name), list(GENERATORS))
        raise check.fail("metric.generator", f"unknown generator {show_value(name)}{hint}; "
                         f"expected one of: {', '.join(GENERATORS)}")
    gen = GENERATORS[name]
    seed = check.integer(raw.get("seed", 0), "metric.seed")
    if seed < 0:
        raise check.fail("metric.seed", f"expected an integer >= 0, got {seed}")
    params: dict[str, float] = {}
    for key, value in raw.items():
        if key in ("generator", "seed"):
            continue
        if key not in gen.params:
            raise check.unknown(f"metric.{key}", key, ("generator", "seed", *gen.params))
        params[key] = check.number(value, f"metric.{key}")
        if params[key] < 0 or (key == "length" and params[key] < 1):
            low = 1 if key == "length" else 0
            raise check.fail(f"metric.{key}",
                             f"expected a number >= {low}, got {num_text(params[key])}")
    return MetricSpec((), {"generator": name, "seed": seed, **params})


def with_values(metric: MetricSpec, count: int) -> MetricSpec:
    """A generator's metric with its ``count`` values made; logged values pass through."""
    if "generator" not in metric.source:
        return metric
    from lrviz.metrics import generate

    source = dict(metric.source)
    name, seed = source.pop("generator"), source.pop("seed")
    values = generate(name, max(count, 1), seed, **source)
    return MetricSpec(tuple(values.tolist()), metric.source)


def _metric_file(check: Checker, raw: dict[str, Any], base_dir: str | Path | None) -> MetricSpec:
    name = raw["file"]
    if not isinstance(name, str) or not name:
        raise check.fail("metric.file", f"expected a path to a CSV file, got {show_value(name)}")
    path = Path(name)
    if not path.is_absolute() and base_dir is not None:
        path = Path(base_dir) / path
    typed = check.where("metric.file").startswith("-")  # the user's own --metric-file
    roots = None if typed else [Path(base_dir or "."), Path.cwd(), *check.allow_paths]
    text = inputs.read_text(path, what="metric file", where=check.where("metric.file"),
                            limit=inputs.MAX_DATA_BYTES, roots=roots)
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise check.fail("metric.file", f"cannot read {path} as CSV ({exc})") from None
    if not rows:
        raise check.fail("metric.file", f"{path} is empty; expected a CSV with a header row")
    header = [h.strip() for h in rows[0]]
    column = raw.get("column")
    if column is None:
        if len(header) != 1:
            # the flag to add when the file came from one, as the key would be in YAML
            by_flag = check.where("metric.file").startswith("-")
            raise SpecError(f"{path} has several columns; name one of: {names_excerpt(header)}",
                            "--metric-column" if by_flag else check.where("metric.column"))
        column = header[0]
    if not isinstance(column, str) or column not in header:
        hint = catalog.suggest(str(column), header)
        raise check.fail(
            "metric.column",
            f"no column {show_value(column)} in {path}{hint}; columns: {names_excerpt(header)}",
        )
    index = header.index(column)
    values = []
    for line, row in enumerate(rows[1:], start=2):
        cell = row[index].strip() if index < len(row) else ""
        if cell:  # loggers leave the metric empty on rows where it was not computed
            values.append(check.number(cell, f"metric.file ({path}, line {line})"))
    if not values:
        raise check.fail("metric.column", f"column {column!r} of {path} has no values")
    return MetricSpec(tuple(values), {"file": str(raw["file"]), "column": column})


def _metric_run(check: Checker, raw: dict[str, Any], base_dir: str | Path | None) -> MetricSpec:
    """``run:`` (+ ``tag:``): the scalar a logged run holds (:func:`lrviz.runs.read_metric`),
    in logged-step order. The run is held to the path policy of ``file:``."""
    from lrviz.runs import Options, read_metric

    check.mapping(raw, "metric", ("run", "tag"))
    name, tag = raw["run"], raw.get("tag")
    if not isinstance(name, str) or not name:
        raise check.fail("metric.run", f"expected a path to a run log, got {show_value(name)}")
    if tag is not None and (not isinstance(tag, str) or not tag):
        raise check.fail("metric.tag", f"expected a logged scalar's name, got {show_value(tag)}")
    path = Path(name)
    if not path.is_absolute() and base_dir is not None:
        path = Path(base_dir) / path
    where = check.where("metric.run")
    typed = where.startswith("-")  # the user's own --metric-from
    roots = None if typed else [Path(base_dir or "."), Path.cwd(), *check.allow_paths]
    try:
        inputs.check_within(path, "run", str(path), roots)
        run = read_metric(path, tag, Options(allowed=tuple(check.allow_paths)))
    except SpecError as exc:  # the key (or flag) first, then the file
        raise SpecError(exc.message, f"{where}: {exc.where}" if exc.where else where) from None
    return MetricSpec(tuple(run.lr.tolist()), {"run": name, "tag": run.tag})
