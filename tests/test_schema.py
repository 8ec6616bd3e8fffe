"""``lrviz schema``: a valid draft 2020-12 schema that agrees with lrviz's own validation.

Every case is checked twice, by the schema and by :func:`lrviz.build.build_spec`, and the
two must agree: the schema accepts what lrviz accepts and rejects what it rejects (only
for rules JSON Schema can state; see the module docstring of :mod:`lrviz.schema`).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from lrviz import catalog, spec
from lrviz.build import build_spec
from lrviz.errors import SpecError
from lrviz.metrics import GENERATORS
from lrviz.schema import json_schema

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = sorted((ROOT / "configs").glob("*.yaml"))
VALIDATOR = Draft202012Validator(json_schema())

SAMPLE = {catalog.INT: 5, catalog.FLOAT: 0.1, catalog.EXPR: "0.9", catalog.INT_LIST: [3]}


def schema_ok(raw: Any) -> bool:
    return VALIDATOR.is_valid(raw)


def lrviz_ok(raw: Any, base_dir: Path) -> bool:
    try:
        build_spec(raw, base_dir=base_dir)
    except SpecError:
        return False
    return True


def minimal(info: catalog.Scheduler) -> dict[str, Any]:
    """A valid scheduler mapping of ``info`` with only its required parameters."""
    out: dict[str, Any] = {"type": info.name}
    for p in info.params:
        if p.required and p.name != info.length_param and p.kind != catalog.SCHEDULERS:
            out[p.name] = SAMPLE[p.kind]
    if info.name == "CyclicLR":
        out["max_lr"] = 1.0
    if info.composite:
        out["schedulers"] = [{"type": "exponential", "gamma": 0.9},
                             {"type": "cosine", "T_max": 10}]
        if "milestones" in out:
            out["milestones"] = [5]
    return out


def yml(text: str) -> Any:
    return yaml.safe_load(text)


GOOD: dict[str, Any] = {
    "class name": {"scheduler": {"type": "CyclicLR", "base_lr": 0.001, "max_lr": 0.1}},
    "alias": {"scheduler": {"type": "cyclic", "base_lr": 0.001, "max_lr": 0.1}},
    "any case": {"scheduler": {"type": "cYcLiClR", "base_lr": 0.001, "max_lr": 0.1}},
    "alias with underscore": {"scheduler": {"type": "Cosine_Restarts", "T_0": 10}},
    "second alias": {"scheduler": {"type": "warm-restarts", "T_0": 10, "T_mult": 2}},
    "yaml 1.1 exponent strings": yml("steps: 1e3\nscheduler: {type: cyclic, base_lr: 1e-4, "
                                     "max_lr: 1E-2, step_size_up: 2e2}"),
    "choice in capitals": {"scheduler": {"type": "cyclic", "base_lr": 0.001, "max_lr": 0.1,
                                         "mode": "Triangular2"}},
    "bool words": {"scheduler": {"type": "cyclic", "base_lr": 0.001, "max_lr": 0.1,
                                 "cycle_momentum": "off"}},
    "null default": {"scheduler": {"type": "cyclic", "base_lr": 0.001, "max_lr": 0.1,
                                   "step_size_down": None}},
    "T_max left out": {"steps": 50, "scheduler": {"type": "cosine", "interval": "epoch"}},
    "total_steps left out": {"scheduler": {"type": "onecycle", "max_lr": 0.1}},
    "per-group list": {
        "optimizer": {"param_groups": [{"lr": 0.1}, {"lr": 0.01}]},
        "scheduler": {"type": "cyclic", "base_lr": [1e-4, 1e-5], "max_lr": "1e-2, 1e-3"},
    },
    "expressions": {
        "optimizer": {"param_groups": [{"lr": 0.1}, {"lr": 0.01}]},
        "scheduler": {"type": "lambda", "lr_lambda": ["0.95 ** epoch", 1]},
    },
    "number expression": {"scheduler": {"type": "multiplicative", "lr_lambda": 0.99}},
    "milestones as one integer": {"scheduler": {"type": "multistep", "milestones": 30}},
    "milestones as text": {"scheduler": {"type": "multistep", "milestones": "30,60"}},
    "integer written as a float": {"scheduler": {"type": "step", "step_size": 30.0}},
    "nested composites": {
        "steps": 100,
        "scheduler": {"type": "chained", "schedulers": [
            {"type": "sequential", "milestones": [10], "schedulers": [
                {"type": "linear", "total_iters": 10}, {"type": "cosine"}]},
            {"type": "exponential", "gamma": 0.99},
        ]},
    },
    "optimizer keywords": {"optimizer": {"type": "AdamW", "lr": "3e-4", "betas": [0.9, 0.95],
                                         "weight_decay": 0.1, "amsgrad": True},
                           "scheduler": {"type": "cosine", "T_max": 10}},
    "no optimizer": {"optimizer": None, "scheduler": {"type": "exponential", "gamma": 0.9}},
    "plateau values": {"scheduler": {"type": "plateau"}, "metric": {"values": [1, 0.9, 0.8]}},
    "plateau value text": {"scheduler": {"type": "plateau"}, "metric": {"values": "1,0.9"}},
    "plateau file": {"scheduler": {"type": "ReduceLROnPlateau"},
                     "metric": {"file": "log.csv", "column": "val_loss"}},
    "plateau file one column": {"scheduler": {"type": "plateau"},
                                "metric": {"file": "one.csv"}},
    "plateau run": {"scheduler": {"type": "plateau"},
                    "metric": {"run": "log.csv", "tag": "val_loss"}},
    "plateau run default tag": {"scheduler": {"type": "plateau"}, "metric": {"run": "log.csv"}},
    "plateau without metric": {"scheduler": {"type": "plateau"}},
    "plateau null metric": {"scheduler": {"type": "plateau"}, "metric": None},
    "plateau generator": {"scheduler": {"type": "plateau", "mode": "max"},
                          "metric": {"generator": "accuracy", "seed": 2, "noise": 0}},
    "plateau seed only": {"scheduler": {"type": "plateau"}, "metric": {"seed": 4}},
    "warmup": {"steps": 100, "warmup": {"steps": 10, "start_factor": "1e-2"},
               "scheduler": {"type": "cosine"}},
    "plot": {"plot": {"log_y": True, "size": "8x4", "dpi": 150},
             "scheduler": {"type": "exponential", "gamma": 0.9}},
    "everything top-level": {"name": "run", "title": "A run", "steps": 100,
                             "steps_per_epoch": 10,
                             "scheduler": {"type": "step", "step_size": 3, "interval": "epoch"}},
}

BAD: dict[str, Any] = {
    "misspelled top-level key": {"stepz": 10, "scheduler": {"type": "cosine", "T_max": 10}},
    "misspelled scheduler param": {"scheduler": {"type": "cyclic", "base_lr": 0.001,
                                                 "max_lr": 0.1, "step_size_upp": 100}},
    "param of another scheduler": {"scheduler": {"type": "cosine", "step_size": 10}},
    "misspelled nested param": {"scheduler": {"type": "sequential", "milestones": [5],
                                              "schedulers": [{"type": "linear", "totl_iters": 5},
                                                             {"type": "cosine"}]}},
    "nested interval": {"scheduler": {"type": "chained", "schedulers": [
        {"type": "cosine", "T_max": 5, "interval": "epoch"}]}},
    "nested plateau": {"scheduler": {"type": "chained", "schedulers": [{"type": "plateau"}]}},
    "unknown scheduler": {"scheduler": {"type": "cosinus", "T_max": 10}},
    "scheduler type not a string": {"scheduler": {"type": 3}},
    "no type": {"scheduler": {"T_max": 10}},
    "no scheduler": {"steps": 10},
    "bad interval": {"scheduler": {"type": "cosine", "interval": "batch"}},
    "bad choice": {"scheduler": {"type": "cyclic", "base_lr": 0.001, "max_lr": 0.1,
                                 "mode": "triangular3"}},
    "missing required param": {"scheduler": {"type": "step", "gamma": 0.5}},
    "below minimum": {"scheduler": {"type": "step", "step_size": 0}},
    "not positive": {"scheduler": {"type": "onecycle", "max_lr": 0}},
    "above maximum": {"scheduler": {"type": "linear", "start_factor": 1.5}},
    "steps zero": {"steps": 0, "scheduler": {"type": "cosine"}},
    "steps not a number": {"steps": "many", "scheduler": {"type": "cosine"}},
    "steps a fraction": {"steps": 10.5, "scheduler": {"type": "cosine"}},
    "bool for a number": {"scheduler": {"type": "exponential", "gamma": True}},
    "expression not text": {"scheduler": {"type": "lambda", "lr_lambda": {"f": 1}}},
    "metric for another scheduler": {"scheduler": {"type": "cosine", "T_max": 9},
                                     "metric": {"values": [1.0]}},
    "metric values and file": {"scheduler": {"type": "plateau"},
                               "metric": {"values": [1.0], "file": "log.csv"}},
    "metric values and column": {"scheduler": {"type": "plateau"},
                                 "metric": {"values": [1.0], "column": "loss"}},
    "metric column alone": {"scheduler": {"type": "plateau"}, "metric": {"column": "loss"}},
    "metric tag alone": {"scheduler": {"type": "plateau"}, "metric": {"tag": "loss"}},
    "metric run and file": {"scheduler": {"type": "plateau"},
                            "metric": {"run": "log.csv", "file": "log.csv"}},
    "metric run and column": {"scheduler": {"type": "plateau"},
                              "metric": {"run": "log.csv", "column": "val_loss"}},
    "metric empty": {"scheduler": {"type": "plateau"}, "metric": {}},
    "metric unknown generator": {"scheduler": {"type": "plateau"},
                                 "metric": {"generator": "sawtooth"}},
    "metric knob of another generator": {"scheduler": {"type": "plateau"},
                                         "metric": {"generator": "constant", "drop": 0.1}},
    "metric misspelled key": {"scheduler": {"type": "plateau"}, "metric": {"valuez": [1]}},
    "optimizer param_groups not a list": {"optimizer": {"param_groups": {"lr": 0.1}},
                                          "scheduler": {"type": "cosine", "T_max": 9}},
    "optimizer type not text": {"optimizer": {"type": 1},
                                "scheduler": {"type": "cosine", "T_max": 9}},
    "warmup without steps": {"warmup": {"start_factor": 0.1},
                             "scheduler": {"type": "cosine", "T_max": 9}},
    "warmup misspelled key": {"warmup": {"steps": 2, "start": 0.1},
                              "scheduler": {"type": "cosine", "T_max": 9}},
    "warmup factor zero": {"warmup": {"steps": 2, "start_factor": 0},
                           "scheduler": {"type": "cosine", "T_max": 9}},
    "plot misspelled key": {"plot": {"logy": True}, "scheduler": {"type": "cosine", "T_max": 9}},
    "name with a slash": {"name": "a/b", "scheduler": {"type": "cosine", "T_max": 9}},
    "not a mapping": [1, 2],
}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "log.csv").write_text("step,val_loss\n0,1.0\n1,0.9\n", encoding="utf-8")
    (tmp_path / "one.csv").write_text("loss\n1.0\n0.9\n", encoding="utf-8")
    return tmp_path


def test_schema_is_valid_draft_2020_12() -> None:
    schema = json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)
    json.dumps(schema)  # plain JSON, nothing Python-only
    assert json_schema() == schema


@pytest.mark.parametrize("path", CONFIGS, ids=[p.stem for p in CONFIGS])
def test_every_config_validates(path: Path) -> None:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    errors = [f"{e.json_path}: {e.message}" for e in VALIDATOR.iter_errors(raw)]
    assert not errors


@pytest.mark.parametrize("name", sorted(GOOD))
def test_good_specs(name: str, folder: Path) -> None:
    raw = GOOD[name]
    assert lrviz_ok(raw, folder), "the case itself is wrong: lrviz rejects it"
    errors = [f"{e.json_path}: {e.message}" for e in VALIDATOR.iter_errors(raw)]
    assert not errors


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_specs(name: str, folder: Path) -> None:
    raw = BAD[name]
    assert not lrviz_ok(raw, folder), "the case itself is wrong: lrviz accepts it"
    assert not schema_ok(raw)


def test_misspellings_are_named() -> None:
    top = BAD["misspelled top-level key"]
    assert any("'stepz' was unexpected" in e.message for e in VALIDATOR.iter_errors(top))
    param = BAD["misspelled scheduler param"]
    errors = list(VALIDATOR.iter_errors(param))
    assert any("'step_size_upp' was unexpected" in e.message and e.json_path == "$.scheduler"
               for e in errors)


@pytest.mark.parametrize("info", catalog.SCHEDULERS_TABLE, ids=lambda s: s.name)
def test_every_scheduler_agrees_with_lrviz(info: catalog.Scheduler, folder: Path) -> None:
    base = {"steps": 20, "scheduler": minimal(info)}
    assert lrviz_ok(base, folder) and schema_ok(base)
    for name in (info.name, info.name.lower(), info.name.upper(), *info.aliases):
        renamed = {**base, "scheduler": {**base["scheduler"], "type": name}}
        assert schema_ok(renamed), name
    for p in info.params:
        if p.kind == catalog.SCHEDULERS:
            continue
        if not p.required:  # torch's default, written out, is accepted by both
            with_default = {**base, "scheduler": {**base["scheduler"], p.name: p.default}}
            assert lrviz_ok(with_default, folder) == schema_ok(with_default), p.name
        typo = {**base, "scheduler": {**base["scheduler"], p.name + "_": 1}}
        assert not lrviz_ok(typo, folder) and not schema_ok(typo), p.name
        if p.required and p.name != info.length_param:
            left_out = {k: v for k, v in base["scheduler"].items() if k != p.name}
            assert not schema_ok({**base, "scheduler": left_out}), p.name


def test_schema_covers_the_spec_keys() -> None:
    schema = json_schema()
    properties = schema["properties"]
    assert list(properties) == list(spec.TOP_KEYS)
    assert list(properties["plot"]["properties"]) == list(spec.PLOT_KEYS)
    assert list(properties["warmup"]["properties"]) == list(spec.WARMUP_KEYS)
    generator = next(b for b in properties["metric"]["oneOf"] if "generator" in b.get(
        "required", []))
    assert generator["properties"]["generator"]["enum"] == list(GENERATORS)
    top = schema["$defs"]["top_scheduler"]
    assert [b["then"]["title"] for b in top["allOf"]] == [
        s.name for s in catalog.SCHEDULERS_TABLE + catalog.HF_SCHEDULERS]
    cyclic = next(b["then"] for b in top["allOf"] if b["then"]["title"] == "CyclicLR")
    assert cyclic["properties"]["step_size_up"]["default"] == 2000
    assert "steps from base_lr up to max_lr" in cyclic["properties"]["step_size_up"][
        "description"].lower()


def test_bool_words_match_lrviz() -> None:
    from lrviz import schema

    assert set(schema._BOOL_WORDS) == set(spec._BOOL_WORDS)


def test_import_is_light() -> None:
    code = "import sys, lrviz.schema; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


# The spec's own keys come from one table (lrviz.keys): the schema and the validator are
# fed the same values here and must agree on each.
_BASE = {"steps": 20, "scheduler": {"type": "cosine"}}
OWN_KEYS = [
    ({"plot": {"size": "100x100"}}, False), ({"plot": {"size": "0.5x4"}}, False),
    ({"plot": {"size": "8x4"}}, True), ({"plot": {"size": [8, 60]}}, False),
    ({"plot": {"size": [8, 4.5]}}, True), ({"plot": {"dpi": 10}}, False),
    ({"plot": {"dpi": 1201}}, False), ({"plot": {"dpi": 300}}, True),
    ({"plot": {"log_y": "maybe"}}, False), ({"plot": {"log_y": "yes"}}, True),
    ({"steps": 0}, False), ({"steps": 5}, True), ({"steps_per_epoch": 0}, False),
    ({"epochs": 0, "steps": None}, False), ({"epochs": 2, "steps": None}, True),
    ({"warmup": {"steps": -1}}, False), ({"warmup": {"steps": 0}}, True),
    ({"warmup": {"steps": None}}, False), ({"warmup": {"start_factor": 0.5}}, False),
    ({"warmup": {"steps": 3, "start_factor": 0}}, False),
    ({"warmup": {"steps": 3, "start_factor": 1.5}}, False),
    ({"warmup": {"steps": 3, "start_factor": 1}}, True),
    ({"name": "n" * 101}, False), ({"name": "n" * 100}, True), ({"name": ".hidden"}, False),
    ({"name": "-dash"}, False), ({"name": "a/b"}, False), ({"name": "a\nb"}, False),
    ({"name": "cosine run 2"}, True), ({"title": "t" * 201}, False),
    ({"title": "a\nb"}, False), ({"title": "Warmup, then cosine"}, True),
    ({"stepz": 3}, False),
]


@pytest.mark.parametrize(("change", "valid"), OWN_KEYS, ids=[str(c) for c, _ in OWN_KEYS])
def test_schema_and_validator_agree_on_the_spec_keys(
    change: dict[str, Any], valid: bool, tmp_path: Path
) -> None:
    raw = {**_BASE, **change}
    assert lrviz_ok(raw, tmp_path) is valid
    assert schema_ok(raw) is valid
