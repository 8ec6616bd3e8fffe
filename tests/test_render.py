"""Figures through matplotlib objects, the terminal plot, tables and their change points."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from rich.console import Console
from typer.testing import CliRunner

import lrviz
from lrviz.cli import app
from lrviz.events import events
from lrviz.render.figure import envelope, figure
from lrviz.render.terminal import render

CYCLIC = {"steps": 400, "scheduler": {"type": "cyclic", "base_lr": 1e-4, "max_lr": 1e-2,
                                      "step_size_up": 100}}
STEP = {"steps": 100, "scheduler": {"type": "step", "step_size": 30, "gamma": 0.5}}


def _lines(ax):  # type: ignore[no-untyped-def]
    return [line for line in ax.get_lines() if line.get_linestyle() != ":"]


def test_cyclic_has_lr_and_momentum_panels() -> None:
    fig = figure(lrviz.simulate(CYCLIC))
    lr_ax, mom_ax = fig.axes[:2]
    assert lr_ax.get_ylabel() == "learning rate"
    assert mom_ax.get_ylabel() == "momentum"
    assert len(_lines(lr_ax)) == 1 and len(_lines(mom_ax)) == 1


def test_step_has_one_panel_with_drop_markers() -> None:
    trace = lrviz.simulate(STEP)
    fig = figure(trace)
    assert len(fig.axes) == 1
    ax = fig.axes[0]
    drops = sorted(line.get_xdata()[0] for line in ax.get_lines() if line.get_linestyle() == ":")
    assert drops == [30, 60, 90]
    assert [t.get_text().strip() for t in ax.texts] == ["lr x 0.5"]  # written once
    assert "initial 0.1 · peak 0.1 at step 0 · final 0.0125" in ax.get_title(loc="right")


def test_param_groups_get_a_line_and_legend_each() -> None:
    spec = {**STEP, "optimizer": {"param_groups": [{"lr": 0.1}, {"lr": 0.01}]}}
    ax = figure(lrviz.simulate(spec)).axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["group 0 (lr 0.1)", "group 1 (lr 0.01)"]


def test_epoch_axis_and_metric_panel() -> None:
    spec = {"steps": 40, "steps_per_epoch": 4,
            "scheduler": {"type": "plateau", "interval": "epoch", "patience": 1},
            "metric": {"values": [1.0] * 10}}
    fig = figure(lrviz.simulate(spec))
    assert [ax.get_ylabel() for ax in fig.axes[:2]] == ["learning rate", "metric"]
    assert any(ax.get_xlabel() == "epoch" for ax in fig.axes[0].child_axes)


@pytest.mark.parametrize(("plot", "scale"), [({}, "linear"), ({"log_y": True}, "log")])
def test_log_y_from_spec(plot: dict[str, bool], scale: str) -> None:
    ax = figure(lrviz.simulate({**STEP, "plot": plot})).axes[0]
    assert ax.get_yscale() == scale


def test_many_decades_turn_log_on_by_themselves() -> None:
    trace = lrviz.simulate({"steps": 200, "scheduler": {"type": "exponential", "gamma": 0.9}})
    assert figure(trace).axes[0].get_yscale() == "log"


def test_envelope_keeps_peaks_of_a_million_steps() -> None:
    values = np.zeros(1_000_000)
    values[123_457] = 1.0
    x, y = envelope(values)
    assert len(x) <= 8000 and y.max() == 1.0


@pytest.mark.parametrize("width", [60, 100, 160])
def test_terminal_plot_fits_the_width(width: int) -> None:
    console = Console(width=width, record=True, color_system=None)
    render(lrviz.simulate(CYCLIC), console)
    lines = console.export_text().splitlines()
    assert len(lines) > 12
    assert max(len(line) for line in lines) <= width
    assert any("⠀" in line or "⣀" in line for line in lines)


def test_plot_terminal_flag_draws_in_the_terminal(runner: CliRunner, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["plot", "cosine", "--t-max", "100", "--steps", "100",
                                 "--terminal"])
    assert result.exit_code == 0, result.output
    assert "┤" in result.stdout and "step" in result.stdout
    assert list(tmp_path.iterdir()) == []  # --terminal alone writes no file


def test_events_of_composites() -> None:
    spec = lrviz.as_spec("configs/warmup_cosine.yaml")
    labels = [(e.step, e.kind) for e in events(spec)]
    assert labels == [(100, "milestone")]
    restarts = lrviz.as_spec("configs/cosine_warm_restarts.yaml")
    assert [e.step for e in events(restarts)] == [10, 30]


def test_table_lists_the_changes(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "t.md"
    result = runner.invoke(app, ["table", "step", "--step-size", "30", "--gamma", "0.5",
                                 "--steps", "100", "-o", str(out)])
    assert result.exit_code == 0, result.output
    steps = [line.split()[0] for line in result.stdout.splitlines()[1:] if line.strip()
             and line.split()[0].isdigit()]
    assert steps == ["0", "30", "60", "90", "99"]
    md = out.read_text().splitlines()
    assert md[0] == "| step | lr | event |"
    assert md[3] == "| 30 | 0.05 | StepLR: lr x 0.5 |"


def test_table_every_and_all(runner: CliRunner) -> None:
    every = runner.invoke(app, ["table", "step", "--step-size", "30", "--steps", "100",
                                "--every", "25"])
    assert [ln.split()[0] for ln in every.stdout.splitlines()[1:]] == ["0", "25", "50", "75",
                                                                       "99"]
    everything = runner.invoke(app, ["table", "step", "--step-size", "30", "--steps", "10",
                                     "--all"])
    assert len(everything.stdout.splitlines()) == 11
    bad = runner.invoke(app, ["table", "step", "--step-size", "30", "--every", "0"])
    assert bad.exit_code == 2
    assert bad.stderr.strip() == "error: --every: expected an integer >= 1, got '0'"


def test_long_changing_table_is_thinned_with_a_note(runner: CliRunner) -> None:
    result = runner.invoke(app, ["table", "cosine", "--t-max", "1000", "--steps", "1000"])
    assert result.exit_code == 0
    assert len(result.stdout.splitlines()) <= 45
    assert "--all for every row" in result.stderr


def test_progress_is_reported_in_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    from lrviz import engine

    monkeypatch.setattr(engine, "PROGRESS_CHUNK", 30)
    done: list[int] = []
    spec = lrviz.as_spec(STEP)
    trace = engine.simulate(spec, progress=done.append)
    assert done == [30, 60, 90, 100]
    assert np.array_equal(trace.lrs, lrviz.simulate(STEP).lrs)


def test_no_progress_bar_when_piped(runner: CliRunner, tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from lrviz import cli

    monkeypatch.setattr(cli, "PROGRESS_STEPS", 10)
    result = runner.invoke(app, ["plot", "step", "--step-size", "3", "--gamma", "0.5",
                                 "--steps", "50", "-o", str(tmp_path / "x.csv")])
    assert result.exit_code == 0
    assert result.stderr == ""


def test_warnings_are_marked_on_the_figure() -> None:
    trace = lrviz.simulate({"steps": 150, "scheduler": {"type": "cosine", "T_max": 100,
                                                         "eta_min": 0.001}})
    fig = figure(trace)
    legend = fig.legends[0]
    texts = [t.get_text() for t in legend.get_texts()]
    assert len(texts) == 1 and texts[0].startswith("warning at step 101: CosineAnnealingLR")
    markers = [line for line in fig.axes[0].get_lines() if line.get_marker() == "^"]
    assert [tuple(line.get_xdata()) for line in markers] == [(101,)]


def test_a_clean_schedule_has_no_finding_marks() -> None:
    trace = lrviz.simulate({"steps": 100, "scheduler": {"type": "cosine", "T_max": 99}})
    assert not figure(trace).legends
