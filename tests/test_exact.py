"""lrviz's curves are torch's curves, float for float (README: "Using it" to "What a row means").

Each case gives a spec in the YAML format and the same optimizer and scheduler written
by hand with torch. The reference loop below follows the stepping protocol of SPEC
section 4 on its own (it never calls lrviz's engine or builders), and every value lrviz
reports must be *identical* to the one torch produced: no tolerances anywhere.
"""

from __future__ import annotations

import csv
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from torch.optim import lr_scheduler as S
from torch.optim.swa_utils import SWALR
from typer.testing import CliRunner

import lrviz
from lrviz.cli import app

MakeOptimizer = Callable[[], torch.optim.Optimizer]
MakeScheduler = Callable[[torch.optim.Optimizer], Any]


# --- the reference: torch alone -------------------------------------------------------


def optimizer(cls: Callable[..., torch.optim.Optimizer] = torch.optim.SGD, *lrs: float,
              **kwargs: Any) -> MakeOptimizer:
    """A factory of ``cls`` with one dummy parameter per group, group ``i`` at ``lrs[i]``."""
    lrs = lrs or (0.1,)

    def build() -> torch.optim.Optimizer:
        groups = [{"params": [torch.nn.Parameter(torch.zeros(1))], "lr": lr} for lr in lrs]
        return cls(groups, lr=lrs[0], **kwargs)

    return build


def sgd(*lrs: float) -> MakeOptimizer:
    """lrviz's default optimizer: SGD(lr=0.1, momentum=0.9)."""
    return optimizer(torch.optim.SGD, *lrs, momentum=0.9)


@dataclass(frozen=True)
class Expected:
    lrs: np.ndarray  # (groups, steps)
    momenta: np.ndarray  # (groups, steps): momentum, or betas[0] for Adam-like optimizers
    metric: np.ndarray | None  # (steps,), NaN on rows after which no metric was fed


def reference(spec: dict[str, Any], make_optimizer: MakeOptimizer,
              make_scheduler: MakeScheduler, metric: Sequence[float] | None = None) -> Expected:
    """README "What a row means", written directly against torch."""
    steps = spec["steps"]
    per_epoch = spec.get("steps_per_epoch", 1)
    every_step = spec["scheduler"].get("interval", "step") == "step"
    feed = iter(metric or ())
    lrs, momenta, fed = [], [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        opt = make_optimizer()
        scheduler = make_scheduler(opt)
        for k in range(steps):
            lrs.append([g["lr"] for g in opt.param_groups])
            momenta.append([g["momentum"] if "momentum" in g else g["betas"][0]
                            for g in opt.param_groups])
            value = float("nan")
            if every_step or (k + 1) % per_epoch == 0:
                if metric is None:
                    scheduler.step()
                else:
                    value = next(feed)
                    scheduler.step(value)
            fed.append(value)
    return Expected(np.array(lrs, dtype=float).T, np.array(momenta, dtype=float).T,
                    None if metric is None else np.array(fed, dtype=float))


def assert_same(actual: np.ndarray | None, expected: np.ndarray, what: str) -> None:
    """Exact equality (NaN == NaN), naming the first row that differs."""
    assert actual is not None, f"{what}: lrviz recorded nothing"
    actual = np.asarray(actual, dtype=float)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    if not np.array_equal(actual, expected, equal_nan=True):
        bad = np.argwhere(~((actual == expected) | (np.isnan(actual) & np.isnan(expected))))
        where = tuple(int(i) for i in bad[0])
        pytest.fail(f"{what}: {len(bad)} value(s) differ; first at {where}: "
                    f"lrviz {actual[where]!r}, torch {expected[where]!r}")


def expected_columns(spec: dict[str, Any], exp: Expected,
                     momentum: bool) -> list[tuple[str, np.ndarray]]:
    """The CSV columns of README "What a row means", built from the reference."""
    steps, per_epoch = spec["steps"], spec.get("steps_per_epoch", 1)
    cols = [("step", np.arange(steps, dtype=float))]
    if per_epoch > 1:
        cols.append(("epoch", np.arange(steps, dtype=float) // per_epoch))

    def per_group(name: str, values: np.ndarray) -> list[tuple[str, np.ndarray]]:
        if len(values) == 1:
            return [(name, values[0])]
        return [(f"{name}_{i}", row) for i, row in enumerate(values)]

    cols += per_group("lr", exp.lrs)
    if momentum:
        cols += per_group("momentum", exp.momenta)
    if exp.metric is not None:
        cols.append(("metric", exp.metric))
    return cols


def check_trace(trace: Any, spec: dict[str, Any], exp: Expected, momentum: bool) -> None:
    assert_same(trace.lrs, exp.lrs, "lrs")
    if momentum:
        assert_same(trace.momenta, exp.momenta, "momenta")
    else:
        assert trace.momenta is None
    if exp.metric is None:
        assert trace.metric is None
    else:
        assert_same(trace.metric, exp.metric, "metric")
    want = expected_columns(spec, exp, momentum)
    got = trace.columns()
    assert [name for name, _ in got] == [name for name, _ in want]
    for (name, values), (_, ref) in zip(got, want, strict=True):
        assert_same(values, ref, f"column {name}")


# --- the cases --------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    spec: dict[str, Any]
    scheduler: MakeScheduler
    optimizer: MakeOptimizer
    metric: Sequence[float] | None
    momentum: bool  # lrviz must record momentum / beta1


def case(name: str, scheduler: dict[str, Any], ref: MakeScheduler, *, steps: int = 30,
         opt: dict[str, Any] | None = None, ref_opt: MakeOptimizer | None = None,
         metric: Sequence[float] | None = None, momentum: bool = False,
         **top: Any) -> Any:
    spec: dict[str, Any] = {"steps": steps, **top, "scheduler": scheduler}
    if opt is not None:
        spec["optimizer"] = opt
    if metric is not None:
        spec["metric"] = {"values": list(metric)}
    return pytest.param(Case(spec, ref, ref_opt or sgd(), metric, momentum), id=name)


LOSS = [1.0, 0.8, 0.65, 0.55, 0.5, 0.5, 0.51, 0.5, 0.5, 0.47, 0.45, 0.44,
        0.44, 0.44, 0.45, 0.44, 0.44, 0.43, 0.42, 0.42, 0.42, 0.42, 0.42, 0.42]
ACCURACY = [0.1, 0.3, 0.5, 0.6, 0.6, 0.6, 0.605, 0.6, 0.61, 0.6, 0.6, 0.6,
            0.62, 0.62, 0.62, 0.625, 0.62, 0.62, 0.62, 0.62]
FLAT = [1.0] * 30

TWO_GROUPS = {"param_groups": [{"lr": 0.1}, {"lr": 0.01}]}
CYCLIC = {"type": "CyclicLR", "base_lr": 1e-4, "max_lr": 1e-2, "step_size_up": 5}


def cyclic(**kw: Any) -> MakeScheduler:
    return lambda o: S.CyclicLR(o, base_lr=1e-4, max_lr=1e-2, step_size_up=5, **kw)


CASES = [
    # -- one scheduler each, default optimizer SGD(lr=0.1, momentum=0.9) --
    case("lambda", {"type": "LambdaLR", "lr_lambda": "0.95 ** epoch"},
         lambda o: S.LambdaLR(o, lambda e: 0.95 ** float(e))),
    case("lambda-warmup", {"type": "LambdaLR", "lr_lambda": "min(1.0, (epoch + 1) / 10)"},
         lambda o: S.LambdaLR(o, lambda e: min(1.0, (float(e) + 1) / 10))),
    case("multiplicative",
         {"type": "MultiplicativeLR", "lr_lambda": "0.9 if epoch < 10 else 0.99"},
         lambda o: S.MultiplicativeLR(o, lambda e: 0.9 if float(e) < 10 else 0.99)),
    case("step", {"type": "StepLR", "step_size": 7, "gamma": 0.5},
         lambda o: S.StepLR(o, step_size=7, gamma=0.5)),
    case("multistep", {"type": "MultiStepLR", "milestones": [5, 12, 20], "gamma": 0.3},
         lambda o: S.MultiStepLR(o, milestones=[5, 12, 20], gamma=0.3)),
    case("multistep-unsorted-duplicate", {"type": "MultiStepLR", "milestones": [12, 4, 12]},
         lambda o: S.MultiStepLR(o, milestones=[12, 4, 12])),
    case("constant", {"type": "ConstantLR", "factor": 0.5, "total_iters": 4},
         lambda o: S.ConstantLR(o, factor=0.5, total_iters=4), steps=10),
    case("linear-defaults", {"type": "LinearLR"}, lambda o: S.LinearLR(o), steps=10),
    case("linear", {"type": "LinearLR", "start_factor": 0.01, "end_factor": 0.5,
                    "total_iters": 13},
         lambda o: S.LinearLR(o, start_factor=0.01, end_factor=0.5, total_iters=13)),
    case("exponential", {"type": "ExponentialLR", "gamma": 0.93},
         lambda o: S.ExponentialLR(o, gamma=0.93)),
    case("polynomial", {"type": "PolynomialLR", "total_iters": 8, "power": 2.0},
         lambda o: S.PolynomialLR(o, total_iters=8, power=2.0), steps=12),
    case("cosine", {"type": "CosineAnnealingLR", "T_max": 20, "eta_min": 0.001},
         lambda o: S.CosineAnnealingLR(o, T_max=20, eta_min=0.001), steps=20),
    case("cosine-default-tmax", {"type": "CosineAnnealingLR"},
         lambda o: S.CosineAnnealingLR(o, T_max=25), steps=25),
    case("cosine-past-tmax", {"type": "CosineAnnealingLR", "T_max": 10},
         lambda o: S.CosineAnnealingLR(o, T_max=10), steps=35),
    case("warm-restarts-tmult1", {"type": "CosineAnnealingWarmRestarts", "T_0": 5},
         lambda o: S.CosineAnnealingWarmRestarts(o, T_0=5)),
    case("warm-restarts-tmult2",
         {"type": "CosineAnnealingWarmRestarts", "T_0": 3, "T_mult": 2, "eta_min": 1e-3},
         lambda o: S.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2, eta_min=1e-3), steps=40),
    case("cyclic-triangular", CYCLIC, cyclic(), momentum=True),
    case("cyclic-triangular2", {**CYCLIC, "mode": "triangular2"}, cyclic(mode="triangular2"),
         steps=50, momentum=True),
    case("cyclic-exp-range", {**CYCLIC, "mode": "exp_range", "gamma": 0.97},
         cyclic(mode="exp_range", gamma=0.97), momentum=True),
    case("cyclic-scale-fn", {**CYCLIC, "scale_fn": "1 / (2.0 ** (x - 1))"},
         cyclic(scale_fn=lambda x: 1 / (2.0 ** (float(x) - 1))), steps=50, momentum=True),
    case("cyclic-scale-fn-iterations",
         {**CYCLIC, "scale_fn": "0.98 ** x", "scale_mode": "iterations"},
         cyclic(scale_fn=lambda x: 0.98 ** float(x), scale_mode="iterations"), momentum=True),
    case("cyclic-no-momentum", {**CYCLIC, "cycle_momentum": False},
         cyclic(cycle_momentum=False)),
    case("cyclic-step-size-down",
         {**CYCLIC, "step_size_down": 11, "base_momentum": 0.7, "max_momentum": 0.95},
         cyclic(step_size_down=11, base_momentum=0.7, max_momentum=0.95), steps=40,
         momentum=True),
    case("onecycle-cos", {"type": "OneCycleLR", "max_lr": 0.5},
         lambda o: S.OneCycleLR(o, max_lr=0.5, total_steps=40), steps=40, momentum=True),
    case("onecycle-linear",
         {"type": "OneCycleLR", "max_lr": 0.5, "total_steps": 50, "anneal_strategy": "linear",
          "pct_start": 0.25},
         lambda o: S.OneCycleLR(o, max_lr=0.5, total_steps=50, anneal_strategy="linear",
                                pct_start=0.25), steps=50, momentum=True),
    case("onecycle-three-phase", {"type": "OneCycleLR", "max_lr": 0.5, "three_phase": True},
         lambda o: S.OneCycleLR(o, max_lr=0.5, total_steps=40, three_phase=True), steps=40,
         momentum=True),
    case("onecycle-epochs", {"type": "OneCycleLR", "max_lr": 0.5, "epochs": 4,
                             "steps_per_epoch": 10},
         lambda o: S.OneCycleLR(o, max_lr=0.5, epochs=4, steps_per_epoch=10), steps=40,
         momentum=True),
    case("onecycle-adam", {"type": "OneCycleLR", "max_lr": 0.01},
         lambda o: S.OneCycleLR(o, max_lr=0.01, total_steps=30), opt={"type": "Adam"},
         ref_opt=optimizer(torch.optim.Adam, 0.1), momentum=True),
    case("plateau-min", {"type": "ReduceLROnPlateau", "factor": 0.5, "patience": 2},
         lambda o: S.ReduceLROnPlateau(o, factor=0.5, patience=2), steps=24, metric=LOSS),
    case("plateau-max-abs",
         {"type": "ReduceLROnPlateau", "mode": "max", "threshold_mode": "abs",
          "threshold": 0.01, "patience": 1, "factor": 0.3},
         lambda o: S.ReduceLROnPlateau(o, mode="max", threshold_mode="abs", threshold=0.01,
                                       patience=1, factor=0.3), steps=20, metric=ACCURACY),
    case("plateau-max-rel", {"type": "ReduceLROnPlateau", "mode": "max", "patience": 1},
         lambda o: S.ReduceLROnPlateau(o, mode="max", patience=1), steps=20, metric=ACCURACY),
    case("plateau-cooldown-min-lr",
         {"type": "ReduceLROnPlateau", "patience": 0, "cooldown": 2, "min_lr": 0.02,
          "factor": 0.5},
         lambda o: S.ReduceLROnPlateau(o, patience=0, cooldown=2, min_lr=0.02, factor=0.5),
         steps=30, metric=FLAT),
    case("plateau-eps", {"type": "ReduceLROnPlateau", "patience": 0, "factor": 0.5,
                         "eps": 1e-3},
         lambda o: S.ReduceLROnPlateau(o, patience=0, factor=0.5, eps=1e-3),
         opt={"type": "SGD", "lr": 0.004}, ref_opt=sgd(0.004), steps=10, metric=FLAT),
    case("plateau-extra-values", {"type": "ReduceLROnPlateau", "patience": 1},
         lambda o: S.ReduceLROnPlateau(o, patience=1), steps=10, metric=LOSS),
    case("swa-cos", {"type": "SWALR", "swa_lr": 0.05, "anneal_epochs": 5},
         lambda o: SWALR(o, swa_lr=0.05, anneal_epochs=5), steps=12),
    case("swa-linear", {"type": "SWALR", "swa_lr": 0.3, "anneal_strategy": "linear"},
         lambda o: SWALR(o, swa_lr=0.3, anneal_strategy="linear"), steps=15),
    # -- composites --
    case("sequential-warmup-cosine",
         {"type": "SequentialLR", "milestones": [10], "schedulers": [
             {"type": "LinearLR", "start_factor": 0.01, "total_iters": 10},
             {"type": "CosineAnnealingLR"}]},
         lambda o: S.SequentialLR(o, [S.LinearLR(o, start_factor=0.01, total_iters=10),
                                      S.CosineAnnealingLR(o, T_max=30)], milestones=[10]),
         steps=40),
    case("sequential-three",
         {"type": "SequentialLR", "milestones": [5, 15], "schedulers": [
             {"type": "ConstantLR", "factor": 0.1, "total_iters": 5},
             {"type": "CosineAnnealingLR", "eta_min": 0.01},
             {"type": "ExponentialLR", "gamma": 0.9}]},
         lambda o: S.SequentialLR(o, [S.ConstantLR(o, factor=0.1, total_iters=5),
                                      S.CosineAnnealingLR(o, T_max=10, eta_min=0.01),
                                      S.ExponentialLR(o, gamma=0.9)], milestones=[5, 15]),
         steps=25),
    case("sequential-three-last-cosine",
         {"type": "SequentialLR", "milestones": [4, 9], "schedulers": [
             {"type": "LinearLR", "start_factor": 0.25, "total_iters": 4},
             {"type": "StepLR", "step_size": 2, "gamma": 0.8},
             {"type": "CosineAnnealingLR"}]},
         lambda o: S.SequentialLR(o, [S.LinearLR(o, start_factor=0.25, total_iters=4),
                                      S.StepLR(o, step_size=2, gamma=0.8),
                                      S.CosineAnnealingLR(o, T_max=21)], milestones=[4, 9]),
         steps=30),
    case("chained",
         {"type": "ChainedScheduler", "schedulers": [
             {"type": "ConstantLR", "factor": 0.5, "total_iters": 4},
             {"type": "ExponentialLR", "gamma": 0.9}]},
         lambda o: S.ChainedScheduler([S.ConstantLR(o, factor=0.5, total_iters=4),
                                       S.ExponentialLR(o, gamma=0.9)]), steps=15),
    # -- several param groups --
    case("groups-step", {"type": "StepLR", "step_size": 3},
         lambda o: S.StepLR(o, step_size=3), opt=TWO_GROUPS, ref_opt=sgd(0.1, 0.01), steps=12),
    case("groups-lambda-list",
         {"type": "LambdaLR", "lr_lambda": ["0.95 ** epoch", "min(1.0, (epoch + 1) / 5)"]},
         lambda o: S.LambdaLR(o, [lambda e: 0.95 ** float(e),
                                  lambda e: min(1.0, (float(e) + 1) / 5)]),
         opt=TWO_GROUPS, ref_opt=sgd(0.1, 0.01), steps=12),
    case("groups-cyclic",
         {**CYCLIC, "base_lr": [1e-4, 1e-5], "max_lr": [1e-2, 1e-3], "mode": "triangular2"},
         lambda o: S.CyclicLR(o, base_lr=[1e-4, 1e-5], max_lr=[1e-2, 1e-3], step_size_up=5,
                              mode="triangular2"),
         opt=TWO_GROUPS, ref_opt=sgd(0.1, 0.01), momentum=True),
    case("groups-onecycle", {"type": "OneCycleLR", "max_lr": [0.5, 0.05]},
         lambda o: S.OneCycleLR(o, max_lr=[0.5, 0.05], total_steps=30),
         opt=TWO_GROUPS, ref_opt=sgd(0.1, 0.01), momentum=True),
    case("groups-plateau-min-lr-list",
         {"type": "ReduceLROnPlateau", "patience": 0, "min_lr": [0.02, 0.004]},
         lambda o: S.ReduceLROnPlateau(o, patience=0, min_lr=[0.02, 0.004]),
         opt=TWO_GROUPS, ref_opt=sgd(0.1, 0.01), steps=8, metric=FLAT),
    # -- interval: epoch --
    case("epoch-step", {"type": "StepLR", "step_size": 2, "interval": "epoch"},
         lambda o: S.StepLR(o, step_size=2), steps=40, steps_per_epoch=4),
    case("epoch-cosine-ragged", {"type": "CosineAnnealingLR", "interval": "epoch"},
         lambda o: S.CosineAnnealingLR(o, T_max=3), steps=10, steps_per_epoch=3),
    case("epoch-onecycle-default-total",
         {"type": "OneCycleLR", "max_lr": 0.5, "interval": "epoch"},
         lambda o: S.OneCycleLR(o, max_lr=0.5, total_steps=10), steps=52, steps_per_epoch=5,
         momentum=True),
    case("epoch-plateau-ragged", {"type": "ReduceLROnPlateau", "patience": 1,
                                  "interval": "epoch"},
         lambda o: S.ReduceLROnPlateau(o, patience=1), steps=23, steps_per_epoch=4,
         metric=[1.0, 1.0, 1.0, 0.9, 0.9]),
    case("epoch-sequential",
         {"type": "SequentialLR", "milestones": [3], "interval": "epoch", "schedulers": [
             {"type": "LinearLR", "start_factor": 0.1, "total_iters": 3},
             {"type": "CosineAnnealingLR"}]},
         lambda o: S.SequentialLR(o, [S.LinearLR(o, start_factor=0.1, total_iters=3),
                                      S.CosineAnnealingLR(o, T_max=7)], milestones=[3]),
         steps=21, steps_per_epoch=2),
    # -- other optimizers --
    case("adam-exponential", {"type": "ExponentialLR", "gamma": 0.9},
         lambda o: S.ExponentialLR(o, gamma=0.9), opt={"type": "Adam", "lr": 1e-3},
         ref_opt=optimizer(torch.optim.Adam, 1e-3)),
    case("adamw-warmup-cosine",
         {"type": "SequentialLR", "milestones": [10], "schedulers": [
             {"type": "LinearLR", "start_factor": 0.01, "total_iters": 10},
             {"type": "CosineAnnealingLR", "eta_min": 3e-5}]},
         lambda o: S.SequentialLR(o, [S.LinearLR(o, start_factor=0.01, total_iters=10),
                                      S.CosineAnnealingLR(o, T_max=90, eta_min=3e-5)],
                                  milestones=[10]),
         opt={"type": "AdamW", "lr": 3e-4, "weight_decay": 0.1},
         ref_opt=optimizer(torch.optim.AdamW, 3e-4, weight_decay=0.1), steps=100),
    case("rmsprop-step", {"type": "StepLR", "step_size": 4, "gamma": 0.5},
         lambda o: S.StepLR(o, step_size=4, gamma=0.5), opt={"type": "RMSprop", "lr": 0.01},
         ref_opt=optimizer(torch.optim.RMSprop, 0.01), steps=20),
    case("adam-cyclic-beta1", {**CYCLIC, "mode": "exp_range", "gamma": 0.99},
         cyclic(mode="exp_range", gamma=0.99), opt={"type": "Adam", "momentum": 0.8},
         ref_opt=optimizer(torch.optim.Adam, 0.1, betas=(0.8, 0.999)), momentum=True),
    case("sgd-lr-only-keeps-momentum", {"type": "OneCycleLR", "max_lr": 0.2},
         lambda o: S.OneCycleLR(o, max_lr=0.2, total_steps=20),
         opt={"type": "SGD", "lr": 0.05}, ref_opt=sgd(0.05), steps=20, momentum=True),
]


@pytest.mark.parametrize("c", CASES)
def test_simulate_equals_torch(c: Case) -> None:
    expected = reference(c.spec, c.optimizer, c.scheduler, c.metric)
    check_trace(lrviz.simulate(c.spec), c.spec, expected, c.momentum)


# --- a metric read from a CSV file next to the YAML -----------------------------------------

PLATEAU_YAML = """\
steps: 12
steps_per_epoch: 2
scheduler: {type: ReduceLROnPlateau, interval: epoch, patience: 0, factor: 0.5}
metric: {file: logs/m.csv, column: val_loss}
"""
VAL_LOSS = [0.9, 0.7, 0.7, 0.71, 0.6, 0.6]


def write_plateau(tmp_path: Path) -> Path:
    (tmp_path / "logs").mkdir()
    rows = ["epoch,train_loss,val_loss"]
    rows += [f"{i},{1.0 - i / 10!r},{v!r}" for i, v in enumerate(VAL_LOSS)]
    (tmp_path / "logs" / "m.csv").write_text("\n".join(rows) + "\n")
    path = tmp_path / "spec" / "plateau.yaml"
    path.parent.mkdir()
    path.write_text(PLATEAU_YAML.replace("logs/", "../logs/"))
    return path


def plateau_reference() -> Expected:
    spec = {"steps": 12, "steps_per_epoch": 2, "scheduler": {"interval": "epoch"}}
    return reference(spec, sgd(), lambda o: S.ReduceLROnPlateau(o, patience=0, factor=0.5),
                     VAL_LOSS)


def test_metric_from_csv_file_relative_to_the_yaml(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_plateau(tmp_path)
    monkeypatch.chdir(tmp_path)  # the log is beside the spec's folder, under the current one
    trace = lrviz.simulate(path)
    expected = plateau_reference()
    assert expected.metric is not None
    assert_same(trace.lrs, expected.lrs, "lrs")
    assert_same(trace.metric, expected.metric, "metric")
    assert trace.momenta is None


# --- the command line: the CSV file, float for float ---------------------------------------


def read_csv(path: Path) -> dict[str, np.ndarray]:
    with path.open(newline="") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    return {name: np.array([float(r[i]) if r[i] else float("nan") for r in body])
            for i, name in enumerate(header)}


def plot(tmp_path: Path, *args: str) -> dict[str, np.ndarray]:
    out = tmp_path / "out.csv"
    result = CliRunner().invoke(app, ["plot", *args, "-o", str(out)])
    assert result.exit_code == 0, result.output
    return read_csv(out)


def assert_columns(got: dict[str, np.ndarray], spec: dict[str, Any], exp: Expected,
                   momentum: bool) -> None:
    want = expected_columns(spec, exp, momentum)
    assert list(got) == [name for name, _ in want]
    for name, values in want:
        assert_same(got[name], values, f"CSV column {name}")


def test_cli_cyclic_lr_and_momentum(tmp_path: Path) -> None:
    got = plot(tmp_path, "cyclic", "--base-lr", "1e-4", "--max-lr", "1e-2", "--step-size-up",
               "20", "--mode", "triangular2", "--steps", "100")
    spec = {"steps": 100, "scheduler": {}}
    exp = reference(spec, sgd(), lambda o: S.CyclicLR(o, 1e-4, 1e-2, step_size_up=20,
                                                      mode="triangular2"))
    assert_columns(got, spec, exp, momentum=True)


def test_cli_onecycle_with_adam_records_beta1(tmp_path: Path) -> None:
    got = plot(tmp_path, "onecycle", "--max-lr", "0.01", "--steps", "50", "--optimizer", "adam",
               "--pct-start", "0.2")
    spec = {"steps": 50, "scheduler": {}}
    exp = reference(spec, optimizer(torch.optim.Adam, 0.1),
                    lambda o: S.OneCycleLR(o, max_lr=0.01, total_steps=50, pct_start=0.2))
    assert_columns(got, spec, exp, momentum=True)


def test_cli_two_param_groups(tmp_path: Path) -> None:
    got = plot(tmp_path, "step", "--step-size", "3", "--gamma", "0.7", "--lr", "0.1,0.01",
               "--steps", "10")
    spec = {"steps": 10, "scheduler": {}}
    exp = reference(spec, sgd(0.1, 0.01), lambda o: S.StepLR(o, step_size=3, gamma=0.7))
    assert_columns(got, spec, exp, momentum=False)


def test_cli_epoch_interval(tmp_path: Path) -> None:
    got = plot(tmp_path, "cosine", "--t-max", "4", "--eta-min", "0.001", "--steps", "17",
               "--steps-per-epoch", "3", "--interval", "epoch")
    spec = {"steps": 17, "steps_per_epoch": 3, "scheduler": {"interval": "epoch"}}
    exp = reference(spec, sgd(), lambda o: S.CosineAnnealingLR(o, T_max=4, eta_min=0.001))
    assert_columns(got, spec, exp, momentum=False)


def test_cli_rmsprop_with_momentum_flag(tmp_path: Path) -> None:
    got = plot(tmp_path, "exponential", "--gamma", "0.8", "--optimizer", "rmsprop",
               "--momentum", "0.5", "--lr", "0.02", "--steps", "12")
    spec = {"steps": 12, "scheduler": {}}
    exp = reference(spec, optimizer(torch.optim.RMSprop, 0.02, momentum=0.5),
                    lambda o: S.ExponentialLR(o, gamma=0.8))
    assert_columns(got, spec, exp, momentum=False)


def test_cli_yaml_with_metric_file(tmp_path: Path) -> None:
    # The log sits outside the spec's folder (and the current one): --allow-path lets it in.
    got = plot(tmp_path, str(write_plateau(tmp_path)), "--allow-path", str(tmp_path / "logs"))
    spec = {"steps": 12, "steps_per_epoch": 2, "scheduler": {}}
    assert_columns(got, spec, plateau_reference(), momentum=False)


# --- no "scheduler before optimizer" warning --------------------------------------------

ORDER_WARNING = "Detected call of `lr_scheduler.step()` before `optimizer.step()`"


@pytest.mark.parametrize("c", [p for p in CASES if p.id in {
    "step", "cyclic-triangular", "onecycle-adam", "plateau-min", "swa-cos",
    "sequential-three", "chained", "epoch-step", "adamw-warmup-cosine"}])
def test_no_step_order_warning(c: Case) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        lrviz.simulate(c.spec)
    assert not [w for w in caught if ORDER_WARNING in str(w.message)]
