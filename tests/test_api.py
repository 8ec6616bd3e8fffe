"""The Python API a notebook uses: simulate() on a path, a mapping or a Spec."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from typer.testing import CliRunner

import lrviz
from lrviz.cli import app

ROOT = Path(__file__).resolve().parent.parent


def test_simulate_accepts_a_path_a_mapping_and_a_spec() -> None:
    path = ROOT / "configs" / "cosine.yaml"
    by_path = lrviz.simulate(str(path))
    by_spec = lrviz.simulate(lrviz.load_spec(path))
    by_dict = lrviz.simulate({"steps": 150, "optimizer": {"type": "SGD", "lr": 0.1},
                              "scheduler": {"type": "cosine", "T_max": 100, "eta_min": 0.001}})
    assert np.array_equal(by_path.lr, by_spec.lr) and np.array_equal(by_path.lr, by_dict.lr)
    assert by_path.lr.shape == (150,) and by_path.steps == 150
    assert by_path.momentum is None and by_path.metric is None


def test_param_groups_give_one_column_each() -> None:
    trace = lrviz.simulate({"steps": 5, "optimizer": {"param_groups": [{"lr": 0.1}, {"lr": 1}]},
                            "scheduler": {"type": "step", "step_size": 2}})
    assert trace.lr.shape == (5, 2)
    assert trace.lr[0].tolist() == [0.1, 1.0]


def test_to_csv_is_the_cli_csv(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "c.csv"
    runner.invoke(app, ["plot", str(ROOT / "configs" / "cyclic_triangular.yaml"), "-o", str(out)])
    trace = lrviz.simulate(ROOT / "configs" / "cyclic_triangular.yaml")
    assert trace.to_csv() == out.read_text()
    trace.to_csv(tmp_path / "again.csv")
    assert (tmp_path / "again.csv").read_text() == out.read_text()


def test_plot_and_notebook_display() -> None:
    trace = lrviz.simulate(ROOT / "configs" / "onecycle.yaml")
    assert isinstance(trace.plot(), Figure)
    html = trace._repr_html_()
    assert html.startswith("<figure><svg") and "onecycle: OneCycleLR" in html
    assert repr(trace) == "Trace('onecycle', OneCycleLR, steps=1000, groups=1)"


def test_errors_are_lrviz_errors() -> None:
    try:
        lrviz.simulate({"scheduler": {"type": "step", "step_size": 0}})
    except lrviz.SpecError as exc:
        assert str(exc) == "scheduler.step_size: expected an integer >= 1, got 0"
    else:
        raise AssertionError("no error")


def test_dir_lists_the_public_names() -> None:
    assert set(lrviz.__all__) <= set(dir(lrviz))
    assert "simulate" in dir(lrviz) and "TYPE_CHECKING" not in dir(lrviz)
