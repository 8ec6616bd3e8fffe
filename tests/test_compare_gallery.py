"""compare (overlay, grid, sweeps, wide CSV, summary) and gallery (render, index, --check)."""

from __future__ import annotations

import csv
import json
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


# --- logged runs among compare's inputs ---------------------------------------------------

RUNS = ROOT / "tests" / "runs_data"
COSINE = str(RUNS / "cosine.yaml")


def _outputs(folder: Path, *suffixes: str) -> list[str]:
    return [a for s in suffixes for a in ("-o", str(folder / f"cmp{s}"))]


def test_runs_are_drawn_at_the_optimizer_step_of_each_logged_lr(
    runner: CliRunner, tmp_path: Path
) -> None:
    """HF's step N is the lr optimizer step N-1 used, Lightning's step k optimizer step k;
    an event file does not say, so its steps are drawn as logged. These runs followed
    cosine.yaml, so each logged lr sits on the spec's own row."""
    inputs = [COSINE, str(RUNS / "hf_follows"), str(RUNS / "lightning_follows" / "metrics.csv"),
              str(next((RUNS / "tb_follows").iterdir()))]
    result = runner.invoke(app, ["compare", *inputs, *_outputs(tmp_path, ".csv", ".json",
                                                                ".md")])
    assert result.exit_code == 0, result.output
    rows = list(csv.reader((tmp_path / "cmp.csv").read_text().splitlines()))
    assert rows[0] == ["step", "cosine", "hf_follows", "lightning_follows", "tb_follows"]
    assert len(rows) == 1 + 40
    plan = [float(r[1]) for r in rows[1:]]
    logged = {name: {int(r[0]): float(r[c]) for r in rows[1:] if r[c] != ""}
              for c, name in enumerate(rows[0]) if c > 1}
    assert sorted(logged["hf_follows"]) == list(range(1, 32, 2))  # logging_steps 2: 2, 4...
    assert sorted(logged["lightning_follows"]) == list(range(32))
    assert sorted(logged["tb_follows"]) == list(range(40))
    for step, lr in logged["hf_follows"].items():
        assert lr == pytest.approx(plan[step], rel=1e-12)
    assert all(lr == plan[k] for k, lr in logged["lightning_follows"].items())
    assert all(lr == np.float32(plan[k]) for k, lr in logged["tb_follows"].items())

    lines = result.stdout.splitlines()
    hf = next(line for line in lines if line.startswith("hf_follows"))
    assert hf.split() == ["hf_follows", "logged", "learning_rate", "16", "logged", "0.09985",
                          "0.09985", "(1)", "0.01198", "0.01198"]
    table = (tmp_path / "cmp.md").read_text().splitlines()
    assert table[3] == ("| hf\\_follows | logged learning\\_rate | 16 logged |  | 0.09985 | "
                        "0.09985 (1) | 0.01198 | 0.01198 |  |  |  |")
    document = json.loads((tmp_path / "cmp.json").read_text())
    assert [s["name"] for s in document["meta"]["specs"]] == ["cosine"]
    assert [(r["name"], r["format"], r["tag"]) for r in document["meta"]["runs"]] == [
        ("hf_follows", "hf", "learning_rate"), ("lightning_follows", "lightning", "lr-SGD"),
        ("tb_follows", "tensorboard", "lr")]
    summary = document["summary"][1]
    assert (summary["steps"], summary["mean"], summary["run"]["logged"],
            summary["run"]["first_step"], summary["run"]["last_step"]) == (None, [None], 16, 1, 31)
    series = document["series"]["hf_follows"]
    assert series[0] is None and series[1] == logged["hf_follows"][1]


def test_a_run_in_the_overlay_and_the_grid() -> None:
    from lrviz.compare import load_inputs
    from lrviz.compare_runs import LoggedCurve

    items = load_inputs([COSINE, str(RUNS / "hf_scheduler_only")], [])
    assert isinstance(items[1], LoggedCurve)
    drawn = [items[0] if isinstance(items[0], LoggedCurve) else simulate(items[0]), items[1]]
    lines = figure(drawn).axes[0].get_lines()
    assert [line.get_label() for line in lines] == ["cosine", "hf_scheduler_only (logged)"]
    x = lines[1].get_xdata()
    assert x[0] == 0.5 and x[-1] == 31.5  # step k's lr in the middle of the step
    assert lines[1].get_marker() == "o"
    grid = [ax for ax in figure(drawn, "grid").axes if ax.get_visible()]
    assert [ax.get_title(loc="left") for ax in grid] == [
        "cosine", "hf_scheduler_only (logged learning_rate)"]


def test_a_file_both_a_spec_and_a_run_is_refused_in_one_line(
    runner: CliRunner, tmp_path: Path
) -> None:
    both = tmp_path / "args.json"  # TrainingArguments with a log_history beside them
    both.write_text(json.dumps({
        "lr_scheduler_type": "cosine", "learning_rate": 0.1, "max_steps": 4,
        "log_history": [{"step": s, "learning_rate": 0.1} for s in (1, 2, 3)]}))
    out = _outputs(tmp_path, ".csv", ".png")
    refused = runner.invoke(app, ["compare", COSINE, str(both), *out])
    assert refused.exit_code == 2
    assert refused.stderr == (
        f"error: {both}: ambiguous: it reads both as a spec (HF TrainingArguments "
        "(lr_scheduler_type:, learning_rate:, ...)) and as a run log (an HF Trainer "
        "trainer_state.json); name it with --run to draw the logged lr, or with --from hf "
        "to read it as a spec\n")
    assert not list(tmp_path.glob("cmp*"))
    as_run = runner.invoke(app, ["compare", COSINE, "--run", str(both), *out])
    assert as_run.exit_code == 0, as_run.output
    assert (tmp_path / "cmp.csv").read_text().splitlines()[0] == "step,cosine,args"
    as_spec = runner.invoke(app, ["compare", str(both), "--from", "hf", *out])
    assert "needs a flag: the dataset's size" in as_spec.stderr  # read as TrainingArguments


def test_with_runs_the_outputs_do_not_depend_on_jobs(runner: CliRunner, tmp_path: Path) -> None:
    inputs = [str(ROOT / "configs" / "step.yaml"), COSINE, str(RUNS / "hf_follows"),
              str(RUNS / "mlflow_db"), str(RUNS / "lightning_micro")]
    written = {}
    for jobs in ("1", "2"):
        folder = tmp_path / jobs
        folder.mkdir()
        result = runner.invoke(app, ["compare", *inputs, "--jobs", jobs,
                                     *_outputs(folder, ".csv", ".json", ".svg", ".png", ".md")])
        assert result.exit_code == 0, result.output
        written[jobs] = {p.name: p.read_bytes() for p in folder.iterdir()}
    assert written["1"] == written["2"] and len(written["1"]) == 5


def test_a_run_that_cannot_be_read_writes_nothing(runner: CliRunner, tmp_path: Path) -> None:
    table = tmp_path / "wandb.csv"
    table.write_text("Step,loss\n1,0.5\n")
    other = tmp_path / "notes.yaml"
    other.write_text("x: 1\n")
    for bad, line in [
        (table, f"error: {table}: no learning-rate column found (learning_rate, lr, lr-AdamW, "
                "...); it has 'loss': choose one with --lr-column\n"),
        (other, f"error: {other}: neither a spec nor a run log lrviz reads: expected a spec "
                "(lrviz, LightningCLI, HF TrainingArguments, axolotl, Hydra, torchtune, "
                "DeepSpeed, mmengine) or a run's log (trainer_state.json, metrics.csv, event "
                "files, MLflow, scalars.json, a CSV/JSONL table with step and lr)\n"),
        (tmp_path, f"error: {tmp_path}: not a run log lrviz reads: expected a folder of "),
    ]:
        result = runner.invoke(app, ["compare", COSINE, str(bad), *_outputs(tmp_path, ".csv")])
        assert result.exit_code == 2
        assert result.stderr.startswith(line) and result.stderr.count("\n") == 1
        assert not (tmp_path / "cmp.csv").exists()
    chosen = runner.invoke(app, ["compare", str(table), "--lr-column", "loss", "--log-y",
                                 *_outputs(tmp_path, ".csv", ".json")])
    assert chosen.exit_code == 0, chosen.output  # runs alone: nothing simulated
    assert (tmp_path / "cmp.csv").read_text() == "step,wandb\n0,\n1,0.5\n"
    assert json.loads((tmp_path / "cmp.json").read_text())["meta"]["torch"] is None
