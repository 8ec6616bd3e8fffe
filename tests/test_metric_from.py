"""ReduceLROnPlateau fed a logged run's metric: ``metric: {run:, tag:}`` and
``--metric-from RUN[:TAG]`` on the logs the frameworks wrote (tests/runs_data).

Expected values are read here with json and csv, not with lrviz's readers."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lrviz.cli import app
from lrviz.flags import _run_and_tag

DATA = Path(__file__).parent / "runs_data"
PLATEAU = ["--mode", "min", "--patience", "1", "--factor", "0.5", "--threshold", "0.01"]


def _hf_loss() -> list[float]:
    state = json.loads((DATA / "hf_follows" / "trainer_state.json").read_text())
    return [float(e["loss"]) for e in state["log_history"] if "loss" in e]


def _lightning_train_loss() -> list[float]:
    with open(DATA / "lightning_follows" / "metrics.csv", newline="") as f:
        return [float(r["train_loss"]) for r in csv.DictReader(f) if r["train_loss"]]


def _column(path: Path, name: str) -> list[float]:
    with open(path, newline="") as f:
        return [float(r[name]) for r in csv.DictReader(f)]


def _plot(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["plot", *args])
    return result.exit_code, result.output


@pytest.mark.parametrize(("run", "expected"), [
    ("hf_follows:loss", _hf_loss),
    ("hf_follows", _hf_loss),  # no eval_loss or val_loss logged: `loss` is next
    ("lightning_follows:train_loss", _lightning_train_loss),
    ("lightning_follows/metrics.csv", _lightning_train_loss),
])
def test_the_metric_column_is_the_logged_values(tmp_path: Path, run: str, expected: object
                                                ) -> None:
    values = expected()  # type: ignore[operator]
    out = tmp_path / "plateau.csv"
    code, output = _plot("plateau", "--metric-from", f"{DATA}/{run}", "--steps",
                         str(len(values)), *PLATEAU, "-o", str(out))
    assert code == 0, output
    assert _column(out, "metric") == values
    assert len(set(_column(out, "lr"))) > 1  # the plateau cut: the values mattered


def test_a_json_lines_table_feeds_its_val_loss_in_logged_step_order(tmp_path: Path) -> None:
    rows = [{"step": 1, "lr": 0.1}, {"step": 2, "val_loss": 0.9}, {"step": 3, "lr": 0.1},
            {"step": 4, "val_loss": 0.95}, {"step": 6, "val_loss": 0.97},
            {"step": 8, "val_loss": 0.5}]
    log = tmp_path / "history.jsonl"
    log.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "plateau.csv"
    code, output = _plot("plateau", "--metric-from", str(log), "--steps", "4", *PLATEAU,
                         "-o", str(out))
    assert code == 0, output
    assert _column(out, "metric") == [0.9, 0.95, 0.97, 0.5]


def test_a_plateau_fed_from_a_log_equals_the_same_values_given_in_the_spec(
    tmp_path: Path,
) -> None:
    shutil.copytree(DATA / "hf_follows", tmp_path / "hf_follows")
    values = _hf_loss()
    head = ("steps: 16\noptimizer: {type: SGD, lr: 0.1}\nscheduler: {type: ReduceLROnPlateau, "
            "patience: 1, factor: 0.5, threshold: 0.01, cooldown: 1}\n")
    (tmp_path / "run.yaml").write_text(head + "metric: {run: hf_follows, tag: loss}\n")
    (tmp_path / "values.yaml").write_text(
        head + "metric: {values: [" + ", ".join(repr(v) for v in values) + "]}\n")
    for name in ("run", "values"):
        code, output = _plot(str(tmp_path / f"{name}.yaml"), "-o", str(tmp_path / f"{name}.csv"))
        assert code == 0, output
    logged = (tmp_path / "run.csv").read_bytes()
    assert logged == (tmp_path / "values.csv").read_bytes()
    assert len(set(_column(tmp_path / "run.csv", "lr"))) > 2


def test_epoch_interval_takes_one_value_per_scheduler_step(tmp_path: Path) -> None:
    out = tmp_path / "plateau.csv"
    code, output = _plot("plateau", "--metric-from", f"{DATA}/hf_follows:loss", "--epochs", "16",
                         "--steps-per-epoch", "3", "--interval", "epoch", *PLATEAU,
                         "-o", str(out))
    assert code == 0, output
    with open(out, newline="") as f:
        fed = [float(r["metric"]) for r in csv.DictReader(f) if r["metric"]]
    assert fed == _hf_loss()  # one per epoch, in logged order
    code, output = _plot("plateau", "--metric-from", f"{DATA}/hf_follows:loss", "--epochs", "17",
                         "--steps-per-epoch", "3", "--interval", "epoch", *PLATEAU,
                         "-o", str(tmp_path / "short.csv"))
    assert code == 2
    assert output == ("error: --metric-from: expected at least 17 metric values (one per "
                      "scheduler step), got 16\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plateau.csv"]


@pytest.mark.parametrize(("run", "message"), [
    ("hf_follows:eval_los", "trainer_state.json: no key 'eval_los'; it has 'grad_norm', "
                            "'learning_rate', 'loss'"),
    ("lightning_follows:val_loss", "metrics.csv: no column 'val_loss'; it has 'epoch', "
                                   "'lr-SGD', 'train_loss'"),
    ("tb_follows", "none of eval_loss, val_loss, validation_loss, loss, train_loss is "
                   "logged; it has 'lr': name one as RUN:TAG"),
    ("missing:loss", "missing: no such run log"),
    ("hf_follows:loss", "expected at least 40 metric values (one per scheduler step), got 16"),
])
def test_refusals_are_one_line_exit_2_and_write_nothing(tmp_path: Path, run: str, message: str
                                                        ) -> None:
    code, output = _plot("plateau", "--metric-from", f"{DATA}/{run}", "--steps", "40",
                         "-o", str(tmp_path / "plateau.csv"), "-o", str(tmp_path / "p.png"))
    assert code == 2, output
    assert output.startswith("error: --metric-from: ") and output.count("\n") == 1, output
    assert message in output
    assert list(tmp_path.iterdir()) == []


def test_an_unreadable_log_is_one_line_exit_2(tmp_path: Path) -> None:
    (tmp_path / "trainer_state.json").write_text('{"log_history": [{"step": 1, "loss": "x"}]}')
    code, output = _plot("plateau", "--metric-from", f"{tmp_path}:loss", "--steps", "1",
                         "-o", str(tmp_path / "plateau.csv"))
    assert code == 2
    assert output == (f"error: --metric-from: {tmp_path}/trainer_state.json: "
                      "log_history[0].loss: expected a number, got \"'x'\"\n")
    assert [p.name for p in tmp_path.iterdir()] == ["trainer_state.json"]


def test_a_metric_that_is_not_finite_is_named_a_value(tmp_path: Path) -> None:
    log = tmp_path / "history.csv"
    log.write_text("step,val_loss\n1,0.5\n2,nan\n")
    code, output = _plot("plateau", "--metric-from", f"{log}:val_loss", "--steps", "2",
                         "-o", str(tmp_path / "plateau.csv"))
    assert code == 2
    assert output == (f"error: --metric-from: {log} (val_loss): the value at step 2 is nan; "
                      "expected a finite number\n")
    assert [p.name for p in tmp_path.iterdir()] == ["history.csv"]


def test_a_spec_names_runs_only_under_its_own_folder(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # the current folder is allowed too
    spec = tmp_path / "spec.yaml"
    spec.write_text(f"steps: 4\nscheduler: {{type: ReduceLROnPlateau}}\n"
                    f"metric: {{run: {DATA}/hf_follows, tag: loss}}\n")
    result = CliRunner().invoke(app, ["plot", str(spec), "-o", str(tmp_path / "p.csv")])
    assert result.exit_code == 2
    assert "metric.run" in result.output and "is outside the spec's folder" in result.output
    result = CliRunner().invoke(app, ["plot", str(spec), "--allow-path", str(DATA),
                                      "-o", str(tmp_path / "p.csv")])
    assert result.exit_code == 0, result.output
    assert _column(tmp_path / "p.csv", "metric") == _hf_loss()[:4]


def test_a_tag_needs_its_run(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text("steps: 4\nscheduler: {type: ReduceLROnPlateau}\nmetric: {tag: loss}\n")
    result = CliRunner().invoke(app, ["plot", str(spec), "-o", str(tmp_path / "p.csv")])
    assert result.exit_code == 2
    assert result.output == (f"error: {spec}: metric.tag: a tag needs its run: give `run:` "
                             "(--metric-from) beside it\n")


def test_run_and_tag_split_at_the_last_colon_unless_the_path_exists(tmp_path: Path) -> None:
    assert _run_and_tag("logs/run:eval_loss") == ("logs/run", "eval_loss")
    assert _run_and_tag("logs/run") == ("logs/run", None)
    assert _run_and_tag("nowhere:abc123:val_loss") == ("nowhere:abc123", "val_loss")
    store = tmp_path / "mlflow.db"
    store.write_bytes(b"")
    assert _run_and_tag(f"{store}:abc123:val_loss") == (str(store), "abc123:val_loss")
    folder = tmp_path / "run:2"
    folder.mkdir()
    assert _run_and_tag(str(folder)) == (str(folder), None)
    assert _run_and_tag(f"{folder}:loss") == (str(folder), "loss")
