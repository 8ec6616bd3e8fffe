"""``lrviz code``: the generated Python builds the schedule lrviz simulated, float for float.

Each case generates the snippet for a spec, runs it in a fresh namespace, steps the
resulting ``optimizer``/``scheduler`` with the loop of README "What a row means" (written here, not
lrviz's engine), and compares every lr (and momentum) with ``lrviz.simulate`` exactly.
"""

from __future__ import annotations

import math
import random
import struct
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import lrviz
from lrviz.code import python_code, python_lambda
from lrviz.expr import ExpressionError, parse_expression
from lrviz.spec import Spec

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = sorted((ROOT / "configs").glob("*.yaml"))

EXPRESSIONS = [
    "0.95 ** epoch",
    "1 - epoch / 100",
    "epoch // 3 % 2 + 0.5",
    "cos(pi * epoch / 50) * 0.5 + 0.5",
    "math.exp(-epoch / 20)",
    "math.cos(math.pi * epoch / 40) / 2 + 0.5 + e - math.e",
    "1 if epoch < 10 else 0.1",
    "min(1, (epoch + 1) / 10)",
    "max(0.1, 1 - epoch * epoch / 10000)",
    "round(epoch / 7) / 10 + 0.5",
    "floor(epoch / 10) * 0.1 + ceil(epoch / 9) * 0.01 + trunc(epoch / 8) * 0.001",
    "(epoch >= 5) * 0.5 + 0.5",
    "not epoch and 1 or 0.5",
    "abs(sin(epoch)) + 0.01",
    "-epoch % 7 + 1",
    "2 ** -epoch",
    "log(epoch + 1, 2) + 1",
    "hypot(epoch, 3) / 10",
    "copysign(1, -epoch) + 2",
    "atan2(-epoch, -1) + 4",
    "0.5 if 3 < epoch <= 8 and epoch != 5 else 1",
    "epoch ** 0.5 / 10 + 0.1",
    "sqrt(epoch) + fmod(epoch, 3) + 1",
    "+epoch",
    "epoch",
    "epoch * epoch * epoch * 1e-6 + 1",
    "e ** (-epoch / 10) + tau * 0",
    "epoch % 2 == 0 or 0.5",
    "pow(0.9, epoch) * (1 - epoch % 10 / 20)",
    "max(epoch, 3, 1)",
    "not (epoch > 4)",
    "-(epoch < 3) + 2",
    "(epoch and 2) + 1",
    "log10(epoch + 1) + log2(epoch + 2) + log1p(epoch) + expm1(1e-3)",
    "degrees(radians(epoch)) / 100 + 1",
    "1 / (epoch + 1) ** 0.5",
    "0.1",
    "3",
]


def bits(value: float) -> bytes:
    """The exact float, -0.0 and NaN included."""
    return struct.pack("<d", float(value))


def generated(spec: Spec) -> tuple[np.ndarray, np.ndarray | None]:
    """Run the snippet for ``spec`` and step it as README "What a row means" says."""
    code = python_code(spec)
    namespace: dict[str, Any] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        exec(compile(code, "<lrviz code>", "exec"), namespace)
        optimizer, scheduler = namespace["optimizer"], namespace["scheduler"]
        groups = optimizer.param_groups
        lrs = np.empty((len(groups), spec.steps))
        momenta = np.empty((len(groups), spec.steps)) if spec.records_momentum else None
        values = spec.metric.values if spec.metric is not None else None
        fed = 0
        # a warmup before ReduceLROnPlateau is a LinearLR stepped first, on its own
        warmup_left = spec.warmup.steps if spec.warmup is not None else 0
        for k in range(spec.steps):
            for i, group in enumerate(groups):
                lrs[i, k] = group["lr"]
                if momenta is not None:
                    momenta[i, k] = (group["momentum"] if "momentum" in group
                                     else group["betas"][0])
            if spec.interval == "step" or (k + 1) % spec.steps_per_epoch == 0:
                if warmup_left:
                    namespace["warmup"].step()
                    warmup_left -= 1
                elif values is None:
                    scheduler.step()
                else:
                    scheduler.step(values[fed])
                    fed += 1
    return lrs, momenta


def assert_same(raw: dict[str, Any] | Spec) -> str:
    spec = lrviz.as_spec(raw)
    trace = lrviz.simulate(spec)
    lrs, momenta = generated(spec)
    assert np.array_equal(lrs, trace.lrs), python_code(spec)
    if trace.momenta is None:
        assert momenta is None
    else:
        assert momenta is not None
        assert np.array_equal(momenta, trace.momenta), python_code(spec)
    return python_code(spec)


CASES: dict[str, dict[str, Any]] = {
    "cosine-default-T_max": {"steps": 60, "scheduler": {"type": "cosine", "eta_min": 1e-3}},
    "step-epochs": {
        "steps": 100, "steps_per_epoch": 7,
        "scheduler": {"type": "StepLR", "interval": "epoch", "step_size": 3, "gamma": 0.5},
    },
    "multistep": {"steps": 40, "scheduler": {"type": "multistep", "milestones": [5, 12, 30]}},
    "constant": {"steps": 20, "scheduler": {"type": "constant", "factor": 0.25}},
    "polynomial": {"steps": 30, "scheduler": {"type": "polynomial", "total_iters": 20,
                                              "power": 2.5}},
    "warm-restarts": {"steps": 90, "scheduler": {"type": "cosine-restarts", "T_0": 7,
                                                 "T_mult": 2, "eta_min": 1e-4}},
    "swa": {"steps": 30, "optimizer": {"lr": 0.5},
            "scheduler": {"type": "swa", "swa_lr": 0.05, "anneal_epochs": 12,
                          "anneal_strategy": "linear"}},
    "sequential-adamw": {
        "steps": 300,
        "optimizer": {"type": "adamw", "lr": "3e-4", "weight_decay": 0.1, "momentum": 0.8},
        "scheduler": {"type": "SequentialLR", "milestones": [50], "schedulers": [
            {"type": "LinearLR", "start_factor": 0.01, "total_iters": 50},
            {"type": "CosineAnnealingLR", "eta_min": 3e-5},
        ]},
    },
    "sequential-three": {
        "steps": 200,
        "scheduler": {"type": "sequential", "milestones": [20, 120], "schedulers": [
            {"type": "linear", "start_factor": 0.1, "total_iters": 20},
            {"type": "cosine"},
            {"type": "exponential", "gamma": 0.97},
        ]},
    },
    "chained": {
        "steps": 80,
        "scheduler": {"type": "ChainedScheduler", "schedulers": [
            {"type": "constant", "factor": 0.5, "total_iters": 10},
            {"type": "exponential", "gamma": 0.98},
        ]},
    },
    "chained-nested-duplicates": {
        "steps": 120,
        "scheduler": {"type": "chained", "schedulers": [
            {"type": "sequential", "milestones": [10], "schedulers": [
                {"type": "linear", "start_factor": 0.2, "total_iters": 10},
                {"type": "linear", "start_factor": 1.0, "end_factor": 0.1, "total_iters": 100},
            ]},
            {"type": "multistep", "milestones": [60, 90], "gamma": 0.5},
        ]},
    },
    "multi-group-cyclic": {
        "steps": 130,
        "optimizer": {"type": "SGD", "lr": 0.1,
                      "param_groups": [{"lr": 0.1}, {"lr": 0.01, "momentum": 0.5}]},
        "scheduler": {"type": "cyclic", "base_lr": [1e-4, 1e-5], "max_lr": [1e-2, 1e-3],
                      "step_size_up": 20, "step_size_down": 13, "mode": "triangular2",
                      "base_momentum": [0.8, 0.4], "max_momentum": 0.9},
    },
    "multi-group-step": {
        "steps": 50,
        "optimizer": {"param_groups": [{"lr": 0.3}, {"lr": 0.03}, {"lr": 0.003}]},
        "scheduler": {"type": "step", "step_size": 7},
    },
    "multi-group-lambda": {
        "steps": 60,
        "optimizer": {"param_groups": [{"lr": 0.1}, {"lr": 0.2}]},
        "scheduler": {"type": "lambda", "lr_lambda": ["0.95 ** epoch",
                                                      "1 if epoch < 10 else 0.5"]},
    },
    "multiplicative": {
        "steps": 60,
        "scheduler": {"type": "multiplicative", "lr_lambda": "0.99 if epoch % 5 else 0.9"},
    },
    "cyclic-scale-fn-cycle": {
        "steps": 200,
        "scheduler": {"type": "cyclic", "base_lr": 1e-3, "max_lr": 1e-1, "step_size_up": 15,
                      "scale_fn": "1 / (2 ** (x - 1))"},
    },
    "cyclic-scale-fn-iterations": {
        "steps": 200,
        "scheduler": {"type": "cyclic", "base_lr": 1e-3, "max_lr": 1e-1, "step_size_up": 15,
                      "scale_fn": "0.99 ** x", "scale_mode": "iterations",
                      "cycle_momentum": False},
    },
    "cyclic-exp-range-adam": {
        "steps": 120,
        "optimizer": {"type": "Adam", "lr": 1e-3},
        "scheduler": {"type": "cyclic", "base_lr": 1e-4, "max_lr": 1e-2, "step_size_up": 10,
                      "mode": "exp_range", "gamma": 0.99},
    },
    "onecycle-adam": {
        "steps": 100,
        "optimizer": {"type": "Adam", "lr": 1e-3, "momentum": 0.9},
        "scheduler": {"type": "onecycle", "max_lr": 0.01, "pct_start": 0.25},
    },
    "onecycle-epochs-three-phase": {
        "steps": 120, "steps_per_epoch": 12,
        "optimizer": {"type": "AdamW", "param_groups": [{"lr": 1e-3}, {"lr": 1e-4}]},
        "scheduler": {"type": "OneCycleLR", "max_lr": [0.01, 0.001], "epochs": 10,
                      "steps_per_epoch": 12, "three_phase": True,
                      "anneal_strategy": "linear", "base_momentum": [0.85, 0.8]},
    },
    "onecycle-sgd-nesterov": {
        "steps": 50,
        "optimizer": {"type": "SGD", "lr": 0.1, "momentum": 0.9, "nesterov": True},
        "scheduler": {"type": "onecycle", "max_lr": 0.5, "div_factor": 10,
                      "final_div_factor": 100},
    },
    "plateau": {
        "scheduler": {"type": "plateau", "factor": 0.5, "patience": 1, "cooldown": 1,
                      "min_lr": 0.01},
        "metric": {"values": [1.0, 0.9, 0.9, 0.9, 0.8, 0.8, 0.8, 0.8, 0.7, 0.7, 0.7, 0.7]},
    },
    "plateau-epochs-max": {
        "steps": 40, "steps_per_epoch": 4,
        "optimizer": {"param_groups": [{"lr": 0.1}, {"lr": 0.05}]},
        "scheduler": {"type": "ReduceLROnPlateau", "interval": "epoch", "mode": "max",
                      "patience": 0, "threshold_mode": "abs", "min_lr": [0.001, 0.02]},
        "metric": {"values": [0.1, 0.2, 0.2, 0.2, 0.3, 0.3, 0.3, 0.3, 0.35, 0.35]},
    },
    "warmup-cosine": {
        "steps": 100, "warmup": {"steps": 10, "start_factor": 0.1},
        "scheduler": {"type": "cosine", "eta_min": 1e-3},
    },
    "warmup-onecycle-epochs": {
        "steps": 60, "steps_per_epoch": 3, "warmup": {"steps": 4},
        "optimizer": {"type": "Adam", "lr": 1e-3},
        "scheduler": {"type": "onecycle", "interval": "epoch", "max_lr": 0.01},
    },
    "warmup-plateau-generator": {
        "steps": 80, "warmup": {"steps": 8},
        "scheduler": {"type": "plateau", "patience": 2},
        "metric": {"generator": "staircase", "length": 10, "seed": 3},
    },
    "warmup-plateau-epochs": {
        "steps": 60, "steps_per_epoch": 3, "warmup": {"steps": 4, "start_factor": 0.5},
        "scheduler": {"type": "plateau", "interval": "epoch", "mode": "max", "patience": 1},
    },
    "lambda-epochs": {
        "steps": 50, "steps_per_epoch": 5,
        "scheduler": {"type": "lambda", "interval": "epoch", "lr_lambda": "epoch ** 0.5 + 1"},
    },
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_generated_code_matches_simulation(name: str) -> None:
    assert_same(CASES[name])


@pytest.mark.parametrize("path", CONFIGS, ids=[p.stem for p in CONFIGS])
def test_every_config(path: Path) -> None:
    assert_same(lrviz.load_spec(path))


@pytest.mark.parametrize("text", EXPRESSIONS)
def test_lambda_schedules(text: str) -> None:
    code = assert_same({"steps": 40, "scheduler": {"type": "lambda", "lr_lambda": text}})
    assert "lambda epoch:" in code


@pytest.mark.parametrize("text", EXPRESSIONS)
def test_lambda_equals_evaluator_bit_for_bit(text: str) -> None:
    expression = parse_expression(text, "epoch")
    function = eval(python_lambda(expression), {"math": math})
    inputs: list[float] = [*range(-3, 60), 2**40, 1234567, 0.5, -0.0, 2.75, 1e6 + 0.25]
    for value in inputs:
        try:
            want = expression(value)
        except ExpressionError:
            with pytest.raises((ArithmeticError, ValueError)):
                function(value)
            continue
        got = function(value)
        assert isinstance(got, float), (text, value, got)
        assert bits(got) == bits(want), (text, value, got, want)


def _random_expression(rng: random.Random, depth: int = 0) -> str:
    if depth > 3 or rng.random() < 0.25:
        return rng.choice(["x", "x", "2", "0.5", "3", "0", "pi", "1e-3", "-1"])
    a, b = _random_expression(rng, depth + 1), _random_expression(rng, depth + 1)
    return rng.choice([
        f"({a} + {b})", f"({a} - {b})", f"({a} * {b})", f"({a} / {b})", f"({a} // {b})",
        f"({a} % {b})", f"({a} ** {b})", f"-{a}", f"+{a}", f"(not {a})", f"({a} < {b})",
        f"({a} == {b} != x)", f"({a} if {b} else x)", f"({a} and {b})", f"({a} or {b})",
        f"min({a}, {b})", f"max({a}, {b}, x)", f"abs({a})", f"round({a})", f"floor({a})",
        f"ceil({a})", f"math.trunc({a})", f"cos({a})", f"copysign(1, {a})", f"atan2({a}, {b})",
        f"fmod({a}, {b})", f"math.sqrt(abs({a}))", f"exp(min({a}, 50))",
    ])


def test_random_expressions_equal_evaluator_bit_for_bit() -> None:
    rng = random.Random(20240611)
    inputs = [*range(0, 12), 17, 100, 123457, 98765431, 2**45]
    for _ in range(400):
        text = _random_expression(rng)
        expression = parse_expression(text, "x")
        source = python_lambda(expression)
        function = eval(source, {"math": math})
        for value in inputs:
            try:
                want = expression(value)
            except ExpressionError:
                with pytest.raises((ArithmeticError, ValueError)):
                    function(value)
                continue
            got = function(value)
            assert isinstance(got, float) and bits(got) == bits(want), (text, source, value)


def test_lambda_reads_like_python() -> None:
    def show(text: str, variable: str = "epoch") -> str:
        return python_lambda(parse_expression(text, variable))

    assert show("0.95 ** epoch") == "lambda epoch: math.pow(0.95, epoch)"
    assert show("1 - epoch / 100") == "lambda epoch: 1.0 - epoch / 100.0"
    assert show("cos(pi * x)", "x") == "lambda x: math.cos(math.pi * x)"
    assert show("1 if epoch < 10 else 0.1") == "lambda epoch: 1.0 if epoch < 10.0 else 0.1"
    assert show("epoch") == "lambda epoch: float(epoch)"
    assert show("-epoch") == "lambda epoch: -float(epoch)"
    assert show("epoch * epoch") == "lambda epoch: float(epoch) * epoch"
    assert show("round(epoch / 2)") == "lambda epoch: float(round(epoch / 2.0))"
    assert show("(epoch > 3) + 1") == "lambda epoch: float(epoch > 3.0) + 1.0"


def test_snippet_shape() -> None:
    spec = lrviz.as_spec(CASES["chained-nested-duplicates"])
    code = python_code(spec)
    assert code.count("linear_lr = LinearLR(") == 1
    assert code.count("linear_lr_2 = LinearLR(") == 1
    assert "scheduler = ChainedScheduler(" in code
    assert "schedulers=[sequential_lr, multi_step_lr], optimizer=optimizer" in code
    assert "from torch.optim.lr_scheduler import ChainedScheduler, LinearLR" in code
    assert "import math" not in code
    assert "# for step in range(120):" in code

    adam = python_code(lrviz.as_spec(CASES["onecycle-adam"]))
    assert "betas=(0.9, 0.999)" in adam and "momentum" not in adam.split("scheduler =")[0]
    assert "total_steps=100" in adam

    groups = python_code(lrviz.as_spec(CASES["multi-group-cyclic"]))
    assert "params = [torch.nn.Parameter(torch.zeros(1)) for _ in range(2)]" in groups
    assert '{"params": [params[1]], "lr": 0.01, "momentum": 0.5}' in groups

    swa = python_code(lrviz.as_spec(CASES["swa"]))
    assert "from torch.optim.swa_utils import SWALR" in swa

    plateau = python_code(lrviz.as_spec(CASES["plateau-epochs-max"]))
    assert "#     scheduler.step(val_loss)" in plateau
    assert "# for epoch in range(10):" in plateau

    warm = python_code(lrviz.as_spec(CASES["warmup-plateau-generator"]))
    assert "warmup = LinearLR(optimizer, start_factor=0.01, end_factor=1.0, total_iters=8)" in warm
    assert "#     if step < 8:\n#         warmup.step()\n#     else:\n" in warm
    warm = python_code(lrviz.as_spec(CASES["warmup-cosine"]))
    assert "schedulers=[warmup, cosine_annealing_lr], milestones=[10]" in warm

    lam = python_code(lrviz.as_spec(CASES["multi-group-lambda"]))
    assert "import math\n\nimport torch\n" in lam


def test_snippets_are_deterministic_and_ruff_clean(tmp_path: Path) -> None:
    specs = [lrviz.as_spec(raw) for raw in CASES.values()]
    specs += [lrviz.load_spec(path) for path in CONFIGS]
    for i, spec in enumerate(specs):
        code = python_code(spec)
        assert code == python_code(spec)
        assert all(len(line) <= 100 for line in code.splitlines()), code
        (tmp_path / f"snippet_{i}.py").write_text(code, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", "--config",
         str(ROOT / "pyproject.toml"), str(tmp_path)],
        capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_import_is_light() -> None:
    code = "import sys, lrviz.code; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
