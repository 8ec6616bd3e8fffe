"""The scheduler families: every record answers every hook, and nothing outside the
families and the registry asks which scheduler it is looking at (issue 14)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lrviz import catalog
from lrviz.build import build_spec
from lrviz.check import Finding, Run, _spans
from lrviz.events import events
from lrviz.schedulers import base

PACKAGE = Path(__file__).resolve().parent.parent / "lrviz"
RECORDS = catalog.SCHEDULERS_TABLE + catalog.HF_SCHEDULERS
HOOKS = ("natural_length", "handovers", "events", "relations", "lr_param_at", "crash",
         "pitfalls", "value")
STAGES = (base.ZERO_LENGTH, base.CYCLE_LENGTH, base.RAMPS, base.PAST_SCHEDULE,
          base.ANNEALING, base.GAMMA, base.MILESTONES)
KINDS = {"drop", "milestone", "restart", "cycle", "phase", "warmup"}

# A value for every required parameter, so that each record can be built and asked.
_SAMPLES: dict[str, Any] = {
    "lr_lambda": "0.95 ** epoch", "step_size": 7, "milestones": [5], "gamma": 0.9,
    "T_max": 20, "T_0": 6, "base_lr": 0.01, "max_lr": 0.1, "swa_lr": 0.05,
    "num_decay_steps": 10, "num_training_steps": 40,
}
_CHILDREN = {"SequentialLR": [{"type": "constant"}, {"type": "cosine"}],
             "ChainedScheduler": [{"type": "constant"}, {"type": "exponential", "gamma": 0.9}]}


def _raw(record: catalog.Scheduler) -> dict[str, Any]:
    sched: dict[str, Any] = {"type": record.name}
    for p in record.params:
        if p.required and p.kind != catalog.SCHEDULERS:
            sched[p.name] = _SAMPLES[p.name]
    if record.composite:
        sched["schedulers"] = _CHILDREN[record.name]
    if "min_lr_rate" in record.param_names:  # exactly one of min_lr and min_lr_rate
        sched["min_lr_rate"] = 0.1
    return {"scheduler": sched, "steps": 60}


@pytest.mark.parametrize("record", RECORDS, ids=lambda s: s.name)
def test_every_record_answers_every_hook(record: catalog.Scheduler) -> None:
    assert isinstance(record, base.Scheduler)
    for hook in HOOKS:
        assert callable(getattr(record, hook)), hook
    spec = build_spec(_raw(record))
    node = spec.scheduler
    assert node.info is record
    assert record.natural_length(node, 0) >= 1
    assert record.natural_length(node, 0) == record.natural_length(node, 0)  # no state
    for epoch, label, kind in record.events(node, 0, spec.scheduler_steps, "step"):
        assert isinstance(epoch, int) and label and kind in KINDS
    assert list(record.relations(dict(node.params), len(node.children))) == []
    handovers = record.handovers(node.params)
    assert handovers is None or len(handovers) == len(node.children) - 1
    run = Run(spec, None)
    for span in _spans(spec):
        for stage in STAGES:
            for found in span.node.info.pitfalls(stage, run, span):
                assert isinstance(found, Finding)
        assert span.node.info.crash(run, span, "", "", 0) is None
    assert isinstance(record.alias, str) and record.alias
    module, func = record.factory
    assert module and func
    for param in record.params:  # defaults are read from the records, not retyped
        if not param.required:
            assert record.value({}, param.name) == param.default


def test_relations_are_the_records() -> None:
    cyclic = catalog.find("cyclic")
    assert cyclic is not None
    assert list(cyclic.relations({"base_lr": 0.2, "max_lr": 0.1}, 0)) == [
        ("base_lr", "base_lr (0.2) is above max_lr (0.1); expected base_lr <= max_lr")]
    sequential = catalog.find("sequential")
    assert sequential is not None
    assert [k for k, _ in sequential.relations({"milestones": [1, 2]}, 2)] == ["milestones"]
    onecycle = catalog.find("onecycle")
    assert onecycle is not None
    assert [k for k, _ in onecycle.relations({"base_momentum": 0.99}, 0)] == ["base_momentum"]


def test_events_read_defaults_from_the_params() -> None:
    spec = build_spec({"scheduler": {"type": "step", "step_size": 5}, "steps": 12})
    gamma = catalog.lookup("step").param("gamma").default
    assert [e.label for e in events(spec)] == [f"StepLR: lr x {gamma:g}"] * 2


def test_warmup_is_built_from_the_registry() -> None:
    spec = build_spec({"scheduler": {"type": "cosine"}, "warmup": {"steps": 5}, "steps": 50})
    assert spec.scheduler.info is catalog.SEQUENCE
    assert spec.scheduler.children[0].info is catalog.WARMUP


# ------------------------------------------------ no scheduler names outside the families

# The analysis modules: they must ask a record, never compare its name.
ANALYSIS = ("spec.py", "events.py", "check.py", "code.py", "compare.py", "plateau.py",
            "trace.py", "gallery.py", "api.py", "render")
CLASS_NAMES = {s.name for s in catalog.SCHEDULERS_TABLE} | {"LRScheduler"}


def _analysis_files() -> Iterator[Path]:
    for name in ANALYSIS:
        path = PACKAGE / name
        yield from sorted(path.glob("*.py")) if path.is_dir() else [path]


def _docstrings(tree: ast.AST) -> set[int]:
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                out.add(id(body[0].value))
    return out


def _branches(path: Path) -> list[str]:
    """Where ``path`` names a scheduler class or an hf: schedule as a value of its own
    (a comparison, a lookup, a table key), or asks a record for its builder."""
    tree = ast.parse(path.read_text(), str(path))
    skip = _docstrings(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):  # message text: a name in words is fine
            skip.update(id(v) for v in node.values)
        if isinstance(node, ast.Constant) and id(node) not in skip \
                and isinstance(node.value, str) \
                and (node.value in CLASS_NAMES or node.value.lower().startswith("hf:")):
            found.append(f"{path.name}:{node.lineno}: {node.value!r}")
        if isinstance(node, ast.Attribute) and node.attr == "builder":
            found.append(f"{path.name}:{node.lineno}: .builder")
    return found


def test_no_analysis_module_branches_on_a_scheduler_name() -> None:
    found = [hit for path in _analysis_files() for hit in _branches(path)]
    assert found == []


def test_the_name_check_finds_a_branch(tmp_path: Path) -> None:
    path = tmp_path / "probe.py"
    path.write_text('if node.type == "StepLR" or info.builder == "hf":\n    x = "hf:linear"\n'
                    'y = f"{node.type} is not StepLR"\n')
    assert len(_branches(path)) == 3


def test_the_families_import_nothing_above_them() -> None:
    """The records are the bottom layer: spec, check and events import them, never back."""
    allowed = ("lrviz.schedulers", "lrviz.errors")
    for path in sorted((PACKAGE / "schedulers").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else (
                [a.name for a in node.names] if isinstance(node, ast.Import) else [])
            for name in names:
                if name.startswith("lrviz"):
                    assert name.startswith(allowed), f"{path.name} imports {name}"
