"""Specs spread over worker processes: the same bytes, the same errors, as one process."""

from __future__ import annotations

import pickle
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lrviz.api import load_spec
from lrviz.cli import app
from lrviz.errors import SpecError
from lrviz.workers import jobs_for

DATA = Path(__file__).parent / "runs_data"
ROOT = Path(__file__).resolve().parents[1]
# an expression (rebuilt from its text in the worker), a metric, a warmup, a composite
SPECS = ("lambda", "plateau", "warmup_cosine", "chained")


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "specs"
    folder.mkdir()
    for name in SPECS:
        shutil.copy(ROOT / "configs" / f"{name}.yaml", folder)
    return folder


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_a_gallery_on_two_workers_is_byte_identical(runner: CliRunner, tmp_path: Path) -> None:
    specs = _folder(tmp_path)
    written = {}
    for jobs in ("1", "2"):
        out = tmp_path / f"out{jobs}"
        result = runner.invoke(app, ["gallery", str(specs), "-o", str(out), "--svg",
                                     "--jobs", jobs])
        assert result.exit_code == 0, result.output
        written[jobs] = _files(out)
    assert len(written["1"]) == 2 * len(SPECS) + 2
    assert written["1"] == written["2"]


def test_compare_and_check_on_two_workers_say_the_same(runner: CliRunner, tmp_path: Path) -> None:
    paths = [str(ROOT / "configs" / f"{name}.yaml") for name in SPECS]
    bad = tmp_path / "bad.yaml"
    bad.write_text("scheduler: {type: StepLR, step_size: 0}\n")
    outputs = {}
    for jobs in ("1", "2"):
        files = [tmp_path / f"c{jobs}.csv", tmp_path / f"c{jobs}.png"]
        compared = runner.invoke(app, ["compare", *paths, "--jobs", jobs,
                                       *(a for f in files for a in ("-o", str(f)))])
        assert compared.exit_code == 0, compared.output
        checked = runner.invoke(app, ["check", paths[0], str(bad), *paths[1:], "--jobs", jobs,
                                      "--format", "json"])
        assert checked.exit_code == 2  # the invalid file, reported in its place
        said = compared.stdout.replace(f"c{jobs}.", "c.")  # the paths written differ
        outputs[jobs] = ([f.read_bytes() for f in files], said, checked.stdout, checked.stderr)
    assert outputs["1"] == outputs["2"]
    refusal = f"error: {bad}: scheduler.step_size: expected an integer >= 1, got 0\n"
    assert outputs["2"][3] == refusal


def test_a_failing_spec_in_a_worker_writes_nothing(runner: CliRunner, tmp_path: Path) -> None:
    specs = _folder(tmp_path)
    # valid, but torch's LambdaLR divides by zero at epoch 5, as training would
    (specs / "zero.yaml").write_text("name: zero\nsteps: 20\nscheduler: {type: LambdaLR, "
                                     "lr_lambda: '1 / (epoch - 5)'}\n")
    results = {}
    for jobs in ("1", "2"):
        out = tmp_path / f"out{jobs}"
        results[jobs] = runner.invoke(app, ["gallery", str(specs), "-o", str(out),
                                            "--jobs", jobs])
        assert not out.exists()
    assert results["1"].exit_code == results["2"].exit_code != 0
    assert results["1"].stderr.replace("out1", "out") == results["2"].stderr.replace("out2", "out")
    assert "zero" in results["2"].stderr and "division by zero" in results["2"].stderr


def test_specs_cross_to_workers_by_their_text() -> None:
    spec = load_spec(ROOT / "configs" / "lambda.yaml")
    again = pickle.loads(pickle.dumps(spec))
    expr = spec.scheduler.params["lr_lambda"]
    assert again.scheduler.params["lr_lambda"](7) == expr(7)
    assert repr(again.scheduler.params["lr_lambda"]) == repr(expr)


def test_jobs_are_capped_by_the_specs_and_checked() -> None:
    assert jobs_for(8, 3) == 3 and jobs_for(1, 3) == 1 and jobs_for(None, 1) == 1
    with pytest.raises(SpecError, match="expected an integer >= 1, got 0"):
        jobs_for(0, 3)


def _children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.add(int(entry.name))
    return found


def _descendants(pid: int) -> set[int]:
    found, todo = set(), [pid]
    while todo:
        children = _children(todo.pop())
        found |= children
        todo += children
    return found


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
@pytest.mark.parametrize(("signal_name", "code"), [("SIGINT", 130), ("SIGTERM", 143)])
def test_an_interrupted_parallel_gallery_ends_its_workers_and_writes_nothing(
    tmp_path: Path, signal_name: str, code: int
) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    # every config: a run long enough that the signal lands while the workers draw
    specs, out = tmp_path / "specs", tmp_path / "out"
    shutil.copytree(ROOT / "configs", specs)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "lrviz", "gallery", str(specs), "-o",
                             str(out), "--jobs", "2"], env=env, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    workers: set[int] = set()
    deadline = time.monotonic() + 60
    # the two workers, their forkserver and multiprocessing's resource tracker
    while len(workers) < 4 and proc.poll() is None and time.monotonic() < deadline:
        workers = _descendants(proc.pid)
        time.sleep(0.05)
    assert proc.poll() is None, "the gallery finished before it could be interrupted"
    if signal_name == "SIGINT":  # a Ctrl-C reaches the whole process group
        os.killpg(proc.pid, signal.SIGINT)
    else:  # a SIGTERM, the parent alone
        proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=60)
    if proc.returncode == 0:
        # On a loaded machine the signal can come after the last output was renamed and
        # the workers ended (the resource tracker lives on until the parent exits): then
        # the run finished, and its gallery must be whole, never a part of it.
        check = subprocess.run([sys.executable, "-m", "lrviz", "gallery", str(specs), "-o",
                                str(out), "--check", "--jobs", "1"], env=env,
                               capture_output=True, text=True)
        assert check.returncode == 0, check.stdout + check.stderr
    else:
        assert proc.returncode == code
        assert not out.exists()
    deadline = time.monotonic() + 10
    while any(Path(f"/proc/{pid}").exists() for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(Path(f"/proc/{pid}").exists() for pid in workers)


def _torch_imported(_: object) -> bool:
    import sys

    return "torch" in sys.modules


def test_drawing_workers_never_import_torch() -> None:
    # the gallery's workers only draw: the forkserver preloads no torch, and they import none
    from lrviz import gallery, workers

    seen = workers.run(_torch_imported, [0, 1, 2], 2, prepare=lambda item: item,
                       preload=gallery._DRAW)
    assert seen == [False, False, False]


def test_verify_on_two_workers_says_and_writes_the_same(runner: CliRunner,
                                                        tmp_path: Path) -> None:
    # the workers read the logs while this process simulates the plan
    runs = [str(DATA / name) for name in ("hf_follows", "tb_fast", "lightning_follows")]
    said = {}
    for jobs in ("1", "2"):
        out = tmp_path / jobs
        out.mkdir()
        result = runner.invoke(app, ["verify", str(DATA / "cosine.yaml"), *runs, "--jobs", jobs,
                                     "-o", str(out / "diff.csv"), "-o", str(out / "d.json")])
        assert result.exit_code == 1, result.output  # tb_fast runs 2 times fast
        said[jobs] = result.stdout.replace(str(out), "OUT")
    assert said["1"] == said["2"]
    for name in ("diff.csv", "d.json"):
        assert (tmp_path / "1" / name).read_bytes() == (tmp_path / "2" / name).read_bytes()
    bad = tmp_path / "trainer_state.json"
    bad.write_text('{"log_history": [{"learning_rate": "x", "step": 1}]}')
    refused = runner.invoke(app, ["verify", str(DATA / "cosine.yaml"), *runs, str(bad),
                                  "--jobs", "2", "-o", str(tmp_path / "o.png")])
    assert refused.exit_code == 2 and "expected a number" in refused.output
    assert not (tmp_path / "o.png").exists()
