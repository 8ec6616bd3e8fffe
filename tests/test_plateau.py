"""ReduceLROnPlateau: synthetic metrics, the replayed bookkeeping, warmup, epochs."""

from __future__ import annotations

import csv
import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from torch.optim.lr_scheduler import CosineAnnealingLR, LinearLR, ReduceLROnPlateau, SequentialLR
from typer.testing import CliRunner

import lrviz
from lrviz.cli import app
from lrviz.metrics import GENERATORS, generate
from lrviz.plateau import replay
from lrviz.render.figure import figure


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_generators_are_deterministic_per_seed(name: str) -> None:
    noisy = {"noise": 0.05}
    a, b = generate(name, 100, 3, **noisy), generate(name, 100, 3, **noisy)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, generate(name, 100, 4, **noisy))


def test_generator_shapes() -> None:
    loss = generate("plateau-loss", 200, noise=0)
    assert loss[0] == 1.0 and np.all(np.diff(loss) < 0) and loss[-1] == pytest.approx(0.3, 0.01)
    stairs = generate("staircase", 90, noise=0, length=30)
    assert len(set(stairs.tolist())) == 3
    acc = generate("accuracy", 100, noise=0)
    assert np.all(np.diff(acc) > 0)


def _torch_plateau(values: list[float], steps: int, **kwargs: object) -> list[float]:
    param = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([param], lr=0.1, momentum=0.9)
    sched = ReduceLROnPlateau(opt, **kwargs)  # type: ignore[arg-type]
    out = []
    for k in range(steps):
        out.append(opt.param_groups[0]["lr"])
        sched.step(values[k])
    return out


CASES = [
    {},
    {"threshold_mode": "abs", "threshold": 0.01},
    {"cooldown": 5, "patience": 3},
    {"min_lr": 0.002, "patience": 2},
    {"eps": 0.005, "patience": 2, "factor": 0.5},
    {"mode": "max", "patience": 4},
]


@pytest.mark.parametrize("params", CASES, ids=[str(c) for c in CASES])
def test_reductions_match_torch_and_the_replay_explains_them(params: dict[str, object]) -> None:
    name = "accuracy" if params.get("mode") == "max" else "plateau-loss"
    spec = {"steps": 300, "scheduler": {"type": "plateau", **params},
            "metric": {"generator": name, "seed": 7, "noise": 0.02}}
    trace = lrviz.simulate(spec)
    values = trace.metric.tolist()  # type: ignore[union-attr]
    assert trace.lr.tolist() == _torch_plateau(values, 300, **params)
    cut_rows = {d.row + 1 for d in replay(trace) if d.reduced}
    changed = {k for k in range(1, 300) if trace.lr[k] != trace.lr[k - 1]}
    assert cut_rows - {300} == changed
    assert changed, "every case is built to cut at least once"


def test_floor_and_eps_are_explained() -> None:
    spec = {"steps": 200, "scheduler": {"type": "plateau", "patience": 1, "min_lr": 0.01},
            "metric": {"generator": "constant"}}
    actions = [d.action for d in replay(lrviz.simulate(spec)) if d.action]
    assert actions[0] == "cut" and "at floor" in actions
    spec = {"steps": 200, "scheduler": {"type": "plateau", "patience": 1, "eps": 0.05},
            "metric": {"generator": "constant"}}
    actions = [d.action for d in replay(lrviz.simulate(spec)) if d.action]
    assert actions[0] == "cut" and actions[1] == "skipped"


def _sgd() -> torch.optim.SGD:
    return torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1, momentum=0.9)


def test_warmup_then_plateau_is_exact() -> None:
    values = generate("plateau-loss", 100, 0)
    spec = {"steps": 120, "warmup": {"steps": 20, "start_factor": 0.05},
            "scheduler": {"type": "plateau", "patience": 3},
            "metric": {"values": values.tolist()}}
    trace = lrviz.simulate(spec)
    opt = _sgd()
    warm = LinearLR(opt, start_factor=0.05, end_factor=1.0, total_iters=20)
    plateau = ReduceLROnPlateau(opt, patience=3)
    expected = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for k in range(120):
            expected.append(opt.param_groups[0]["lr"])
            if k < 20:
                warm.step()
            else:
                plateau.step(values[k - 20])
    assert trace.lr.tolist() == expected
    assert np.isnan(trace.metric[:20]).all() and trace.metric[20] == values[0]  # type: ignore[index]


def test_warmup_then_cosine_is_exact() -> None:
    trace = lrviz.simulate({"steps": 500, "warmup": {"steps": 50},
                            "scheduler": {"type": "cosine", "eta_min": 0.001}})
    opt = _sgd()
    sched = SequentialLR(opt, [LinearLR(opt, start_factor=0.01, end_factor=1.0, total_iters=50),
                               CosineAnnealingLR(opt, T_max=450, eta_min=0.001)], [50])
    expected = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(500):
            expected.append(opt.param_groups[0]["lr"])
            sched.step()
    assert trace.lr.tolist() == expected


def test_one_metric_per_epoch() -> None:
    trace = lrviz.simulate({"steps": 40, "steps_per_epoch": 10,
                            "scheduler": {"type": "plateau", "interval": "epoch"}})
    fed = np.flatnonzero(~np.isnan(trace.metric))  # type: ignore[arg-type]
    assert fed.tolist() == [9, 19, 29, 39]


def test_plateau_figure_has_a_metric_panel_and_marks_cuts() -> None:
    trace = lrviz.simulate({"steps": 300, "scheduler": {"type": "plateau"},
                            "metric": {"generator": "plateau-loss", "seed": 1}})
    fig = figure(trace)
    lr_ax, metric_ax = fig.axes[:2]
    assert metric_ax.get_ylabel() == "metric"
    labels = [t.get_text() for t in metric_ax.get_legend().get_texts()]
    assert labels == ["metric fed", "best so far", "threshold to beat",
                      "lr cut after this value"]
    assert any(line.get_linestyle() == ":" for line in lr_ax.get_lines())  # cut markers


def test_warmup_end_is_marked() -> None:
    from lrviz.events import events

    spec = lrviz.as_spec({"steps": 100, "warmup": {"steps": 10}, "scheduler": {"type": "cosine"}})
    assert [(e.step, e.kind) for e in events(spec)] == [(10, "warmup")]


def test_done_when_seeded_plateau_run(runner: CliRunner, tmp_path: Path) -> None:
    def run(seed: str, name: str) -> list[dict[str, str]]:
        out = tmp_path / f"{name}.csv"
        result = runner.invoke(app, ["plot", "plateau", "--steps", "300", "--seed", seed,
                                     "-o", str(out), "-o", str(tmp_path / f"{name}.svg")])
        assert result.exit_code == 0, result.output
        return list(csv.DictReader(out.read_text().splitlines()))

    first, again, other = run("1", "a"), run("1", "b"), run("2", "c")
    assert list(first[0]) == ["step", "lr", "metric"]
    assert len({row["lr"] for row in first}) > 1
    assert first == again and first != other
    assert (tmp_path / "a.svg").read_bytes() == (tmp_path / "b.svg").read_bytes()


def test_plateau_help_documents_metric_options(runner: CliRunner) -> None:
    text = runner.invoke(app, ["plot", "plateau", "--help"]).stdout
    for flag in ("--metric ", "--metric-param", "--metric-file", "--metric-column", "--seed",
                 "--warmup"):
        assert flag in text


def test_default_metric_is_announced(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["plot", "plateau", "--steps", "50", "-o",
                                 str(tmp_path / "x.csv")])
    assert "metric not given: feeding the synthetic `plateau-loss` metric (seed 0)" in \
        result.stderr


@pytest.mark.parametrize(("values", "said"), [
    ([1.0, 0.5, float("nan"), 0.2], "metric.values[2]: expected a finite number"),
    ([1.0, 2**60, 0.5], "metric.values[1]: expected a finite number"),
    ([1.0, True, 0.5], "metric.values[1]: expected a number, got true"),
    ([1.0, "x", 0.5], "metric.values[1]: expected a number"),
])
def test_a_long_metric_list_is_checked_at_once_and_a_bad_value_named(
        values: list[Any], said: str) -> None:
    from lrviz.api import as_spec
    from lrviz.errors import SpecError

    values = [*values, *([0.1] * 1000)]
    with pytest.raises(SpecError, match=re.escape(said)):
        as_spec({"scheduler": {"type": "ReduceLROnPlateau"}, "metric": {"values": values}})


def test_plain_numbers_become_the_same_floats_as_one_by_one() -> None:
    from lrviz.api import as_spec

    values = [1, 0.5, 3, 1e-300, -2.5] * 200
    spec = as_spec({"scheduler": {"type": "ReduceLROnPlateau"}, "metric": {"values": values}})
    assert spec.metric is not None
    assert spec.metric.values[:1000] == tuple(float(v) for v in values)
    assert all(type(v) is float for v in spec.metric.values)
