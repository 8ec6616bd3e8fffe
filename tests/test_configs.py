"""Every example spec in configs/ runs, and the README's commands run as written."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

import lrviz
from lrviz.cli import app

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
}
FORMAT_OF = {"zephyr_sft.yaml": "hf", "llama_factory_lora.yaml": "hf", "trl_dpo.json": "hf",
             "axolotl_lora.yml": "axolotl", "ds_onecycle.json": "deepspeed",
             "ds_zero2.json": "deepspeed", "hydra_cosine.yaml": "hydra",
             "hydra_run/.hydra/config.yaml": "hydra", "torchtune_lora.yaml": "torchtune",
             "mm/retinanet.py": "mmengine"}


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
     "t.py: line 1: Call is not literal data"),
    ("t.py", "_base_ = ['/etc/passwd.py']\n", "outside the spec's folder"),
    ("t.yml", "base_model: x\nlr_scheduler: one_cycle\n",
     "t.yml: lr_scheduler: axolotl's own 'one_cycle' schedule is not simulated yet"),
    ("t.json", '{"train_batch_size": 8, "zero_optimization": {"stage": 1}}',
     "t.json: neither scheduler: nor optimizer:"),
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
