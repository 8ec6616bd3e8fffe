"""compare (overlay, grid, sweeps, wide CSV, summary) and gallery (render, index, --check)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import lrviz
from lrviz.cli import app
from lrviz.compare import load_specs
from lrviz.engine import simulate
from lrviz.render.compare import figure

ROOT = Path(__file__).resolve().parent.parent
THREE = [str(ROOT / "configs" / f"{n}.yaml") for n in ("cosine", "step", "onecycle")]


def test_compare_three_specs(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "cmp.csv"
    result = runner.invoke(app, ["compare", *THREE, "-o", str(out), "-o",
                                 str(tmp_path / "cmp.png"), "-o", str(tmp_path / "cmp.md")])
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(out.read_text().splitlines()))
    assert rows[0] == ["step", "cosine", "step/lr", "onecycle"]  # spec `step` is not the index
    assert len(rows) == 1 + 1000  # the longest spec sets the shared x axis
    for column, path in enumerate(THREE, start=1):
        expected = lrviz.simulate(path).lr
        got = [float(r[column]) for r in rows[1:] if r[column] != ""]
        assert got == expected.tolist()
    for name in ("cosine", "step", "onecycle"):
        assert name in result.stdout
    assert "lr budget" in result.stdout
    assert (tmp_path / "cmp.md").read_text().startswith("| name | scheduler |")


def test_grid_has_a_panel_per_schedule() -> None:
    traces = [simulate(s) for s in load_specs(THREE)]
    visible = [ax for ax in figure(traces, "grid").axes if ax.get_visible()]
    assert [ax.get_title(loc="left") for ax in visible] == [  # the specs' own titles
        "CosineAnnealingLR, T_max 100 (run to 150)", "StepLR, x0.5 every 30 epochs",
        "OneCycleLR, max_lr 0.1 over 1000 steps"]
    overlay = figure(traces).axes
    assert len(overlay) == 1 and len(overlay[0].get_lines()) == 3


def test_sweep_gives_one_curve_per_value(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "sweep.csv"
    spec = str(ROOT / "configs" / "cyclic_triangular.yaml")
    result = runner.invoke(app, ["compare", spec, "--sweep", "max_lr=0.01,0.005,0.002",
                                 "--steps", "600", "-o", str(out)])
    assert result.exit_code == 0, result.output
    header = out.read_text().splitlines()[0]
    assert header == "step,max_lr=0.01,max_lr=0.005,max_lr=0.002"
    peaks = np.genfromtxt(out, delimiter=",", skip_header=1)[:, 1:].max(axis=0)
    assert peaks.tolist() == [0.01, 0.005, 0.002]


def test_sweep_of_a_dotted_path_and_a_bad_key(runner: CliRunner, tmp_path: Path) -> None:
    spec = str(ROOT / "configs" / "cosine.yaml")
    ok = runner.invoke(app, ["compare", spec, "--sweep", "optimizer.lr=0.1,0.05", "-o",
                             str(tmp_path / "s.csv")])
    assert ok.exit_code == 0, ok.output
    bad = runner.invoke(app, ["compare", spec, "--sweep", "eta_mn=1,2"])
    assert bad.exit_code == 2
    assert bad.stderr.strip() == ("error: --sweep: CosineAnnealingLR has no parameter 'eta_mn' "
                                  "(did you mean 'eta_min'?)")


def test_committed_gallery_is_current(runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    result = runner.invoke(app, ["gallery", "--check"])
    assert result.exit_code == 0, result.output


def _specs(folder: Path) -> Path:
    folder.mkdir()
    (folder / "a.yaml").write_text("steps: 30\nscheduler: {type: StepLR, step_size: 10}\n")
    (folder / "b.yaml").write_text("steps: 30\nscheduler: {type: cosine, T_max: 30}\n")
    return folder


def test_gallery_of_another_folder(runner: CliRunner, tmp_path: Path) -> None:
    specs, out = _specs(tmp_path / "specs"), tmp_path / "out"
    result = runner.invoke(app, ["gallery", str(specs), "-o", str(out), "--svg"])
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in out.iterdir())
    assert names == ["README.md", "a.png", "a.svg", "b.png", "b.svg", "manifest.json"]
    index = (out / "README.md").read_text()
    assert "![a](a.png)" in index and "type: cosine" in index
    assert runner.invoke(app, ["gallery", str(specs), "-o", str(out), "--check"]).exit_code == 0
    (specs / "b.yaml").write_text("steps: 30\nscheduler: {type: cosine, T_max: 20}\n")
    stale = runner.invoke(app, ["gallery", str(specs), "-o", str(out), "--check"])
    assert stale.exit_code == 1
    assert "b: its values changed" in stale.stderr
    (out / "a.png").unlink()
    assert "a: image a.png is missing" in runner.invoke(
        app, ["gallery", str(specs), "-o", str(out), "--check"]).stderr


def test_an_invalid_spec_is_reported_and_nothing_is_written(
    runner: CliRunner, tmp_path: Path
) -> None:
    specs, out = _specs(tmp_path / "specs"), tmp_path / "out"
    (specs / "c.yaml").write_text("scheduler: {type: StepLR, step_size: 0}\n")
    (specs / "d.yaml").write_text("scheduler: {type: StepLR, step_sise: 3}\n")
    result = runner.invoke(app, ["gallery", str(specs), "-o", str(out)])
    assert result.exit_code == 2
    assert "c.yaml: scheduler.step_size: expected an integer >= 1, got 0" in result.stderr
    assert "d.yaml: scheduler.step_sise: unknown key" in result.stderr  # every one is said
    assert not out.exists()


def test_gallery_of_the_notes_examples_is_committed() -> None:
    for name in ("cyclic_triangular", "cyclic_triangular2", "cyclic_exp_range", "cosine",
                 "cosine_warm_restarts", "step", "multistep", "exponential", "plateau"):
        assert (ROOT / "gallery" / f"{name}.png").is_file()
