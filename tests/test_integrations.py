"""Configs users already have: Hugging Face schedules, LightningCLI configs, custom classes.

Values are compared float for float with the reference loop of tests/test_exact.py,
which builds the optimizer and scheduler by hand (transformers.get_scheduler, the
Lightning config's classes, the custom class) and follows README "What a row means".
"""

from __future__ import annotations

import csv
import inspect
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from test_exact import assert_same, reference, sgd
from torch.optim import lr_scheduler as S
from typer.testing import CliRunner

import lrviz
from lrviz import catalog
from lrviz.cli import app
from lrviz.code import python_code

transformers_optimization = pytest.importorskip("transformers.optimization")
get_scheduler = transformers_optimization.get_scheduler
PLUGINS = Path(__file__).parent / "plugins"


def read_csv(path: Path) -> dict[str, np.ndarray]:
    rows = list(csv.DictReader(path.read_text().splitlines()))
    return {k: np.array([float(r[k]) if r[k] else np.nan for r in rows]) for k in rows[0]}


def run(runner: CliRunner, *args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args))


# --- Hugging Face ---------------------------------------------------------------------


def test_every_scheduler_type_is_in_the_catalog() -> None:
    names = {s.value for s in transformers_optimization.SchedulerType}
    assert names == {s.attr for s in catalog.HF_SCHEDULERS}


@pytest.mark.parametrize("sched", catalog.HF_SCHEDULERS, ids=lambda s: s.name)
def test_hf_parameters_match_the_factories(sched: catalog.Scheduler) -> None:
    kind = transformers_optimization.SchedulerType(sched.attr)
    factory = transformers_optimization.TYPE_TO_SCHEDULER_FUNCTION[kind]
    params = dict(inspect.signature(factory).parameters)
    if sched.attr == "greedy":
        params = dict(inspect.signature(transformers_optimization.GreedyLR).parameters)
    elif sched.attr == "reduce_lr_on_plateau":
        params = dict(inspect.signature(S.ReduceLROnPlateau).parameters)
    theirs = {k: p for k, p in params.items()
              if k not in ("optimizer", "last_epoch", "verbose", "kwargs")}
    mine = [p for p in sched.params if not p.own]  # own: lrviz makes it into theirs
    assert [p.name for p in mine] == list(theirs)
    for param in mine:
        default = theirs[param.name].default
        if param.passed:  # lrviz's own default (get_scheduler has none)
            assert default is inspect.Parameter.empty and param.default == 0
        elif default is inspect.Parameter.empty:
            assert param.required or param.name == sched.length_param, param.name
        else:
            assert param.default == default, param.name


HF_CASES = [
    ("linear", {"num_warmup_steps": 5}, {}),
    ("cosine", {"num_warmup_steps": 10}, {"num_cycles": 0.75}),
    ("cosine_with_restarts", {"num_warmup_steps": 3}, {"num_cycles": 3}),
    ("polynomial", {"num_warmup_steps": 4}, {"lr_end": 1e-3, "power": 2.0}),
    ("constant", {}, {}),
    ("constant_with_warmup", {"num_warmup_steps": 7}, {}),
    ("inverse_sqrt", {"num_warmup_steps": 6}, {"timescale": 4}),
    ("cosine_with_min_lr", {"num_warmup_steps": 5}, {"min_lr_rate": 0.1}),
    ("cosine_warmup_with_min_lr", {"num_warmup_steps": 5},
     {"min_lr": 0.005, "warmup_lr_rate": 0.2}),
    ("warmup_stable_decay", {"num_warmup_steps": 5},
     {"num_decay_steps": 20, "decay_type": "1-sqrt", "min_lr_ratio": 0.05}),
]


@pytest.mark.parametrize(("kind", "lengths", "extra"), HF_CASES, ids=[c[0] for c in HF_CASES])
def test_hf_schedule_equals_transformers(kind: str, lengths: dict[str, int],
                                         extra: dict[str, Any]) -> None:
    steps = 60
    spec = {"steps": steps, "scheduler": {"type": f"hf:{kind}", **lengths, **extra}}
    trace = lrviz.simulate(spec)
    uses_length = "num_training_steps" in catalog.lookup(f"hf:{kind}").param_names
    training = {"num_training_steps": steps} if uses_length else {}
    warmup = {"num_warmup_steps": lengths.get("num_warmup_steps", 0)} if kind != "constant" \
        else {}

    def build(opt: torch.optim.Optimizer) -> Any:
        return get_scheduler(kind, opt, **warmup, **training,
                             scheduler_specific_kwargs=extra or None)

    exp = reference(spec, sgd(), build)
    assert_same(trace.lrs, exp.lrs, "lrs")


@pytest.mark.parametrize("kind", ["reduce_lr_on_plateau", "greedy"])
def test_hf_metric_schedules_equal_transformers(kind: str) -> None:
    spec = {"steps": 120, "scheduler": {"type": f"hf:{kind}", "patience": 3},
            "metric": {"generator": "staircase", "seed": 1}}
    trace = lrviz.simulate(spec)
    exp = reference(spec, sgd(), lambda opt: get_scheduler(
        kind, opt, scheduler_specific_kwargs={"patience": 3}), metric=list(trace.metric))
    assert_same(trace.lrs, exp.lrs, "lrs")
    assert len(set(trace.lr)) > 1, "the metric should move the lr"


def test_cli_hf_cosine_flags(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "hf.csv"
    result = run(runner, "plot", "hf:cosine", "--num-warmup-steps", "50", "--steps", "500",
                 "-o", str(out), "-o", str(tmp_path / "hf.png"))
    assert result.exit_code == 0, result.output
    exp = reference({"steps": 500, "scheduler": {}}, sgd(), lambda opt: get_scheduler(
        "cosine", opt, num_warmup_steps=50, num_training_steps=500))
    assert_same(read_csv(out)["lr"], exp.lrs[0], "lr")
    assert "num_training_steps not given: using 500" in result.stderr
    assert (tmp_path / "hf.png").read_bytes().startswith(b"\x89PNG")


def test_hf_yaml_spec_and_names_with_dashes(runner: CliRunner, tmp_path: Path) -> None:
    spec = tmp_path / "wsd.yaml"
    spec.write_text("steps: 200\nscheduler:\n  type: HF:Warmup-Stable-Decay\n"
                    "  num_warmup_steps: 20\n  num_decay_steps: 50\n  num_stable_steps: 100\n")
    out = tmp_path / "wsd.csv"
    result = run(runner, "plot", str(spec), "-o", str(out))
    assert result.exit_code == 0, result.output
    exp = reference({"steps": 200, "scheduler": {}}, sgd(), lambda opt: get_scheduler(
        "warmup_stable_decay", opt, num_warmup_steps=20,
        scheduler_specific_kwargs={"num_decay_steps": 50, "num_stable_steps": 100}))
    assert_same(read_csv(out)["lr"], exp.lrs[0], "lr")
    assert "num_training_steps not given" not in result.stderr  # num_stable_steps fixes it


@pytest.mark.parametrize(("args", "message"), [
    (["hf:cosine", "--num-cycle", "2"], "--num-cycle: unknown option for hf:cosine "
                                        "(did you mean '--num-cycles'?)"),
    (["hf:cosine_with_min_lr"], "needs exactly one of min_lr and min_lr_rate, got neither"),
    (["hf:cosine", "--num-warmup-steps", "-5"], "--num-warmup-steps: expected an integer >= 0"),
    (["hf:warmup_stable_decay"], "requires num_decay_steps"),
    (["hf:cosin"], "unknown scheduler 'hf:cosin' (did you mean 'hf:cosine'?)"),
    (["hf:polynomial", "--lr-end", "0.5"], "transformers rejected hf:polynomial: lr_end"),
])
def test_hf_bad_input(runner: CliRunner, tmp_path: Path, args: list[str], message: str) -> None:
    out = tmp_path / "x.png"
    result = run(runner, "plot", *args, "-o", str(out))
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert "Traceback" not in result.output and not out.exists()


def test_without_the_extra_one_line_says_how_to_install(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in [m for m in sys.modules if m == "transformers" or m.startswith("transformers.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "transformers", None)  # import transformers fails
    out = tmp_path / "x.png"
    result = run(runner, "plot", "hf:cosine", "--steps", "50", "-o", str(out))
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "note: scheduler.num_training_steps not given: using 50, the scheduler steps it runs "
        "for",
        "error: scheduler: hf:cosine needs transformers, which lrviz does not install by "
        "default: pip install 'lrviz[hf]'",
    ]
    assert not out.exists()


def test_hf_code_export_reproduces_the_values() -> None:
    spec = lrviz.as_spec({"steps": 80, "scheduler": {
        "type": "hf:cosine_with_min_lr", "num_warmup_steps": 8, "min_lr": 0.01}})
    namespace: dict[str, Any] = {}
    exec(python_code(spec), namespace)
    exp = reference({"steps": 80, "scheduler": {}}, lambda: namespace["optimizer"],
                    lambda opt: namespace["scheduler"])
    assert_same(lrviz.simulate(spec).lrs, exp.lrs, "lrs")


# --- LightningCLI ---------------------------------------------------------------------

LIGHTNING = """\
# lightning.pytorch==2.5.0
seed_everything: 7
trainer:
  accelerator: auto
  devices: auto
  max_epochs: null
  max_steps: {max_steps}
  limit_train_batches: null
  callbacks:
  - class_path: lightning.pytorch.callbacks.LearningRateMonitor
    init_args:
      logging_interval: step
model:
  class_path: my_project.models.Classifier
  init_args:
    hidden: 256
data:
  class_path: my_project.data.Images
  init_args:
    batch_size: 32
optimizer:
  class_path: torch.optim.AdamW
  init_args:
    lr: 0.002
    betas:
    - 0.9
    - 0.95
    eps: 1.0e-08
    weight_decay: 0.05
    amsgrad: false
    maximize: false
    foreach: null
    capturable: false
    differentiable: false
    fused: null
lr_scheduler:
  class_path: torch.optim.lr_scheduler.CosineAnnealingWarmRestarts
  init_args:
    T_0: 10
    T_mult: 2
    eta_min: 1.0e-05
    last_epoch: -1
ckpt_path: null
"""


def adamw() -> torch.optim.Optimizer:
    return torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))], lr=0.002, betas=(0.9, 0.95),
                             eps=1e-8, weight_decay=0.05)


def warm_restarts(opt: torch.optim.Optimizer) -> Any:
    return S.CosineAnnealingWarmRestarts(opt, T_0=10, T_mult=2, eta_min=1e-5)


def test_lightning_config_plots_with_torchs_values(runner: CliRunner, tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(LIGHTNING.format(max_steps=70))
    out = tmp_path / "lit.csv"
    result = run(runner, "plot", str(config), "-o", str(out))
    assert result.exit_code == 0, result.output
    # Lightning steps a LightningCLI scheduler once per epoch; an epoch is 1 step here
    exp = reference({"steps": 70, "scheduler": {"interval": "epoch"}}, adamw, warm_restarts)
    assert_same(read_csv(out)["lr"], exp.lrs[0], "lr")
    assert "every row is an epoch" in result.stderr


def test_lightning_epochs_with_steps_per_epoch(runner: CliRunner, tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(LIGHTNING.format(max_steps=-1).replace("max_epochs: null",
                                                             "max_epochs: 30"))
    out = tmp_path / "lit.csv"
    result = run(runner, "plot", str(config), "--steps-per-epoch", "4", "-o", str(out))
    assert result.exit_code == 0, result.output
    spec = {"steps": 120, "steps_per_epoch": 4, "scheduler": {"interval": "epoch"}}
    exp = reference(spec, adamw, warm_restarts)
    got = read_csv(out)
    assert_same(got["lr"], exp.lrs[0], "lr")
    assert list(got["epoch"][:5]) == [0, 0, 0, 0, 1]


def test_lightning_plateau_and_fit_section(tmp_path: Path) -> None:
    config = tmp_path / "cli.yaml"
    config.write_text(
        "fit:\n  trainer: {max_steps: 90}\n  optimizer:\n    class_path: torch.optim.SGD\n"
        "    init_args: {lr: 0.1}\n  lr_scheduler:\n"
        "    class_path: lightning.pytorch.cli.ReduceLROnPlateau\n"
        "    init_args: {monitor: val_loss, patience: 2, factor: 0.5}\n"
    )
    trace = lrviz.simulate(config)
    exp = reference({"steps": 90, "scheduler": {}},
                    lambda: torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1),
                    lambda opt: S.ReduceLROnPlateau(opt, patience=2, factor=0.5),
                    metric=list(trace.metric))
    assert_same(trace.lrs, exp.lrs, "lrs")


@pytest.mark.parametrize(("edit", "message"), [
    (("T_0: 10", "T_O: 10"), "config.yaml: lr_scheduler.init_args.T_O: unknown key "
                             "(did you mean 'T_0'?)"),
    (("eta_min: 1.0e-05", "eta_min: .nan"), "config.yaml: lr_scheduler.init_args.eta_min: "
                                            "expected a finite number"),
    (("torch.optim.AdamW", "torch.optim.AdamX"), "config.yaml: optimizer.class_path: unknown "
                                                 "optimizer 'AdamX'"),
    (("last_epoch: -1", "last_epoch: 40"), "config.yaml: lr_scheduler.init_args.last_epoch: "
                                           "resuming a schedule is not simulated"),
    (("torch.optim.lr_scheduler.CosineAnnealingWarmRestarts", "my_project.sched.Warm"),
     "config.yaml: lr_scheduler.class_path: 'my_project.sched:Warm' names a Python class"),
    (("ckpt_path: null", "ckpt_path: null\nlr_scheduler_typo: 1\nseed: [1, 2]"), None),
])
def test_lightning_errors_name_the_lightning_key(
    runner: CliRunner, tmp_path: Path, edit: tuple[str, str], message: str | None
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(LIGHTNING.format(max_steps=70).replace(*edit))
    out = tmp_path / "x.csv"
    result = run(runner, "plot", str(config), "-o", str(out))
    if message is None:  # keys of the rest of the config are Lightning's business
        assert result.exit_code == 0, result.output
        return
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert not out.exists()


def test_lightning_without_scheduler_says_so(runner: CliRunner, tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("trainer: {max_steps: 10}\nmodel: {class_path: a.B}\n")
    result = run(runner, "plot", str(config))
    assert result.exit_code == 2
    assert "without `lr_scheduler:`" in result.stderr


# --- custom classes -------------------------------------------------------------------


def halving(every: int, floor: float) -> Any:
    sys.path.insert(0, str(PLUGINS))
    try:
        from halving import HalvingLR
    finally:
        sys.path.remove(str(PLUGINS))
    return lambda opt: HalvingLR(opt, every=every, floor=floor)


def test_custom_class_is_not_imported_without_allow_import(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mark = tmp_path / "imported"
    monkeypatch.setenv("LRVIZ_TEST_IMPORT_MARK", str(mark))
    monkeypatch.chdir(PLUGINS)
    monkeypatch.delitem(sys.modules, "halving", raising=False)
    spec = tmp_path / "custom.yaml"
    spec.write_text("scheduler: {type: 'halving:HalvingLR', every: 3}\n")
    for args in (["plot", "halving:HalvingLR", "--every", "3"], ["plot", str(spec)],
                 ["check", str(spec)], ["code", str(spec)], ["compare", str(spec)]):
        result = run(runner, *args, "-o", str(tmp_path / "x.png")) if args[0] == "plot" \
            else run(runner, *args)
        assert result.exit_code == 2, (args, result.output)
        assert "names a Python class" in result.stderr and "--allow-import" in result.stderr
    assert not mark.exists(), "the module was imported"
    assert "halving" not in sys.modules


def test_custom_class_with_allow_import(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(PLUGINS)
    monkeypatch.delitem(sys.modules, "halving", raising=False)
    out = tmp_path / "h.csv"
    result = run(runner, "plot", "halving:HalvingLR", "--allow-import", "--every", "4",
                 "--floor", "0.02", "--steps", "25", "-o", str(out))
    assert result.exit_code == 0, result.output
    exp = reference({"steps": 25, "scheduler": {}}, sgd(), halving(4, 0.02))
    assert_same(read_csv(out)["lr"], exp.lrs[0], "lr")
    code = run(runner, "code", "halving:HalvingLR", "--allow-import", "--every", "4")
    assert "from halving import HalvingLR" in code.stdout
    assert "scheduler = HalvingLR(optimizer, every=4)" in code.stdout


@pytest.mark.parametrize(("target", "message"), [
    ("halving:NOT_A_SCHEDULER", "'halving:NOT_A_SCHEDULER' is an object of type int; "
                                "expected a subclass of torch's LRScheduler"),
    ("halving:Missing", "'halving:Missing' does not exist"),
    ("os:system", "'os:system' is an object of type builtin_function_or_method"),
    ("no_such_module_here:X", "cannot import 'no_such_module_here'"),
])
def test_custom_targets_that_are_not_schedulers(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, target: str, message: str
) -> None:
    monkeypatch.chdir(PLUGINS)
    result = run(runner, "plot", target, "--allow-import")
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.output
