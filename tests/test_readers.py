"""The readers registry: which format a file is, told by its content or by --from.

Detection is held to small files of each kind lrviz meets (its own spec, LightningCLI as
``--print_config`` writes it and ``fit:``-nested, Hydra, Hugging Face TrainingArguments,
axolotl, torchtune) and to a file in no format lrviz reads (a docker-compose file); every
refusal is one exact line and writes nothing.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

import lrviz
from lrviz import flags, readers
from lrviz.cli import app
from lrviz.errors import SpecError
from lrviz.readers import lightning
from lrviz.readers import lrviz as lrviz_spec
from lrviz.readers.safe_yaml import load_yaml

LRVIZ = "steps: 30\nscheduler: {type: StepLR, step_size: 10}\n"
LIGHTNING = """\
# lightning.pytorch==2.5.0
seed_everything: 0
trainer:
  max_steps: 30
model:
  class_path: my_project.Net
optimizer:
  class_path: torch.optim.SGD
  init_args: {lr: 0.1}
lr_scheduler:
  class_path: torch.optim.lr_scheduler.StepLR
  init_args: {step_size: 10}
"""
FIT = """\
fit:
  trainer: {max_steps: 30}
  optimizer: torch.optim.SGD
  lr_scheduler:
    class_path: torch.optim.lr_scheduler.StepLR
    init_args: {step_size: 10}
"""
HYDRA = """\
model:
  _target_: src.models.mnist_module.MNISTLitModule
  optimizer:
    _target_: torch.optim.Adam
    _partial_: true
    lr: 0.001
  scheduler:
    _target_: torch.optim.lr_scheduler.ReduceLROnPlateau
    _partial_: true
    mode: min
trainer:
  _target_: lightning.pytorch.trainer.Trainer
  max_epochs: 10
"""
HYDRA_TOP = """\
optimizer: {_target_: torch.optim.AdamW, lr: 0.001}
scheduler: {_target_: torch.optim.lr_scheduler.CosineAnnealingLR, T_max: 100}
"""
HF = """\
model_name_or_path: mistralai/Mistral-7B-v0.1
learning_rate: 2.0e-05
lr_scheduler_type: cosine
warmup_ratio: 0.1
num_train_epochs: 1
max_steps: -1
per_device_train_batch_size: 8
gradient_accumulation_steps: 2
optim: adamw_torch
"""
AXOLOTL = """\
base_model: NousResearch/Llama-2-7b-hf
optimizer: adamw_bnb_8bit
lr_scheduler: cosine
learning_rate: 0.0002
num_epochs: 4
micro_batch_size: 2
gradient_accumulation_steps: 4
warmup_steps: 10
"""
# A file in no format lrviz reads: a container stack, nothing about training.
OTHER = """\
version: "3"
services:
  web: {image: nginx, ports: ["8080:80"]}
"""
TORCHTUNE = """\
optimizer: {_component_: torch.optim.AdamW, lr: 3.0e-4, fused: true}
lr_scheduler:
  _component_: torchtune.training.lr_schedulers.get_cosine_schedule_with_warmup
  num_warmup_steps: 100
epochs: 1
"""

NOT_READ = "not a spec lrviz reads: expected " + ", ".join(
    r.DESCRIPTION for r in readers.READERS[:-1]) + f" or {readers.READERS[-1].DESCRIPTION}"


def scores(text: str) -> dict[str, int]:
    data = yaml.safe_load(text)
    return {r.NAME: r.detect(data) for r in readers.READERS}


@pytest.mark.parametrize(("text", "expected"), [
    (LRVIZ, {"lrviz": 10, "lightning": 0}),
    ("steps: 10\n", {"lrviz": 2, "lightning": 0}),  # a spec that forgot its scheduler
    ("stepz: 3\nscheduler: {type: step}\n", {"lrviz": 10, "lightning": 0}),  # with a typo
    (LIGHTNING, {"lrviz": 0, "lightning": 10}),
    (FIT, {"lrviz": 0, "lightning": 10}),
    ("trainer: {max_steps: 10}\nmodel: {class_path: a.B}\n", {"lrviz": 0, "lightning": 3}),
    (HYDRA, {"lrviz": 0, "lightning": 0, "hydra": 10}),
    (HYDRA_TOP, {"lrviz": 0, "lightning": 0, "hydra": 10}),
    (HF, {"lrviz": 0, "lightning": 0, "hf": 10}),
    (AXOLOTL, {"lrviz": 0, "lightning": 0, "hf": 0, "axolotl": 11}),
    (TORCHTUNE, {"lrviz": 0, "lightning": 0, "torchtune": 10}),
    (OTHER, {name: 0 for name in readers.names()}),
], ids=["lrviz", "lrviz-no-scheduler", "lrviz-typo", "lightning", "lightning-fit",
        "lightning-no-scheduler", "hydra", "hydra-top", "hf", "axolotl", "torchtune", "other"])
def test_detection_scores(text: str, expected: dict[str, int]) -> None:
    got = scores(text)
    assert {k: got[k] for k in expected} == expected
    best = max(got.values())  # the other readers: one best reader, or none
    assert best == 0 or sum(v == best for v in got.values()) == 1


def test_every_reader_has_the_interface() -> None:
    assert readers.names()[:2] == ["lrviz", "lightning"]
    for reader in readers.READERS:
        assert isinstance(reader.NAME, str) and reader.NAME.lower() == reader.NAME
        assert isinstance(reader.DESCRIPTION, str) and reader.DESCRIPTION in NOT_READ
        assert callable(reader.detect) and callable(reader.read)
    assert lightning.NAME == "lightning" and lrviz_spec.NAME == "lrviz"


def test_the_from_help_names_every_reader() -> None:
    (flag,) = [f for f in flags.RUN_FLAGS if f.flag == "--from"]
    result = CliRunner().invoke(app, ["check", "--help"])
    for name in readers.names():
        assert name in flag.help
        assert name in result.stdout


def test_from_completes_reader_names() -> None:
    assert flags.complete(["s.yaml", "--from"], "l") == ["lrviz", "lightning"]
    assert flags.complete(["s.yaml", "--from"], "li") == ["lightning"]
    assert "--from" in flags.complete(["s.yaml"], "--fr")


def test_readers_return_the_raw_spec_and_its_locations(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(FIT)
    raw, locations = readers.read(path)
    assert raw == {"scheduler": {"type": "StepLR", "step_size": 10, "interval": "epoch"},
                   "optimizer": {"type": "SGD"}, "steps": 30}
    assert locations["scheduler.step_size"] == f"{path}: fit.lr_scheduler.init_args.step_size"
    path.write_text(LRVIZ)
    assert readers.read(path) == (yaml.safe_load(LRVIZ), {})


# --- the one-line refusals --------------------------------------------------------------


def refused(runner: CliRunner, folder: Path, args: list[str], line: str) -> None:
    """``args`` exit 2 with exactly ``line`` on stderr, and nothing in ``folder`` changes."""
    before = sorted((p.name, p.read_bytes()) for p in folder.iterdir())
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines() == [line], result.stderr
    assert result.stdout == ""
    assert sorted((p.name, p.read_bytes()) for p in folder.iterdir()) == before


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name, text in (("s.yaml", LRVIZ), ("lit.yaml", LIGHTNING), ("hydra.yaml", HYDRA),
                       ("hf.yaml", HF), ("axolotl.yaml", AXOLOTL), ("other.yaml", OTHER),
                       ("other.json", '{"services": {"web": {"image": "nginx"}}}')):
        Path(name).write_text(text)
    Path("keep.csv").write_text("precious\n")
    return tmp_path


@pytest.mark.parametrize("name", ["other.yaml", "other.json"])
@pytest.mark.parametrize("command", ["plot", "table", "code", "check", "compare"])
def test_a_file_in_no_known_format_is_one_line(
    runner: CliRunner, here: Path, command: str, name: str
) -> None:
    out = ["-o", "keep.csv"] if command in ("plot", "table", "compare") else []
    # compare takes runs too, so its line names both kinds of input
    line = (NOT_READ if command != "compare" else
            "neither a spec nor a run log lrviz reads: expected a spec (lrviz, LightningCLI, "
            "HF TrainingArguments, axolotl, Hydra, torchtune, DeepSpeed, mmengine) or a run's "
            "log (trainer_state.json, metrics.csv, event files, MLflow, scalars.json, a "
            "CSV/JSONL table with step and lr)")
    refused(runner, here, [command, name, *out], f"error: {name}: {line}")


@pytest.mark.parametrize("name", ["hydra.yaml", "hf.yaml", "axolotl.yaml"])
def test_a_format_lrviz_reads_is_not_refused_as_unknown(
    runner: CliRunner, here: Path, name: str
) -> None:
    """Hydra, HF and axolotl files were refused as unknown before their readers; now
    they plot with the dataset size they leave out (and a Hydra file is not LightningCLI)."""
    result = runner.invoke(app, ["plot", name, "--dataset-size", "1000", "-o", "out.csv"])
    assert result.exit_code == 0, result.output
    assert "LightningCLI config without" not in result.stderr
    assert NOT_READ not in result.stderr
    assert Path("out.csv").read_text().startswith("step,")


def test_a_gallery_with_a_file_in_no_known_format_writes_nothing(
    runner: CliRunner, here: Path
) -> None:
    (here / "g").mkdir()
    (here / "g" / "a.yaml").write_text(LRVIZ)
    (here / "g" / "other.yaml").write_text(OTHER)
    result = runner.invoke(app, ["gallery", "g", "-o", "out"])
    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines() == [f"error: g/other.yaml: {NOT_READ}",
                                          "error: out: not written, fix the specs above first"]
    assert not (here / "out").exists()


@pytest.mark.parametrize("command", ["plot", "table", "code", "check", "compare", "gallery"])
def test_an_unknown_from_name_is_one_line(runner: CliRunner, here: Path, command: str) -> None:
    target = "." if command == "gallery" else "s.yaml"
    out = ["-o", "keep.csv"] if command in ("plot", "table", "compare") else []
    refused(runner, here, [command, target, "--from", "fairseq", *out],
            "error: --from: unknown format 'fairseq'; expected one of "
            + ", ".join(readers.names()))


def test_from_with_a_scheduler_name_is_one_line(runner: CliRunner, here: Path) -> None:
    refused(runner, here, ["plot", "cosine", "--from", "lrviz", "-o", "keep.csv"],
            "error: --from: names the format of a spec file; 'cosine' is a scheduler name")


class _Greedy(SimpleNamespace):
    """A reader that claims every file as surely as lrviz claims its own."""


GREEDY = _Greedy(NAME="greedy", DESCRIPTION="a greedy format (anything)",
                 detect=lambda data: 10, read=lambda data, source: (data, {}))


def test_two_equal_best_scores_are_ambiguous(
    runner: CliRunner, here: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(readers, "READERS", (*readers.READERS, GREEDY))
    refused(runner, here, ["plot", "s.yaml", "-o", "keep.csv"],
            "error: s.yaml: ambiguous: it reads as lrviz's YAML spec (scheduler: ...) and as "
            "a greedy format (anything) alike; choose one with --from lrviz or --from greedy")
    # --from settles it
    result = runner.invoke(app, ["plot", "s.yaml", "--from", "greedy", "-o", "out.csv"])
    assert result.exit_code == 0, result.output
    # and a lower score loses to a higher one without a word
    monkeypatch.setattr(GREEDY, "detect", lambda data: 1)
    result = runner.invoke(app, ["plot", "s.yaml", "-o", "out.csv"])
    assert result.exit_code == 0, result.output


# --- --from forces a reader -------------------------------------------------------------


def test_from_forces_the_reader(runner: CliRunner, here: Path) -> None:
    # an lrviz spec read as LightningCLI has no lr_scheduler:
    refused(runner, here, ["plot", "s.yaml", "--from", "lightning", "-o", "keep.csv"],
            "error: s.yaml: a LightningCLI config without `lr_scheduler:` or `optimizer:`; "
            "the schedule is set in code (add lr_scheduler: {class_path: ..., init_args: "
            "{...}})")
    # a LightningCLI config read as lrviz's spec has keys lrviz does not know
    result = runner.invoke(app, ["check", "lit.yaml", "--from", "lrviz"])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: lit.yaml: seed_everything: unknown key")
    # a file in no known format is read as the format named, and refused by its rules
    result = runner.invoke(app, ["table", "hf.yaml", "--from", "lrviz"])
    assert result.stderr.startswith("error: hf.yaml: model_name_or_path: unknown key")


def test_from_naming_the_detected_reader_changes_nothing(runner: CliRunner, here: Path) -> None:
    for command in (["plot", "lit.yaml"], ["table", "lit.yaml"], ["code", "lit.yaml"]):
        plain = runner.invoke(app, [*command, "-o", f"a.{'py' if command[0] == 'code' else 'csv'}"])
        forced = runner.invoke(app, [*command, "--from", "LIGHTNING",
                                     "-o", f"b.{'py' if command[0] == 'code' else 'csv'}"])
        assert plain.exit_code == forced.exit_code == 0, forced.output
    assert Path("a.csv").read_bytes() == Path("b.csv").read_bytes()
    assert Path("a.py").read_bytes() == Path("b.py").read_bytes()
    for args in (["check", "lit.yaml", "s.yaml"], ["compare", "lit.yaml", "-o", "c.csv"]):
        result = runner.invoke(app, [*args, "--from", "lightning"])
        assert result.exit_code == (2 if args[0] == "check" else 0), result.output


def test_gallery_from(runner: CliRunner, here: Path) -> None:
    (here / "g").mkdir()
    (here / "g" / "lit.yaml").write_text(LIGHTNING)
    result = runner.invoke(app, ["gallery", "g", "-o", "out", "--from", "lightning"])
    assert result.exit_code == 0, result.output
    assert (here / "out" / "lit.png").exists()


# --- the Python API -----------------------------------------------------------------------


def test_load_spec_from(here: Path) -> None:
    spec = lrviz.load_spec("lit.yaml", from_="lightning")
    assert spec == lrviz.load_spec("lit.yaml")
    assert spec.scheduler.type == "StepLR" and spec.steps == 30
    with pytest.raises(SpecError, match="unknown format 'x'; expected one of lrviz, lightning, "):
        lrviz.load_spec("lit.yaml", from_="x")
    with pytest.raises(SpecError, match="without `lr_scheduler:`"):
        lrviz.load_spec("s.yaml", from_="lightning")
    with pytest.raises(SpecError) as info:
        lrviz.load_spec("other.yaml")
    assert str(info.value) == f"other.yaml: {NOT_READ}"


# --- the hardened loader, now in lrviz.readers ----------------------------------------------


@pytest.mark.parametrize(("text", "message"), [
    ("a: 1\na: 2\n", "x.yaml: line 2: key 'a' is given twice (first on line 1)"),
    ("a: " + "[" * 40 + "]" * 40 + "\n", "x.yaml: a: nested more than 32 levels deep"),
    ("a: " + "9" * 30 + "\n", "x.yaml: a: expected a number, got an integer of 30 digits"),
    ("a: !!python/name:os.system\n", "x.yaml: invalid YAML at line 1, column 4: could not "
                                     "determine a constructor"),
    ("", "x.yaml: the file is empty; expected a spec with a `scheduler:` key"),
])
def test_load_yaml_refuses(text: str, message: str) -> None:
    with pytest.raises(SpecError) as info:
        load_yaml("x.yaml", text)
    assert str(info.value).startswith(message)


def test_load_yaml_reads_through_the_path_policy(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="no such spec file"):
        load_yaml(tmp_path / "missing.yaml")
    os.mkfifo(tmp_path / "fifo.yaml")  # would hang a plain open()
    with pytest.raises(SpecError, match="not a regular file"):
        load_yaml(tmp_path / "fifo.yaml")
    data: Any = load_yaml(tmp_path / "x.yaml", "a: 1e-4\n")
    assert data == {"a": "1e-4"}  # numbers are the validator's business
