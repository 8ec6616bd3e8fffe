"""Every example spec in configs/ runs, and the README's commands run as written."""

from __future__ import annotations

import math
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

import lrviz
from lrviz.cli import app
from lrviz.errors import SpecError

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = sorted((ROOT / "configs").glob("*.yaml"))


def test_configs_cover_every_scheduler() -> None:
    from lrviz.catalog import SCHEDULERS_TABLE

    used = {s.type for path in CONFIGS for s in lrviz.as_spec(path).scheduler.walk()}
    assert used >= {s.name for s in SCHEDULERS_TABLE}


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_config_runs(path: Path, tmp_path: Path, runner: CliRunner) -> None:
    trace = lrviz.simulate(path)
    assert trace.steps >= 1
    assert (trace.lrs > 0).all()
    out = tmp_path / "x.csv"
    result = runner.invoke(app, ["plot", str(path), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert len(out.read_text().splitlines()) == trace.steps + 1


def _readme_blocks(language: str) -> list[str]:
    """The README's fenced blocks of one language ("" for untagged), by walking the fences."""
    blocks: list[str] = []
    current: list[str] | None = None
    keep = False
    for line in (ROOT / "README.md").read_text().splitlines():
        if line.startswith("```"):
            if current is None:
                current, keep = [], line[3:].strip() == language
            else:
                if keep:
                    blocks.append("\n".join(current))
                current = None
        elif current is not None:
            current.append(line)
    return blocks


def _readme_commands() -> list[str]:
    commands = []
    for block in _readme_blocks(""):
        for line in block.splitlines():
            line = line.split("  #")[0].strip()
            if line.startswith("lrviz ") and "..." not in line:
                commands.append(line)
    return commands


@pytest.mark.parametrize("command", _readme_commands())
def test_readme_command_runs(
    command: str, tmp_path: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    args = shlex.split(command)[1:]
    # outputs go to a scratch folder, never into the checkout
    args = [str(tmp_path / Path(a).name) if i and args[i - 1] in ("-o", "--output") else a
            for i, a in enumerate(args)]
    if args[0] in ("plot", "compare") and "-o" not in args and "--help" not in args:
        args = [str(ROOT / a) if a.startswith("configs/") else a for a in args]
        monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output


def test_readme_python_example_runs() -> None:
    code = _readme_blocks("python")[0]
    namespace: dict[str, object] = {}
    import os

    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        exec(compile(code, "README.md", "exec"), namespace)  # our own docs, not user input
    finally:
        os.chdir(cwd)


# --------------------------------------------------------------------------------------
# Configs users already have (issue 16): each format's reader, on files written as the
# projects write them (tests/configs_data/).

DATA = Path(__file__).resolve().parent / "configs_data"

EXPECTED_RAW = {
    "zephyr_sft.yaml": {
        "optimizer": {"type": "AdamW", "lr": 2e-05},
        "training": {"framework": "hf-trainer", "batch_size": 16, "grad_accum": 2,
                     "epochs": 1, "world_size": 1},
        "scheduler": {"type": "hf:cosine", "warmup_ratio": 0.1}},
    "llama_factory_lora.yaml": {
        "optimizer": {"type": "AdamW", "lr": 1e-4},
        "training": {"framework": "hf-trainer", "batch_size": 1, "grad_accum": 8,
                     "epochs": 3.0, "world_size": 1},
        "scheduler": {"type": "hf:cosine_with_min_lr", "min_lr_rate": 0.1,
                      "warmup_ratio": 0.1}},
    "trl_dpo.json": {
        "optimizer": {"type": "AdamW", "lr": 5e-07},
        "training": {"framework": "hf-trainer", "batch_size": 4, "grad_accum": 4,
                     "max_steps": 200, "world_size": 1},
        "scheduler": {"type": "deepspeed:WarmupDecayLR", "warmup_min_lr": 0,
                      "warmup_max_lr": 5e-07, "warmup_num_steps": 15}},
    "axolotl_lora.yml": {
        "optimizer": {"type": "AdamW", "lr": 0.0002},
        "training": {"framework": "hf-trainer", "batch_size": 2, "grad_accum": 4,
                     "epochs": 4, "world_size": 1},
        "scheduler": {"type": "hf:cosine_with_min_lr", "min_lr_rate": 0.1,
                      "num_warmup_steps": 10}},
    "ds_onecycle.json": {
        "optimizer": {"type": "Adam", "lr": 0.001},
        "scheduler": {"type": "deepspeed:OneCycle", "cycle_first_step_size": 40,
                      "cycle_first_stair_count": 0, "cycle_second_step_size": 40,
                      "cycle_min_lr": 0.0001, "cycle_max_lr": 0.001, "decay_step_size": 10,
                      "decay_lr_rate": 0.1, "cycle_momentum": False},
        "training": {"framework": "deepspeed", "batch_size": 8, "grad_accum": 2,
                     "world_size": 4}},
    "hydra_cosine.yaml": {
        "optimizer": {"type": "SGD", "lr": 0.1, "momentum": 0.9, "weight_decay": 0.0001,
                      "nesterov": True},
        "scheduler": {"type": "CosineAnnealingLR", "T_max": 90, "eta_min": 1e-05}},
    "hydra_run/.hydra/config.yaml": {
        "optimizer": {"type": "Adam", "lr": 0.001, "weight_decay": 0.0},
        "scheduler": {"type": "ReduceLROnPlateau", "mode": "min", "factor": 0.1,
                      "patience": 10},
        "training": {"framework": "lightning", "epochs": 10, "batch_size": 128,
                     "world_size": 1}},
    "torchtune_lora.yaml": {
        "optimizer": {"type": "AdamW", "lr": 0.0003},
        "scheduler": {"type": "torchtune:cosine", "num_warmup_steps": 100},
        "training": {"framework": "torchtune", "batch_size": 4, "grad_accum": 8,
                     "epochs": 1, "world_size": 1}},
    "mm/retinanet.py": {
        "optimizer": {"type": "SGD", "lr": 0.02},
        "scheduler": {"type": "MultiStepLR", "interval": "epoch", "milestones": [8, 11],
                      "gamma": 0.1},
        "training": {"framework": "mmengine", "epochs": 12, "batch_size": 2, "grad_accum": 2,
                     "world_size": 1}},
    "mm/retinanet_warmup.py": {
        "optimizer": {"type": "SGD", "lr": 0.02},
        "scheduler": {"type": "mmengine:param_scheduler", "interval": "step", "max_epochs": 12,
                      "schedulers": [
                          {"type": "mmengine:LinearLR", "start_factor": 0.001,
                           "by_epoch": False, "begin": 0, "end": 500},
                          {"type": "mmengine:MultiStepLR", "begin": 0, "end": 12,
                           "by_epoch": True, "milestones": [8, 11], "gamma": 0.1}]},
        "training": {"framework": "mmengine", "epochs": 12, "batch_size": 2, "grad_accum": 2,
                     "world_size": 1}},
}
FORMAT_OF = {"zephyr_sft.yaml": "hf", "llama_factory_lora.yaml": "hf", "trl_dpo.json": "hf",
             "axolotl_lora.yml": "axolotl", "ds_onecycle.json": "deepspeed",
             "ds_zero2.json": "deepspeed", "hydra_cosine.yaml": "hydra",
             "hydra_run/.hydra/config.yaml": "hydra", "hydra_lit/config.yaml": "hydra",
             "torchtune_lora.yaml": "torchtune",
             "mm/retinanet.py": "mmengine", "mm/retinanet_warmup.py": "mmengine",
             "mm/seg_poly.py": "mmengine"}


@pytest.mark.parametrize("name", sorted(EXPECTED_RAW))
def test_reader_translates(name: str) -> None:
    from lrviz import readers

    raw, locations = readers.read(DATA / name)
    assert raw == EXPECTED_RAW[name]
    assert all(path in locations for path in _paths(raw))  # every value says where from


def _paths(node: dict, prefix: str = "") -> list[str]:
    out = []
    for key, value in node.items():
        if isinstance(value, dict):
            out += _paths(value, f"{prefix}{key}.")
        else:
            out.append(f"{prefix}{key}")
    return out


@pytest.mark.parametrize("name", sorted(FORMAT_OF))
def test_each_file_matches_exactly_one_reader(name: str) -> None:
    from lrviz import readers
    from lrviz.readers import mmengine
    from lrviz.readers.safe_yaml import load_yaml

    path = DATA / name
    data = mmengine.load_python(path) if name.endswith(".py") else load_yaml(path)
    scores = sorted(((r.detect(data), r.NAME) for r in readers.READERS), reverse=True)
    assert scores[0][1] == FORMAT_OF[name]
    assert scores[0][0] > scores[1][0]


def test_axolotl_is_not_lightning() -> None:
    from lrviz.readers import lightning

    data = {"base_model": "x", "lr_scheduler": "cosine", "optimizer": "adamw_8bit"}
    assert lightning.detect(data) == 0


def test_assumptions_are_said_once_each() -> None:
    from lrviz import readers
    from lrviz.readers.common import assumptions

    raw, locations = readers.read(DATA / "zephyr_sft.yaml")
    assert assumptions(locations, raw) == [
        "training.world_size: world_size 1 (one process); --world-size N sets it"]
    locations["training.world_size"] = "--world-size"  # a flag gave it: nothing assumed
    assert assumptions(locations, raw) == []


def _write(tmp_path: Path, name: str, body: str) -> Path:
    path = tmp_path / name
    path.write_text(body)
    return path


@pytest.mark.parametrize(("name", "body", "expected"), [
    ("t.yaml", "learning_rate: 1e-4\nlr_scheduler_type: cosine_wiht_min_lr\n"
     "per_device_train_batch_size: 2\n",
     "t.yaml: lr_scheduler_type: unknown scheduler type 'cosine_wiht_min_lr' "
     "(did you mean 'cosine_with_min_lr'?)"),
    ("t.yaml", "optimizer:\n  _target_: torch.optim.SGD\n  lr: ${oc.env:LR}\n",
     "t.yaml: optimizer.lr: the resolver ${oc.env:...} runs code"),
    ("t.py", "import os\nparam_scheduler = dict(type='StepLR')\n",
     "t.py: line 1: lrviz reads only `name = literal data`"),
    ("t.py", "param_scheduler = dict(type='StepLR', step_size=open('x'))\n",
     "t.py: param_scheduler.step_size: line 1: a call is not literal data"),
    ("t.py", "_base_ = ['/etc/passwd.py']\n", "outside the spec's folder"),
    ("t.py", "train_cfg = dict(type='IterBasedTrainLoop', max_iters=900)\n"
     "param_scheduler = [dict(type='LinearLR', end=50, by_epoch=False),\n"
     "    dict(type='MultiStepLR', milestones=[8, 11])]\n",
     "t.py: param_scheduler[1].type: an epoch-based scheduler in an iteration-based run"),
    ("t.py", "train_cfg = dict(type='IterBasedTrainLoop', max_iters=901)\n"
     "optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1), accumulative_counts=4)\n"
     "param_scheduler = dict(type='LinearLR', end=50, by_epoch=False)\n",
     "t.py: train_cfg.max_iters: 901 iterations end in a partial accumulation window of "
     "accumulative_counts 4, which lrviz cannot stop at; expected a multiple of 4"),
    ("t.py", "param_scheduler = [dict(type='OneCycleLR', eta_max=0.1), dict(type='PolyLR')]\n",
     "t.py: param_scheduler[0].type: OneCycleLR is not a scheduler lrviz simulates in an "
     "mmengine config"),
    ("t.yml", "base_model: x\nlr_scheduler: one_cycle\n",
     "t.yml: lr_scheduler: axolotl's own 'one_cycle' schedule is not simulated yet"),
    ("t.json", '{"train_batch_size": 8, "zero_optimization": {"stage": 1}}',
     "t.json: neither scheduler: nor optimizer:"),
    # a schedule in the file, of a class lrviz does not simulate: named, not "set in code"
    ("t.yaml", "lr_scheduler:\n  object:\n    _target_: timm.scheduler.CosineLRScheduler\n"
     "    t_initial: 10\n", "t.yaml: lr_scheduler.object._target_: "
     "timm.scheduler.CosineLRScheduler is not a torch scheduler; lrviz simulates "
     "torch.optim.lr_scheduler classes"),
])
def test_bad_configs_fail_in_one_line(name: str, body: str, expected: str, tmp_path: Path,
                                      runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    _write(tmp_path, name, body)
    result = runner.invoke(app, ["spec", name])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], result.output


def test_spec_round_trip(tmp_path: Path, runner: CliRunner) -> None:
    """Plotting what `lrviz spec` prints equals plotting the original file."""
    result = runner.invoke(app, ["spec", str(DATA / "hydra_cosine.yaml")])
    assert result.exit_code == 0, result.output
    kept = _write(tmp_path, "kept.yaml", result.stdout)
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    for src, out in ((DATA / "hydra_cosine.yaml", a), (kept, b)):
        assert runner.invoke(app, ["plot", str(src), "-o", str(out)]).exit_code == 0
    assert a.read_text() == b.read_text()


@pytest.mark.parametrize("name", sorted(EXPECTED_RAW))
def test_spec_prints_what_reads_back(name: str, runner: CliRunner) -> None:
    import yaml

    from lrviz import readers

    result = runner.invoke(app, ["spec", str(DATA / name)])
    assert result.exit_code == 0, result.output
    assert yaml.safe_load(result.stdout) == readers.read(DATA / name)[0]


# The frameworks' own schedules, float for float (skipped where they do not install).

def _lrs(spec: dict) -> list[float]:
    return [float(x) for x in lrviz.simulate(spec).lrs[0]]


@pytest.mark.frameworks
def test_torchtune_cosine_is_torchtunes() -> None:
    lr_schedulers = pytest.importorskip("torchtune.training.lr_schedulers")
    import torch

    opt = torch.optim.AdamW([torch.zeros(1, requires_grad=True)], lr=3e-4)
    sched = lr_schedulers.get_cosine_schedule_with_warmup(opt, 7, 40)
    expected = []
    for _ in range(45):
        expected.append(opt.param_groups[0]["lr"])
        sched.step()
    assert _lrs({"steps": 45, "optimizer": {"type": "AdamW", "lr": 3e-4},
                 "scheduler": {"type": "torchtune:cosine", "num_warmup_steps": 7,
                               "num_training_steps": 40}}) == expected


@pytest.mark.frameworks
@pytest.mark.parametrize(("kind", "params"), [
    ("WarmupLR", {"warmup_min_lr": 0.0, "warmup_max_lr": 0.01, "warmup_num_steps": 10}),
    ("WarmupDecayLR", {"total_num_steps": 50, "warmup_max_lr": 0.01, "warmup_num_steps": 10,
                       "warmup_type": "linear"}),
    ("WarmupCosineLR", {"total_num_steps": 50, "warmup_num_steps": 10}),
    ("OneCycle", {"cycle_min_lr": 1e-4, "cycle_max_lr": 1e-3, "cycle_first_step_size": 10,
                  "decay_step_size": 5, "decay_lr_rate": 0.1, "cycle_momentum": False}),
    ("LRRangeTest", {"lr_range_test_min_lr": 1e-4, "lr_range_test_step_size": 5}),
])
def test_deepspeed_schedules_are_deepspeeds(kind: str, params: dict) -> None:
    lr_schedules = pytest.importorskip("deepspeed.runtime.lr_schedules")
    import torch

    opt = torch.optim.AdamW([torch.zeros(1, requires_grad=True)], lr=0.01)
    sched = getattr(lr_schedules, kind)(opt, **params)
    expected = []
    for _ in range(60):
        expected.append(opt.param_groups[0]["lr"])
        sched.step()
    assert _lrs({"steps": 60, "optimizer": {"type": "AdamW", "lr": 0.01},
                 "scheduler": {"type": f"deepspeed:{kind}", **params}}) == expected


# --- end to end: each format plots from the command line with the flags it lacks ---------

# The flags each file needs (what it leaves out), as a user would give them.
PLOT_FLAGS = {
    "zephyr_sft.yaml": ["--dataset-size", "10000"],
    "llama_factory_lora.yaml": ["--dataset-size", "1000"],
    "trl_dpo.json": ["--dataset-size", "10000"],
    "axolotl_lora.yml": ["--dataset-size", "1000"],
    "ds_onecycle.json": ["--dataset-size", "6400", "--epochs", "2"],
    "ds_zero2.json": ["--dataset-size", "6400", "--epochs", "2", "--lr", "1e-3",
                      "--warmup-min-lr", "0", "--warmup-max-lr", "1e-3",
                      "--warmup-num-steps", "10"],
    "hydra_cosine.yaml": [],
    "hydra_run/.hydra/config.yaml": ["--dataset-size", "1000"],
    "hydra_lit/config.yaml": ["--dataset-size", "37"],
    "torchtune_lora.yaml": ["--dataset-size", "2000"],
    "mm/retinanet.py": ["--dataset-size", "400"],
    "mm/retinanet_warmup.py": ["--dataset-size", "400"],
    "mm/seg_poly.py": ["--dataset-size", "400"],
}
# Formats whose schedulers are the framework's own classes (an extra lrviz installs).
NEEDS = {"trl_dpo.json": "deepspeed", "ds_onecycle.json": "deepspeed",
         "ds_zero2.json": "deepspeed", "torchtune_lora.yaml": "torchtune",
         "mm/retinanet_warmup.py": "mmengine", "mm/seg_poly.py": "mmengine"}


def test_every_config_has_its_plot_flags() -> None:
    assert sorted(PLOT_FLAGS) == sorted(FORMAT_OF)


@pytest.mark.parametrize("name", sorted(PLOT_FLAGS))
def test_each_format_plots_from_the_command_line(name: str, tmp_path: Path,
                                                 runner: CliRunner) -> None:
    if name in NEEDS:
        pytest.importorskip(NEEDS[name])
    out = tmp_path / "x.csv"
    result = runner.invoke(app, ["plot", str(DATA / name), *PLOT_FLAGS[name], "-o", str(out)])
    assert result.exit_code == 0, result.output
    rows = out.read_text().splitlines()
    assert rows[0].startswith("step,") and len(rows) > 2


def test_assumptions_are_notes_on_every_command(tmp_path: Path, runner: CliRunner) -> None:
    """What the file left out and lrviz assumed: one note each on stderr, gone when a
    flag gives the value."""
    path = str(DATA / "zephyr_sft.yaml")
    note = ("note: assumed training.world_size: world_size 1 (one process); --world-size N "
            "sets it")
    for command in (["plot", path, "-o", str(tmp_path / "x.csv")],
                    ["table", path, "-o", str(tmp_path / "x.csv")], ["code", path]):
        result = runner.invoke(app, [*command, "--dataset-size", "1000"])
        assert result.exit_code == 0, result.output
        assert result.stderr.splitlines().count(note) == 1, result.stderr
        given = runner.invoke(app, [*command, "--dataset-size", "1000", "--world-size", "2"])
        assert given.exit_code == 0 and "assumed" not in given.stderr, given.stderr


@pytest.mark.parametrize(("name", "line"), [
    ("zephyr_sft.yaml", "error: zephyr_sft.yaml: needs a flag: the dataset's size; "
                        "--dataset-size N gives it"),
    ("ds_zero2.json", "error: ds_zero2.json: needs a flag: the lr (\"auto\" or not given); "
                      "--lr X gives it"),
])
def test_what_a_file_leaves_out_is_one_line_naming_the_flag(
    name: str, line: str, tmp_path: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(DATA)
    result = runner.invoke(app, ["plot", name, "-o", str(tmp_path / "x.csv")])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [line]
    assert not (tmp_path / "x.csv").exists()


# --- lrviz spec round trip: plotting its output equals plotting the original file ---------

@pytest.mark.parametrize("name", sorted(PLOT_FLAGS))
def test_spec_round_trip_every_format(name: str, tmp_path: Path, runner: CliRunner) -> None:
    if name in NEEDS:
        pytest.importorskip(NEEDS[name])
    result = runner.invoke(app, ["spec", str(DATA / name)])
    assert result.exit_code == 0, result.output
    kept = _write(tmp_path, "kept.yaml", result.stdout)
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    for src, out in ((DATA / name, a), (kept, b)):
        plotted = runner.invoke(app, ["plot", str(src), *PLOT_FLAGS[name], "-o", str(out)])
        assert plotted.exit_code == 0, plotted.output
    assert a.read_bytes() == b.read_bytes()


# --- the framework's own scheduler, built from the same file, float for float -------------

def _lrviz_run(name: str, **training: object) -> tuple[lrviz.Spec, list[float]]:
    spec = lrviz.load_spec(DATA / name, {"training": training})
    return spec, [float(x) for x in lrviz.simulate(spec).lrs[0]]


def _stepped(opt: object, sched: object, n: int) -> list[float]:
    lrs = []
    for _ in range(n):
        lrs.append(float(opt.param_groups[0]["lr"]))  # type: ignore[attr-defined]
        sched.step()  # type: ignore[attr-defined]
    return lrs


# TrainingArguments' fields that decide the lr (the rest of the file is the model's, the
# data's, or the hardware's: bf16, push_to_hub, ... need what a CPU test machine lacks).
_HF_LR_FIELDS = ("learning_rate", "lr_scheduler_type", "lr_scheduler_kwargs", "warmup_ratio",
                 "warmup_steps", "num_train_epochs", "max_steps",
                 "per_device_train_batch_size", "gradient_accumulation_steps")


@pytest.mark.frameworks
@pytest.mark.parametrize("name", ["zephyr_sft.yaml", "llama_factory_lora.yaml"])
def test_hf_files_are_the_trainers_schedule(name: str, tmp_path: Path) -> None:
    transformers = pytest.importorskip("transformers")
    pytest.importorskip("accelerate")  # the Trainer needs it
    import torch
    import yaml

    data = yaml.safe_load((DATA / name).read_text())
    fields = {k: data[k] for k in _HF_LR_FIELDS if k in data}
    fields["learning_rate"] = float(fields["learning_rate"])  # YAML 1.1 reads 1e-4 as text
    if "warmup_ratio" in fields and not hasattr(transformers.TrainingArguments, "warmup_ratio"):
        fields["warmup_steps"] = fields.pop("warmup_ratio")  # transformers 5: a float < 1
    args = transformers.TrainingArguments(output_dir=str(tmp_path), report_to=[],
                                          use_cpu=True, **fields)
    spec, lrs = _lrviz_run(name, dataset_size=1000)
    steps = int(spec.scheduler.params["num_training_steps"])
    model = torch.nn.Linear(1, 1)
    trainer = transformers.Trainer(model=model, args=args)
    opt = torch.optim.AdamW(model.parameters(), lr=args.learning_rate)
    sched = trainer.create_scheduler(num_training_steps=steps, optimizer=opt)
    assert lrs == _stepped(opt, sched, len(lrs))


@pytest.mark.frameworks
def test_torchtune_file_is_torchtunes_schedule() -> None:
    config = pytest.importorskip("torchtune.config")
    import torch
    from omegaconf import OmegaConf

    cfg = OmegaConf.load(DATA / "torchtune_lora.yaml")
    spec, lrs = _lrviz_run("torchtune_lora.yaml", dataset_size=20000)
    steps = int(spec.scheduler.params["num_training_steps"])
    opt = torch.optim.AdamW([torch.zeros(1, requires_grad=True)], lr=cfg.optimizer.lr)
    sched = config.instantiate(cfg.lr_scheduler, opt, num_training_steps=steps)
    assert lrs == _stepped(opt, sched, len(lrs))


@pytest.mark.frameworks
def test_deepspeed_file_is_deepspeeds_schedule() -> None:
    lr_schedules = pytest.importorskip("deepspeed.runtime.lr_schedules")
    import json

    import torch

    ds = json.loads((DATA / "ds_onecycle.json").read_text())
    _, lrs = _lrviz_run("ds_onecycle.json", dataset_size=6400, epochs=2)
    opt = torch.optim.Adam([torch.zeros(1, requires_grad=True)],
                           lr=ds["optimizer"]["params"]["lr"])
    sched = getattr(lr_schedules, ds["scheduler"]["type"])(opt, **ds["scheduler"]["params"])
    assert lrs == _stepped(opt, sched, len(lrs))


# mmengine: its own Runner reads the same file (Config.fromfile runs it: a test's own file)
# and trains a tiny model on the CPU; the lr before every optimizer step, float for float.

def _mmengine_runner_lrs(path: Path, samples: int) -> list[float]:
    import logging
    import tempfile

    import torch
    from mmengine.config import Config
    from mmengine.hooks import Hook
    from mmengine.logging import MMLogger
    from mmengine.model import BaseModel
    from mmengine.runner import Runner
    from torch.utils.data import DataLoader, TensorDataset

    cfg = Config.fromfile(str(path))

    class Model(BaseModel):
        def __init__(self) -> None:
            super().__init__()
            self.linear = torch.nn.Linear(4, 1)

        def forward(self, x: object, y: object, mode: str = "loss") -> object:
            return {"loss": torch.nn.functional.mse_loss(self.linear(x), y)}

    lrs: list[float] = []

    class Record(Hook):
        priority = "VERY_HIGH"

        def before_train(self, runner: object) -> None:
            opt = runner.optim_wrapper.optimizer  # type: ignore[attr-defined]
            opt.register_step_pre_hook(lambda o, *_: lrs.append(o.param_groups[0]["lr"]))

    gen = torch.Generator().manual_seed(0)
    data = TensorDataset(torch.randn(samples, 4, generator=gen),
                         torch.randn(samples, 1, generator=gen))
    loader = DataLoader(data, batch_size=cfg.train_dataloader.batch_size)
    train_cfg = ({"by_epoch": False, "max_iters": cfg.train_cfg.max_iters, "val_interval": 10**9}
                 if "max_iters" in cfg.train_cfg
                 else {"by_epoch": True, "max_epochs": cfg.train_cfg.max_epochs})
    with tempfile.TemporaryDirectory() as tmp:
        runner = Runner(model=Model(), work_dir=tmp, train_dataloader=loader,
                        train_cfg=train_cfg,
                        optim_wrapper=cfg.optim_wrapper.to_dict(),
                        param_scheduler=cfg.param_scheduler,
                        default_hooks={"checkpoint": None, "logger": None},
                        custom_hooks=[Record()], log_level="ERROR",
                        experiment_name=f"lrviz-{path.stem}-{samples}")
        logging.getLogger("mmengine").setLevel(logging.ERROR)
        runner.train()
        MMLogger.get_current_instance().handlers.clear()
    return lrs


@pytest.mark.frameworks
@pytest.mark.parametrize(("name", "samples"), [
    ("mm/retinanet.py", 30),  # one MultiStepLR: torch's class
    ("mm/retinanet_warmup.py", 100),  # iteration warmup beside epoch drops, accumulation 2
    ("mm/seg_poly.py", 37),  # convert_to_iter_based, eta_min_ratio, PolyLR, late begins
])
def test_mmengine_files_are_the_runners_schedule(name: str, samples: int) -> None:
    pytest.importorskip("mmengine.runner")
    _, lrs = _lrviz_run(name, dataset_size=samples)
    assert lrs == _mmengine_runner_lrs(DATA / name, samples)


@pytest.mark.frameworks
@pytest.mark.parametrize(("name", "samples", "max_steps"), [
    # 50 iterations an epoch; cut at 216 optimizer steps = 432 iterations, which 12 epochs
    # divide (36 each): the drop at epoch 8 is iteration 400, not 288
    ("mm/retinanet_warmup.py", 100, 216),
    # 10 iterations an epoch; cut at 48 = 8 * 6: the converted windows and the epoch-based
    # PolyLR still follow the loop's epochs
    ("mm/seg_poly.py", 37, 48),
])
def test_mmengine_cut_run_is_the_runners_schedule(name: str, samples: int,
                                                  max_steps: int) -> None:
    pytest.importorskip("mmengine.runner")
    _, lrs = _lrviz_run(name, dataset_size=samples, max_steps=max_steps)
    assert len(lrs) == max_steps
    assert lrs == _mmengine_runner_lrs(DATA / name, samples)[:max_steps]


_ITER_ACCUM = """\
# an iteration-based run with accumulation: max_iters counts micro-batches
train_cfg = dict(type='IterBasedTrainLoop', max_iters=96)
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.02, momentum=0.9), accumulative_counts=4)
train_dataloader = dict(batch_size=2)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=20),
    dict(type='CosineAnnealingLR', eta_min=1e-4, by_epoch=False, begin=20),
]
"""


@pytest.mark.frameworks
def test_mmengine_max_iters_with_accumulation_is_the_runners_schedule(tmp_path: Path) -> None:
    """96 iterations with accumulative_counts 4 are 24 optimizer steps, as mmengine runs."""
    pytest.importorskip("mmengine.runner")
    path = tmp_path / "iter_accum.py"
    path.write_text(_ITER_ACCUM)
    spec, lrs = _lrviz_run(str(path), dataset_size=30)
    assert spec.training is not None and spec.training["max_steps"] == 24
    assert lrs == _mmengine_runner_lrs(path, 30)


def test_mmengine_max_iters_counts_micro_batches(tmp_path: Path) -> None:
    path = tmp_path / "iter_accum.py"
    path.write_text(_ITER_ACCUM)
    spec = lrviz.load_spec(path, {"training": {"dataset_size": 30}})
    assert spec.plan.rows == 24  # optimizer steps
    assert spec.plan.scheduler_steps == 96  # iterations, each stepping the list
    assert int(spec.plan.positions[-1]) == 95  # the last optimizer step ends the run


def test_mmengine_epochs_follow_the_loop_when_max_steps_cuts_the_run() -> None:
    """The epoch's length is the loop's, not the cut run's iterations over max_epochs."""
    spec = lrviz.load_spec(DATA / "mm/retinanet_warmup.py",
                           {"training": {"dataset_size": 100, "max_steps": 216}})
    params = spec.scheduler.params
    assert spec.plan.batches_per_epoch == 50  # 100 samples, batch 2: iterations per epoch
    assert params["total_iters"] == 432 and params["max_epochs"] == 12  # 432 / 12 = 36
    assert params["epoch_length"] == 50
    # the loop's epochs change where the iteration count crosses a multiple of 50
    first = [int(spec.plan.positions[spec.plan.epoch == e][0]) for e in range(1, 9)]
    assert first == [50 * e + 1 for e in range(1, 9)]  # iterations 51, 101, ... (accum 2)


def test_mmengine_list_in_the_plain_loop_takes_its_epoch_from_steps_per_epoch() -> None:
    raw = {"steps": 120,
           "scheduler": {"type": "mmengine:param_scheduler", "max_epochs": 12,
                         "schedulers": [{"type": "mmengine:MultiStepLR", "milestones": [8]}]}}
    spec = lrviz.as_spec({**raw, "steps_per_epoch": 10})
    assert spec.scheduler.params["epoch_length"] == 10
    assert not any("an epoch is 1 step" in n for n in spec.notes)
    bare = lrviz.as_spec(raw)
    assert bare.scheduler.params["epoch_length"] == 1
    assert ("mmengine:param_scheduler counts epochs and an epoch is 1 step (steps_per_epoch, "
            "--steps-per-epoch, sets the epoch's length)") in bare.notes


def test_mmengine_epoch_length_given_must_be_the_loops() -> None:
    raw = {"optimizer": {"type": "SGD", "lr": 0.02},
           "scheduler": {"type": "mmengine:param_scheduler", "interval": "step",
                         "max_epochs": 12, "epoch_length": 36,
                         "schedulers": [{"type": "mmengine:MultiStepLR", "milestones": [8]}]},
           "training": {"framework": "mmengine", "epochs": 12, "batch_size": 2,
                        "dataset_size": 100}}
    with pytest.raises(lrviz.SpecError) as err:
        lrviz.as_spec(raw)
    assert str(err.value) == ("scheduler.epoch_length: expected the loop's 50 iterations per "
                              "epoch, got 36; lrviz fills it from the training loop, so "
                              "leave it out")


def test_mmengine_list_without_mmengine_is_one_line(
        tmp_path: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "mmengine", None)  # as if not installed
    monkeypatch.delitem(sys.modules, "lrviz.schedulers.mmengine_run", raising=False)
    out = tmp_path / "x.csv"
    result = runner.invoke(app, ["plot", str(DATA / "mm/seg_poly.py"), "--dataset-size", "40",
                                 "-o", str(out)])
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == (
        "error: scheduler: mmengine:param_scheduler needs mmengine, which lrviz does not "
        "install by default: pip install 'lrviz[mmengine]'")
    assert not out.exists()


@pytest.mark.frameworks
def test_hydra_lightning_file_is_the_trainers_schedule() -> None:
    """A lightning-hydra-template config: Hydra instantiates the partial optimizer and
    scheduler, the LitModule returns them with interval/frequency/monitor as the template's
    configure_optimizers does, and a real Lightning Trainer runs them on the CPU."""
    pytest.importorskip("hydra")
    pl = pytest.importorskip("lightning.pytorch")
    import torch
    from hydra.utils import instantiate
    from omegaconf import OmegaConf
    from torch.utils.data import DataLoader, TensorDataset

    name, samples = "hydra_lit/config.yaml", 37
    cfg = OmegaConf.load(DATA / name)
    lrs: list[float] = []

    class LitModule(pl.LightningModule):  # type: ignore[name-defined,misc]
        def __init__(self) -> None:
            super().__init__()
            self.net = torch.nn.Linear(4, 1)

        def training_step(self, batch: object, batch_idx: int) -> object:
            x, y = batch  # type: ignore[misc]
            return torch.nn.functional.mse_loss(self.net(x), y)

        def configure_optimizers(self) -> object:
            optimizer = instantiate(cfg.model.optimizer)(params=self.parameters())
            optimizer.register_step_pre_hook(lambda o, *_: lrs.append(o.param_groups[0]["lr"]))
            scheduler = instantiate(cfg.model.scheduler)(optimizer=optimizer)
            return {"optimizer": optimizer,
                    "lr_scheduler": {"scheduler": scheduler, "monitor": cfg.model.monitor,
                                     "interval": cfg.model.interval,
                                     "frequency": cfg.model.frequency}}

    gen = torch.Generator().manual_seed(0)
    data = TensorDataset(torch.randn(samples, 4, generator=gen),
                         torch.randn(samples, 1, generator=gen))
    trainer = pl.Trainer(max_epochs=cfg.trainer.max_epochs, accelerator="cpu", devices=1,
                         accumulate_grad_batches=cfg.trainer.accumulate_grad_batches,
                         logger=False, enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False)
    trainer.fit(LitModule(), DataLoader(data, batch_size=cfg.data.batch_size))
    _, ours = _lrviz_run(name, dataset_size=samples)
    assert len(lrs) == 9 and ours == lrs  # 5 batches, 3 optimizer steps per epoch


@pytest.mark.frameworks
def test_deepspeed_auto_values_are_filled_as_the_hf_integration_fills_them(
        tmp_path: Path) -> None:
    """trl_dpo.json names ds_zero2.json, whose scheduler and optimizer are all "auto":
    transformers' HfTrainerDeepSpeedConfig fills them from the same TrainingArguments,
    and DeepSpeed's own scheduler built from its filling runs lrviz's rows."""
    pytest.importorskip("deepspeed")
    transformers = pytest.importorskip("transformers")
    import json

    import torch
    from deepspeed.runtime import lr_schedules
    from transformers.integrations.deepspeed import HfTrainerDeepSpeedConfig

    hf = json.loads((DATA / "trl_dpo.json").read_text())
    fields = {k: hf[k] for k in _HF_LR_FIELDS if k in hf}
    args = transformers.TrainingArguments(output_dir=str(tmp_path), report_to=[],
                                          use_cpu=True, **fields)
    ds = HfTrainerDeepSpeedConfig(json.loads((DATA / hf["deepspeed"]).read_text()))
    ds.trainer_config_process(args)
    ds.trainer_config_finalize(args, torch.nn.Linear(2, 1), num_training_steps=args.max_steps)
    filled = ds.config["scheduler"]

    spec, lrs = _lrviz_run("trl_dpo.json", dataset_size=10000)
    assert spec.scheduler.type == f"deepspeed:{filled['type']}"
    assert spec.scheduler.params == filled["params"]
    assert spec.optimizer.params["lr"] == ds.config["optimizer"]["params"]["lr"]
    opt = torch.optim.AdamW([torch.zeros(1, requires_grad=True)],
                            lr=ds.config["optimizer"]["params"]["lr"])
    sched = getattr(lr_schedules, filled["type"])(opt, **filled["params"])
    assert lrs == _stepped(opt, sched, len(lrs))


# --- what real configs of each project hold (found trying them) --------------------------

@pytest.mark.frameworks
def test_deepspeed_onecycle_cycling_momentum_is_checked_not_a_crash() -> None:
    """DeepSpeed's OneCycle names its momentum bounds cycle_min_mom/cycle_max_mom, not
    torch's base_momentum/max_momentum; `check` read torch's names and crashed."""
    pytest.importorskip("deepspeed")
    report = lrviz.simulate({"steps": 30, "optimizer": {"type": "SGD", "lr": 0.01,
                                                       "momentum": 0.5},
                             "scheduler": {"type": "deepspeed:OneCycle", "cycle_min_lr": 1e-4,
                                           "cycle_max_lr": 1e-3, "cycle_first_step_size": 10}})
    found = [f for f in report.findings if f.code == "momentum-overwritten"]
    assert len(found) == 1 and "(0.8..0.9)" in found[0].message, report.findings


_DS_BATCH_ONLY = """\
{
  "train_batch_size": 64,
  "train_micro_batch_size_per_gpu": 8,
  "optimizer": {"type": "Adam", "params": {"lr": 0.001}},
  "scheduler": {"type": "WarmupLR", "params": {"warmup_min_lr": 0, "warmup_max_lr": 0.001,
                                               "warmup_num_steps": 10}}
}
"""


def test_deepspeed_derives_the_accumulation_from_train_batch_size(tmp_path: Path) -> None:
    """train_batch_size 64 of micro-batches of 8 is 8 accumulated micro-batches per
    optimizer step (one process), as DeepSpeed derives it; lrviz took 1 and plotted an
    8 times longer run."""
    path = _write(tmp_path, "ds_bsz64.json", _DS_BATCH_ONLY)
    spec = lrviz.load_spec(path, {"training": {"dataset_size": 6400, "epochs": 1}})
    assert spec.training is not None and spec.training["grad_accum"] == 8
    assert spec.plan.rows == 100  # 800 micro-batches / 8
    assert any(n.startswith("assumed training.grad_accum: gradient_accumulation_steps 8 = "
                            "train_batch_size / train_micro_batch_size_per_gpu / 1 process")
               for n in spec.notes), spec.notes
    alone = _write(tmp_path, "ds_total.json", _DS_BATCH_ONLY.replace(
        '  "train_micro_batch_size_per_gpu": 8,\n', ""))
    spec = lrviz.load_spec(alone, {"training": {"dataset_size": 6400, "epochs": 1}})
    assert spec.training is not None and spec.training["batch_size"] == 64
    assert spec.plan.rows == 100


def test_hf_deepspeed_path_is_relative_to_the_current_folder_as_transformers_opens_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """LLaMA-Factory's examples name `deepspeed: examples/deepspeed/ds_z3_config.json`,
    run from the project's root; lrviz looked for it beside the YAML only."""
    _write(tmp_path, "ds_warmup.json",
           '{"scheduler": {"type": "WarmupLR", "params": {"warmup_num_steps": 5}}}')
    (tmp_path / "examples").mkdir()
    _write(tmp_path / "examples", "sft.yaml",
           "learning_rate: 1.0e-4\nnum_train_epochs: 1\nper_device_train_batch_size: 2\n"
           "deepspeed: ds_warmup.json\n")
    monkeypatch.chdir(tmp_path)
    raw, _ = lrviz.readers.read("examples/sft.yaml")
    assert raw["scheduler"]["type"] == "deepspeed:WarmupLR"


@pytest.mark.parametrize(("warmup", "expected"), [
    ("0.1", {"warmup_ratio": 0.1}),  # handed to TrainingArguments: transformers 5's ratio
    ("1", {"num_warmup_steps": 2}),  # axolotl's builder turns 1 into 2
    ("7", {"num_warmup_steps": 7}),
])
def test_axolotl_warmup_steps_as_axolotl_hands_them_over(
        warmup: str, expected: dict, tmp_path: Path) -> None:
    path = _write(tmp_path, "ax.yml", "base_model: m\nlr_scheduler: cosine\nlearning_rate: 5e-6\n"
                  f"micro_batch_size: 1\nmax_steps: 50\nwarmup_steps: {warmup}\n")
    raw, _ = lrviz.readers.read(path)
    params = {k: raw["scheduler"][k] for k in expected}
    assert params == expected


@pytest.mark.frameworks
def test_axolotl_warmup_ratio_in_warmup_steps_is_the_trainers(tmp_path: Path) -> None:
    transformers = pytest.importorskip("transformers")
    pytest.importorskip("accelerate")
    import torch

    path = _write(tmp_path, "ax.yml", "base_model: m\nlr_scheduler: cosine\nlearning_rate: 5e-6\n"
                  "micro_batch_size: 1\nmax_steps: 50\nwarmup_steps: 0.1\n")
    spec = lrviz.load_spec(path, {"training": {"dataset_size": 1000}})
    lrs = [float(x) for x in lrviz.simulate(spec).lrs[0]]
    args = transformers.TrainingArguments(output_dir=str(tmp_path), report_to=[], use_cpu=True,
                                          learning_rate=5e-6, max_steps=50, warmup_steps=0.1,
                                          lr_scheduler_type="cosine")
    model = torch.nn.Linear(1, 1)
    opt = torch.optim.AdamW(model.parameters(), lr=5e-6)
    sched = transformers.Trainer(model=model, args=args).create_scheduler(50, optimizer=opt)
    assert lrs == _stepped(opt, sched, 50)


def test_a_hydra_primary_config_points_at_the_composed_one(tmp_path: Path) -> None:
    # lightning-hydra-template's train.yaml: its scheduler is in a file the defaults compose
    path = _write(tmp_path, "train.yaml", "# @package _global_\ndefaults:\n  - _self_\n"
                  "  - data: mnist\n  - model: mnist\n  - logger: null\n  - trainer: default\n"
                  "task_name: train\n")
    with pytest.raises(SpecError) as caught:
        lrviz.load_spec(path)
    assert str(caught.value) == f"{path}: defaults: " + (
        "a Hydra primary config: its defaults list composes other files "
        "(data: mnist, model: mnist, trainer: default); lrviz reads the composed config, the "
        "run's .hydra/config.yaml or what `python train.py --cfg job` prints")


_AXOLOTL_NO_MAX_STEPS = ("base_model: m\nlr_scheduler: cosine\nlearning_rate: 2e-4\n"
                         "micro_batch_size: 4\ngradient_accumulation_steps: 2\nnum_epochs: 2\n")


@pytest.mark.parametrize(("extra", "world", "warmup"), [
    # int(ratio × ceil(samples × epochs / (micro batch × accumulation × processes)))
    ("warmup_ratio: 0.1\n", 2, int(0.1 * math.ceil(1000 * 2 / (4 * 2 * 2)))),
    ("warmup_ratio: 0.1\nsample_packing: false\n", 1, int(0.1 * math.ceil(2000 / 8))),
    ("", 1, min(int(0.03 * math.ceil(1000 * 2 / 8)), 100)),  # axolotl's default warmup
    ("", 1, 2),  # int(0.03 × 50) = 1, and 1 becomes 2 (dataset_size 200 below)
])
def test_axolotl_warmup_from_its_own_count_of_the_run(
        extra: str, world: int, warmup: int, tmp_path: Path) -> None:
    # without max_steps axolotl counts the run itself (calculate_total_num_steps without
    # sample packing; normalize_config's batch_size counts every process)
    path = _write(tmp_path, "ax.yml", _AXOLOTL_NO_MAX_STEPS + extra)
    size = 200 if warmup == 2 else 1000
    spec = lrviz.load_spec(path, {"training": {"dataset_size": size, "world_size": world}})
    assert spec.scheduler.params["num_warmup_steps"] == warmup
    assert any("of axolotl's count of the run" in note for note in spec.notes)


def test_axolotl_warmup_with_sample_packing_is_refused_in_one_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "ax.yml", _AXOLOTL_NO_MAX_STEPS + "sample_packing: true\n")
    with pytest.raises(SpecError, match=r"ax.yml: lr_scheduler: with sample_packing axolotl "
                       r"counts the run's steps from the packed tokens"):
        lrviz.load_spec(path, {"training": {"dataset_size": 1000}})
    no_size = _write(tmp_path, "ax2.yml", _AXOLOTL_NO_MAX_STEPS + "warmup_ratio: 0.1\n")
    with pytest.raises(SpecError, match="dataset"):
        lrviz.load_spec(no_size, {"training": {"batches_per_epoch": 100}})


@pytest.mark.frameworks
def test_axolotl_warmup_ratio_is_what_axolotl_hands_the_trainer(tmp_path: Path) -> None:
    # axolotl itself does not install here: its builder's formula (int(ratio × total)) is
    # handed to the real Trainer as warmup_steps, as axolotl does
    transformers = pytest.importorskip("transformers")
    pytest.importorskip("accelerate")
    import torch

    path = _write(tmp_path, "ax.yml", _AXOLOTL_NO_MAX_STEPS + "warmup_ratio: 0.1\n")
    spec = lrviz.load_spec(path, {"training": {"dataset_size": 1000}})
    lrs = [float(x) for x in lrviz.simulate(spec).lrs[0]]
    steps = int(spec.scheduler.params["num_training_steps"])
    args = transformers.TrainingArguments(
        output_dir=str(tmp_path), report_to=[], use_cpu=True, learning_rate=2e-4,
        per_device_train_batch_size=4, gradient_accumulation_steps=2, num_train_epochs=2,
        warmup_steps=int(0.1 * math.ceil(1000 * 2 / 8)), lr_scheduler_type="cosine")
    model = torch.nn.Linear(1, 1)
    opt = torch.optim.AdamW(model.parameters(), lr=2e-4)
    sched = transformers.Trainer(model=model, args=args).create_scheduler(steps, optimizer=opt)
    assert lrs == _stepped(opt, sched, len(lrs))


# mmengine configs compute their data pipelines; only what lrviz reads must be literal.
_MM_BASE = """\
data_preprocessor = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375])
bgr_mean = data_preprocessor['mean'][::-1]
train_pipeline = [dict(type='LoadImageFromFile'), dict(type='Fill', value=bgr_mean)]
max_epochs = 12
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=1)
"""
_MM_CHILD = """\
_base_ = ['./_base_/runtime.py']
work_dir = f'./work_dirs/{max_epochs}e'
checkpoint = 'https://example.org/weights/' + 'resnet50.pth'
train_pipeline = {{_base_.train_pipeline}}
train_pipeline += [dict(type='PackInputs')]
train_dataloader = dict(batch_size=4, dataset=dict(pipeline=train_pipeline, root=work_dir))
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.02, momentum=0.9))
param_scheduler = dict(type='MultiStepLR', milestones=[8, {{_base_.max_epochs}} - 1])
"""


def test_mmengine_values_lrviz_does_not_read_may_be_code(tmp_path: Path) -> None:
    """mmpretrain's dataset bases subscript their values, mmagic's configs build paths
    with f-strings and `+`, and pipelines grow by `+=`: the schedule is literal, so these
    files read; lrviz refused each at its first such line."""
    (tmp_path / "_base_").mkdir()
    _write(tmp_path / "_base_", "runtime.py", _MM_BASE)
    path = _write(tmp_path, "cfg.py", _MM_CHILD)
    raw, _ = lrviz.readers.read(path)
    assert raw["scheduler"] == {"type": "MultiStepLR", "interval": "epoch", "milestones": [8, 11]}
    assert raw["training"]["epochs"] == 12 and raw["training"]["batch_size"] == 4


def test_mmengine_code_where_lrviz_reads_is_one_line_naming_the_key(tmp_path: Path,
                                                                     runner: CliRunner) -> None:
    path = _write(tmp_path, "cfg.py", "lr = 0.01\nbase = dict(lr=lr)\n"
                  "optim_wrapper = dict(optimizer=dict(type='SGD', lr=base['lr'] * 2))\n"
                  "param_scheduler = dict(type='StepLR', step_size=2)\n"
                  "train_cfg = dict(max_epochs=4)\n")
    result = runner.invoke(app, ["plot", str(path), "--dataset-size", "8", "--batch-size", "2"])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"error: {path}: optim_wrapper.optimizer.lr: line 3: a subscript is not literal data; "
        "lrviz never runs a config"]


def test_mmengine_base_files_follow_allow_path(tmp_path: Path, runner: CliRunner,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """OpenMMLab configs name `../_base_/...`: outside the config's folder. The error said
    --allow-path allows it, but the _base_ files never looked at --allow-path (and `spec`
    had no --allow-path)."""
    (tmp_path / "configs" / "_base_").mkdir(parents=True)
    (tmp_path / "configs" / "resnet").mkdir()
    _write(tmp_path / "configs" / "_base_", "schedule.py",
           "optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1))\n"
           "param_scheduler = dict(type='MultiStepLR', milestones=[30, 60])\n"
           "train_cfg = dict(max_epochs=90)\ntrain_dataloader = dict(batch_size=32)\n")
    path = _write(tmp_path / "configs" / "resnet", "r50.py",
                  "_base_ = ['../_base_/schedule.py']\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    refused = runner.invoke(app, ["spec", str(path)])
    assert refused.exit_code == 2 and "--allow-path DIR allows" in refused.stderr
    allowed = ["--allow-path", str(tmp_path / "configs")]
    shown = runner.invoke(app, ["spec", str(path), *allowed])
    assert shown.exit_code == 0, shown.output
    assert "milestones: [30, 60]" in shown.stdout
    out = tmp_path / "x.csv"
    plotted = runner.invoke(app, ["plot", str(path), "--dataset-size", "64", *allowed,
                                  "-o", str(out)])
    assert plotted.exit_code == 0, plotted.output
    assert len(out.read_text().splitlines()) == 90 * 2 + 1


# Several optimizers (mmagic's GANs): each its own param group when they share schedulers.
_MM_GAN = """\
train_cfg = dict(type='IterBasedTrainLoop', max_iters=60)
train_dataloader = dict(batch_size=2)
optim_wrapper = dict(
    constructor='MultiOptimWrapperConstructor',
    generator=dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-4, betas=(0.5, 0.999))),
    discriminator=dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=4e-4)))
"""
_MM_SHARED = _MM_GAN + """\
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=10),
    dict(type='CosineAnnealingLR', eta_min=1e-6, by_epoch=False, begin=10),
]
"""
_MM_OWN = _MM_GAN + """\
param_scheduler = dict(
    generator=[dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=10),
               dict(type='CosineAnnealingLR', eta_min=1e-6, by_epoch=False, begin=10)],
    discriminator=dict(type='MultiStepLR', milestones=[20, 40], by_epoch=False, gamma=0.5))
"""


def _mmengine_built_lrs(path: Path, iters: int, names: list[str]) -> list[list[float]]:
    """The lrs of the named optimizers as mmengine's Runner builds their schedulers
    (build_param_scheduler: one list for all, or each its own; ends filled with
    max_iters) and its ParamSchedulerHook steps them after every iteration."""
    import types

    import torch
    from mmengine.config import Config
    from mmengine.hooks import ParamSchedulerHook
    from mmengine.registry import PARAM_SCHEDULERS

    cfg = Config.fromfile(str(path))
    opts = {n: torch.optim.Adam([torch.zeros(1, requires_grad=True)],
                                lr=cfg.optim_wrapper[n].optimizer.lr) for n in names}
    scheds = {}
    for name, opt in opts.items():
        chosen = cfg.param_scheduler
        if isinstance(chosen, dict) and "type" not in chosen:
            chosen = chosen[name]
        chosen = chosen if isinstance(chosen, list) else [chosen]
        scheds[name] = [PARAM_SCHEDULERS.build({"end": iters, **dict(c)},
                                               default_args={"optimizer": opt})
                        for c in chosen]
    run = types.SimpleNamespace(param_schedulers=scheds)
    rows = []
    for i in range(iters):
        rows.append([o.param_groups[0]["lr"] for o in opts.values()])
        ParamSchedulerHook().after_train_iter(run, i)  # type: ignore[arg-type]
    return rows


@pytest.mark.frameworks
@pytest.mark.parametrize("body", [_MM_SHARED, _MM_OWN.replace(
    "discriminator=dict(type='MultiStepLR', milestones=[20, 40], by_epoch=False, gamma=0.5)",
    "discriminator=[dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=10),"
    " dict(type='CosineAnnealingLR', eta_min=1e-6, by_epoch=False, begin=10)]")],
    ids=["one-list-for-all", "each-its-own-alike"])
def test_mmengine_optimizers_sharing_schedulers_are_param_groups(body: str,
                                                                 tmp_path: Path) -> None:
    pytest.importorskip("mmengine")
    path = _write(tmp_path, "gan.py", body)
    spec = lrviz.load_spec(path, {"training": {"dataset_size": 10}})
    assert [g["lr"] for g in spec.optimizer.param_groups] == [1e-4, 4e-4]
    trace = lrviz.simulate(spec)
    ours = [[float(trace.lrs[g][i]) for g in range(2)] for i in range(trace.steps)]
    assert ours == _mmengine_built_lrs(path, 60, ["generator", "discriminator"])


@pytest.mark.frameworks
@pytest.mark.parametrize("name", ["generator", "discriminator"])
def test_mmengine_one_optimizer_of_several_by_from(name: str, tmp_path: Path,
                                                   runner: CliRunner) -> None:
    pytest.importorskip("mmengine")
    path = _write(tmp_path, "gan.py", _MM_OWN)
    spec = lrviz.load_spec(path, {"training": {"dataset_size": 10}}, from_=f"mmengine:{name}")
    ours = [[float(x)] for x in lrviz.simulate(spec).lrs[0]]
    assert ours == _mmengine_built_lrs(path, 60, [name])
    out = tmp_path / "x.csv"
    result = runner.invoke(app, ["plot", str(path), "--from", f"mmengine:{name}",
                                 "--dataset-size", "10", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert len(out.read_text().splitlines()) == 61


@pytest.mark.parametrize(("args", "line"), [
    ([], "error: {path}: param_scheduler: the optimizers generator and discriminator have "
         "their own schedulers and lrviz plots one schedule per file; choose one with "
         "--from mmengine:generator or --from mmengine:discriminator"),
    (["--from", "mmengine:critic"], "error: --from: no optimizer 'critic' in optim_wrapper; "
                                    "expected one of generator, discriminator"),
    (["--from", "hf:generator"], "error: --from: hf files have no parts; expected --from hf"),
])
def test_mmengine_optimizers_with_their_own_schedulers_are_one_line(
        args: list[str], line: str, tmp_path: Path, runner: CliRunner) -> None:
    path = _write(tmp_path, "gan.py", _MM_OWN)
    result = runner.invoke(app, ["plot", str(path), *args, "--dataset-size", "10"])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [line.format(path=path)]


@pytest.mark.parametrize("flags", [["--dataset-size", "1000"], ["--world-size", "2"]])
def test_loop_flags_a_plain_loop_would_ignore_are_refused(flags: list[str], tmp_path: Path,
                                                          runner: CliRunner) -> None:
    """A LightningCLI config runs lrviz's plain loop (an epoch is --steps-per-epoch rows):
    --dataset-size was accepted and silently dropped, plotting 1-step epochs."""
    path = _write(tmp_path, "cli.yaml", "trainer:\n  max_epochs: 5\noptimizer:\n"
                  "  class_path: Adam\n  init_args:\n    lr: 1.0e-5\nlr_scheduler:\n"
                  "  class_path: CosineAnnealingLR\n  init_args:\n    T_max: 20\n")
    out = tmp_path / "x.csv"
    result = runner.invoke(app, ["plot", str(path), *flags, "-o", str(out)])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"error: {flags[0]}: expected no value: this spec runs the plain loop, whose rows are "
        "steps, not samples; --steps-per-epoch N sets an epoch's length"]
    assert not out.exists()
