"""Specs are untrusted: nothing they hold runs, escapes, leaks or clobbers.

One row per class of attack, each run from the command line as an attacker would try it,
asserting the exit code, the one-line message, and that nothing was created, changed,
executed or leaked (README: "Specs from pull requests").
"""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import lrviz
from lrviz.cli import app
from lrviz.render import files

SECRET = "canary-7c2f9e"  # in files outside the spec's folder: must never be shown
PLATEAU = "steps: 3\nscheduler: {type: plateau}\n"
STEP = "scheduler: {type: step, step_size: 3}\n"


def _snapshot(root: Path) -> dict[str, bytes | str]:
    out: dict[str, bytes | str] = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        if path.is_symlink():
            out[rel] = "-> " + os.readlink(path)
        elif path.is_file():
            out[rel] = path.read_bytes()
    return out


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A spec folder (the current folder) inside a parent that holds a secret."""
    (tmp_path / "secret.csv").write_text(f"x\n{SECRET}\n")
    here = tmp_path / "work"
    here.mkdir()
    monkeypatch.chdir(here)
    return here


def _one_error(stderr: str) -> str:
    lines = [x for x in stderr.splitlines() if not x.startswith("note:")]
    assert len(lines) == 1, stderr
    assert not any(ord(c) < 32 or c == "\x7f" for c in lines[0]), repr(lines[0])
    return lines[0]


# ------------------------------------------------------------------ the refusal table
# (id, files to plant, command line, exit code, start of the one error line)
REFUSED = [
    ("metric-traversal", {"s.yaml": PLATEAU + "metric: {file: ../secret.csv, column: x}\n"},
     ["plot", "s.yaml", "-o", "o.csv"], 2,
     "error: s.yaml: metric.file: the metric file ../secret.csv is outside the spec's folder"),
    ("metric-absolute", {"s.yaml": PLATEAU + "metric: {file: /etc/passwd, column: x}\n"},
     ["plot", "s.yaml", "-o", "o.csv"], 2, "error: s.yaml: metric.file: the metric file "
     "/etc/passwd is outside"),
    ("metric-environ", {"s.yaml": PLATEAU + "metric: {file: /proc/self/environ}\n"},
     ["plot", "s.yaml", "-o", "o.csv"], 2, "error: s.yaml: metric.file: the metric file "
     "/proc/self/environ is outside"),
    ("metric-link-out", {"s.yaml": PLATEAU + "metric: {file: m.csv}\n",
                         "m.csv": "-> ../secret.csv"},
     ["plot", "s.yaml", "-o", "o.csv"], 2, "error: s.yaml: metric.file: the metric file m.csv "
     "is outside"),
    ("metric-fifo", {"s.yaml": PLATEAU + "metric: {file: m.csv}\n", "m.csv": "fifo"},
     ["plot", "s.yaml", "-o", "o.csv"], 2,
     "error: s.yaml: metric.file: not a regular file m.csv; expected a metric file"),
    ("metric-device", {"s.yaml": PLATEAU + "metric: {file: z.csv}\n", "z.csv": "-> /dev/zero"},
     ["plot", "s.yaml", "-o", "o.csv", "--allow-path", "/dev"], 2,
     "error: s.yaml: metric.file: not a regular file z.csv"),
    ("metric-folder", {"s.yaml": PLATEAU + "metric: {file: d}\n", "d/x": "1"},
     ["plot", "s.yaml", "-o", "o.csv"], 2, "error: s.yaml: metric.file: is a folder d"),
    ("spec-fifo", {"s.yaml": "fifo"}, ["plot", "s.yaml"], 2,
     "error: s.yaml: not a regular file; expected a spec file"),
    ("spec-device", {}, ["plot", "/dev/zero"], 2, "error: /dev/zero: not a regular file"),
    ("column-excerpt", {"s.yaml": PLATEAU + "metric: {file: m.csv, column: nope}\n",
                        "m.csv": f"{'x' * 60}\x1b[2J,b\n1,2\n"},
     ["plot", "s.yaml", "-o", "o.csv"], 2, "error: s.yaml: metric.column: no column 'nope' "
     "in m.csv; columns: 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...', 'b'"),
    # text from a spec reaches the terminal escaped: no ESC, no forged second line
    ("key-escapes", {"s.yaml": 'scheduler: {type: step, "a\\e[31m\\nerror: forged": 1}\n'},
     ["plot", "s.yaml"], 2, "error: s.yaml: scheduler.a\\x1b[31m\\nerror: forged: unknown key"),
    # numbers and sizes bounded before any work
    ("int-400-digits", {"s.yaml": f"steps: {'9' * 400}\n" + STEP},
     ["plot", "s.yaml"], 2, "error: s.yaml: steps: expected a number, got an integer of 400 "
     "digits"),
    ("int-5000-digits", {"s.yaml": f"scheduler: {{type: step, gamma: {'9' * 5000}}}\n"},
     ["plot", "s.yaml"], 2, "error: s.yaml: "),
    ("float-1e400", {"s.yaml": "scheduler: {type: step, step_size: 1e400}\n"},
     ["plot", "s.yaml"], 2, "error: s.yaml: scheduler.step_size: expected a finite number"),
    ("nesting-450", {"s.yaml": "scheduler: " + "{type: sequential, milestones: [], schedulers: ["
                     * 450 + "{type: cosine}" + "]}" * 450 + "\n"},
     ["plot", "s.yaml"], 2, "error: s.yaml: scheduler: nested more than 32 levels deep"),
    ("title-900k", {"s.yaml": "title: " + "x" * 900_000 + "\n" + STEP},
     ["plot", "s.yaml"], 2, "error: s.yaml: title: expected one line of at most 200"),
    ("title-newline", {"s.yaml": 'title: "a\\nb"\nscheduler: {type: step, step_size: 3}\n'},
     ["plot", "s.yaml"], 2, "error: s.yaml: title: expected one line of text"),
    ("name-long", {"s.yaml": f"name: {'n' * 260}\nscheduler: {{type: step, step_size: 3}}\n"},
     ["plot", "s.yaml"], 2, "error: s.yaml: name: expected at most 100 characters, got 260"),
    ("name-nul", {"s.yaml": 'name: "a\\0b"\nscheduler: {type: step, step_size: 3}\n'},
     ["plot", "s.yaml"], 2, "error: s.yaml: name: expected a plain name"),
    ("name-dot", {"s.yaml": "name: .hidden\n" + STEP},
     ["plot", "s.yaml"], 2, "error: s.yaml: name: expected a plain name"),
    ("pixels", {}, ["plot", "cosine", "--size", "50x50", "--dpi", "1200"], 2,
     "error: --size: a 50x50 inch figure at 1200 dpi has 3600 million pixels"),
    ("sweep-200", {"s.yaml": "scheduler: {type: step, step_size: 3}\n"},
     ["compare", "s.yaml", "--layout", "grid", "--sweep",
      "gamma=" + ",".join(f"0.{i}" for i in range(1, 201))], 2,
     "error: --sweep: 200 values; a sweep takes at most 48"),
    ("momentum-true", {"s.yaml": "optimizer: {momentum: true}\n" + STEP},
     ["plot", "s.yaml"], 2, "error: s.yaml: optimizer.momentum: expected a number, got true"),
    ("output-too-long", {}, ["plot", "cosine", "-o", "x" * 5000 + ".png"], 2, "error: -o xxx"),
    # data loss
    ("same-output-twice", {"d.csv": "precious\n"}, ["plot", "cosine", "-o", "d.csv", "-o",
                                                    "./d.csv"], 2,
     "error: -o d.csv: the same file as -o d.csv; name each output once"),
    ("code-same-output", {}, ["code", "step", "-o", "a.py", "-o", "a.py"], 2,
     "error: -o a.py: the same file as -o a.py"),
    ("gallery-foreign-readme", {"g/s.yaml": "scheduler: {type: step, step_size: 3}\n",
                                "out/README.md": "hand-written\n"},
     ["gallery", "g", "-o", "out"], 2, "error: out/README.md: was not written by lrviz gallery"),
    ("gallery-same-name", {"g/a.yaml": "name: x\n" + STEP,
                           "g/b.yaml": "name: x\nscheduler: {type: cosine}\n"},
     ["gallery", "g", "-o", "out"], 2, "error: g/b.yaml: name: 'x' is also the name of g/a.yaml"),
    ("gallery-link-out", {"g/s.yaml": "-> ../../secret.csv"}, ["gallery", "g", "-o", "out"], 2,
     "error: g/s.yaml: the spec file is outside"),
]


def _plant(root: Path, planted: dict[str, str]) -> None:
    for name, content in planted.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if content == "fifo":
            os.mkfifo(path)
        elif content.startswith("-> "):
            path.symlink_to(content[3:])
        else:
            path.write_text(content)


@pytest.mark.parametrize(("planted", "args", "code", "line"),
                         [r[1:] for r in REFUSED], ids=[r[0] for r in REFUSED])
def test_refused_in_one_line_and_nothing_changes(
    runner: CliRunner, site: Path, planted: dict[str, str], args: list[str], code: int, line: str,
) -> None:
    _plant(site, planted)
    before = _snapshot(site.parent)
    started = time.monotonic()
    result = runner.invoke(app, args)
    assert time.monotonic() - started < 10  # refused quickly (the machine may be loaded)
    assert result.exit_code == code, result.output
    stderr = result.stderr
    gallery_verdict = "error: out: not written, fix the specs above first\n"
    if args[0] == "gallery" and stderr.endswith(gallery_verdict):  # after the spec's error
        stderr = stderr[: -len(gallery_verdict)]
    assert _one_error(stderr).startswith(line), result.stderr
    assert SECRET not in result.output
    assert "root:x:0" not in result.output
    assert _snapshot(site.parent) == before  # nothing created, changed or left behind


def test_gallery_error_messages_in_the_gallery_command(runner: CliRunner, site: Path) -> None:
    # the gallery reports every spec's error: one line each, and still nothing written
    _plant(site, {"g/a.yaml": "scheduler: {type: nope}\n", "g/b.yaml": "scheduler: {}\n"})
    result = runner.invoke(app, ["gallery", "g", "-o", "out"])
    assert result.exit_code == 2
    assert not (site / "out").exists()


# ------------------------------------------------------------------- code export inert


HOSTILE_CODE_SPECS = {
    "column": ("name: \"x coding: utf-7\"\ntitle: \"t\\n__import__('os').system('touch PWNED')\"\n"
               "steps: 2\nscheduler: {type: plateau}\n"
               "metric: {file: m.csv, column: \"loss\\n__import__('os').system('touch PWNED')"
               "\\n#\"}\n"),
    "file": ("steps: 2\nscheduler: {type: plateau}\n"
             "metric: {file: \"m\\nimport os; os.system('touch PWNED')\\n#.csv\"}\n"),
    "group-key": ("steps: 2\nscheduler: {type: step, step_size: 3}\noptimizer: {param_groups: "
                  "[{lr: 0.1, \"x\\\"]; __import__('os').system('touch PWNED'); #\": 1}]}\n"),
}


def test_printed_code_of_hostile_specs_runs_nothing(runner: CliRunner, site: Path) -> None:
    header = "loss\n__import__('os').system('touch PWNED')\n#"
    (site / "m.csv").write_text(f'"{header}"\n1.0\n0.9\n')
    (site / "m\nimport os; os.system('touch PWNED')\n#.csv").write_text("loss\n1.0\n0.9\n")
    programs = []
    for name, text in HOSTILE_CODE_SPECS.items():
        (site / f"{name}.yaml").write_text(text)
        result = runner.invoke(app, ["code", f"{name}.yaml"])
        if result.exit_code != 0:  # refusing is fine too; running is not
            _one_error(result.stderr)
            continue
        lines = result.stdout.splitlines()
        assert lines[:2] == [f"# The optimizer and scheduler lrviz {lrviz.__version__} "
                             "simulated.", ""]
        programs.append(result.stdout)
    assert programs  # at least the metric column and file specs print code
    scratch = site / "scratch"
    scratch.mkdir()
    for i, program in enumerate(programs):
        (scratch / f"p{i}.py").write_text(program)
    runner_code = "; ".join(f"exec(compile(open('p{i}.py').read(), 'p{i}.py', 'exec'), {{}})"
                            for i in range(len(programs)))
    subprocess.run([sys.executable, "-c", runner_code], cwd=scratch, check=True,
                   capture_output=True)
    assert not (scratch / "PWNED").exists()
    assert not (site / "PWNED").exists()


def test_code_o_writes_the_file(runner: CliRunner, site: Path) -> None:
    result = runner.invoke(app, ["code", "cosine", "--t-max", "10", "-o", "sched.py"])
    assert result.exit_code == 0, result.output
    assert result.stdout == "sched.py\n"
    assert (site / "sched.py").read_text().startswith("# The optimizer and scheduler")


# ------------------------------------------------------------ generated files well formed


def test_compare_names_land_escaped(runner: CliRunner, site: Path) -> None:
    names = ['=HYPERLINK("x")', 'a,b"c', "p|q <b onmouseover=alert(1)>"]
    for i, name in enumerate(names):
        spec = {"name": name, "steps": 4, "scheduler": {"type": "step", "step_size": 3}}
        (site / f"s{i}.yaml").write_text(json.dumps(spec))
    outs = ["c.csv", "c.md", "c.json"]
    args = ["compare", *(f"s{i}.yaml" for i in range(3)), *(a for o in outs for a in ("-o", o))]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO((site / "c.csv").read_text())))
    assert {len(r) for r in rows} == {4}
    assert not any(cell.startswith(("=", "+", "-", "@")) for cell in rows[0])
    assert rows[0][1] == "'" + names[0]
    markdown = (site / "c.md").read_text()
    assert "<b " not in markdown
    widths = {line.count("|") - line.count("\\|") for line in markdown.splitlines()}
    assert len(widths) == 1  # no name breaks a row of the table
    json.loads((site / "c.json").read_text(), parse_constant=_no_constants)


def _no_constants(token: str) -> None:
    raise AssertionError(f"{token} is not JSON")


def test_gallery_index_escapes_titles_and_fences_yaml(runner: CliRunner, site: Path) -> None:
    evil = "<img src=x onerror=alert(1)>"
    spec = (f"title: '{evil}'\nscheduler: {{type: step, step_size: 3}}\n"
            "# ```\n# <script>alert(2)</script>\n")
    _plant(site, {"g/s.yaml": spec})
    result = runner.invoke(app, ["gallery", "g", "-o", "out"])
    assert result.exit_code == 0, result.output
    index = (site / "out" / "README.md").read_text()
    assert "\n## &lt;img src=x onerror=alert(1)&gt;\n" in index
    assert index.count("<img") == 1  # inside the YAML's fence, as text
    # the YAML sits in a fence of four backticks, which its three cannot close
    fence_at = index.index("````yaml")
    assert index.index("<script>") > fence_at
    assert index.index("\n````\n", fence_at) > index.index("<script>")


def test_overflowing_lr_writes_valid_outputs(runner: CliRunner, site: Path) -> None:
    outs = ["x.md", "x.png", "x.json", "x.csv", "x.svg"]
    args = ["plot", "exponential", "--gamma", "10", "--steps", "400", "--terminal"]
    result = runner.invoke(app, [*args, *(a for o in outs for a in ("-o", o))])
    assert result.exit_code == 0, result.output
    assert "Warning" not in result.stderr  # no numpy or matplotlib noise
    data = json.loads((site / "x.json").read_text(), parse_constant=_no_constants)
    assert data["series"]["lr"][-1] is None  # inf is written as null
    assert (site / "x.csv").read_text().splitlines()[-1].endswith(",inf")


# --------------------------------------------------------------------- the one writer


def test_outputs_replace_a_planted_link_never_write_through_it(site: Path) -> None:
    target = site.parent / "elsewhere.csv"
    target.write_text("keep\n")
    (site / "out.csv").symlink_to(target)
    trace = lrviz.simulate({"steps": 3, "scheduler": {"type": "step", "step_size": 3}})
    trace.to_csv(site / "out.csv")
    assert target.read_text() == "keep\n"
    assert not (site / "out.csv").is_symlink()
    assert (site / "out.csv").read_text() == trace.to_csv()


def test_a_failed_commit_puts_back_what_it_replaced(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (site / "a.txt").write_text("old a\n")
    (site / "b.txt").write_text("old b\n")
    real_replace = os.replace

    def replace(src: str, dst: str) -> None:
        if str(dst).endswith("b.txt") and str(src).endswith(".tmp"):
            raise OSError(28, "No space left on device", str(src))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(lrviz.SpecError, match=r"b\.txt: cannot write the output"):
        files.write_files([(site / "a.txt", files.bytes_writer(b"new a\n")),
                           (site / "b.txt", files.bytes_writer(b"new b\n"))])
    assert (site / "a.txt").read_text() == "old a\n"
    assert (site / "b.txt").read_text() == "old b\n"
    assert sorted(p.name for p in site.iterdir()) == ["a.txt", "b.txt"]


def test_an_interrupted_write_leaves_nothing(site: Path) -> None:
    (site / "a.txt").write_text("old\n")

    def interrupted(handle: object) -> None:
        raise files.Terminated()

    with pytest.raises(files.Terminated):
        files.write_files([(site / "new.txt", files.bytes_writer(b"x")),
                           (site / "a.txt", interrupted)])
    assert sorted(p.name for p in site.iterdir()) == ["a.txt"]
    assert (site / "a.txt").read_text() == "old\n"


def test_sigterm_during_a_long_write_leaves_no_files(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "lrviz", "plot", "cosine", "--steps", "2000000", "-o", "x.csv",
         "-o", "x.json"], cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if any(p.name.startswith(".lrviz-") for p in tmp_path.iterdir()):
            break
        time.sleep(0.01)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=60)
    assert "Traceback" not in stderr
    left = sorted(p.name for p in tmp_path.iterdir())
    # Interrupted while writing: nothing. A signal that lands during the renames waits for
    # them (they are atomic together), and one that comes after them finds a finished
    # run: then both outputs are whole. Never one of them, never a temporary file.
    if proc.returncode == 143 and not left:
        return
    assert left == ["x.csv", "x.json"], (proc.returncode, left, stderr)
    assert (tmp_path / "x.csv").read_text().count("\n") == 2_000_001
    json.loads((tmp_path / "x.json").read_text())


# ---------------------------------------------------------------------- the Python API


def test_api_takes_numpy_numbers() -> None:
    trace = lrviz.simulate({"steps": np.int64(4), "optimizer": {"lr": np.float64(0.5)},
                            "scheduler": {"type": "step", "step_size": np.int32(2),
                                          "gamma": np.float32(0.5)}})
    assert trace.lr.tolist() == [0.5, 0.5, 0.25, 0.25]


def _cyclic() -> dict[str, object]:
    spec: dict[str, object] = {"scheduler": {"type": "step", "step_size": 3}}
    spec["steps"] = spec
    return spec


@pytest.mark.parametrize("spec", [
    {"steps": 10**400, "scheduler": {"type": "step", "step_size": 3}},
    {"steps": 4, "scheduler": {"type": "step", "gamma": 10**400}},
    _cyclic(),
    {"scheduler": {"type": "step", "step_size": object()}},
    {"scheduler": {"type": "step", "step_size": 3}, "title": {"a": 1}},
    {"name": "a\x00b", "scheduler": {"type": "step", "step_size": 3}},
    {"scheduler": {"type": "step", "step_size": 3}, "optimizer": {"lr": [1, 2]}},
], ids=["huge-steps", "huge-gamma", "self-containing", "object", "title-mapping", "nul-name",
        "lr-list"])
def test_api_raises_only_lrviz_errors(spec: dict[str, object]) -> None:
    with pytest.raises(lrviz.LrvizError):
        lrviz.simulate(spec)


@pytest.mark.parametrize("cword", ["abc", "-5", "99"])
def test_odd_completion_requests_answer_nothing(tmp_path: Path, cword: str) -> None:
    env = {**os.environ, "_LRVIZ_COMPLETE": "complete_bash", "COMP_WORDS": "lrviz plot cos",
           "COMP_CWORD": cword}
    done = subprocess.run([sys.executable, "-m", "lrviz"], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


def test_mathtext_in_titles_and_names_is_drawn_as_written(runner: CliRunner, site: Path) -> None:
    spec = 'title: "$\\\\frac{1}{$ and $x$"\nname: "a$b"\nsteps: 5\n' + STEP
    (site / "s.yaml").write_text(spec)
    (site / "t.yaml").write_text(spec.replace("a$b", "c$d"))
    result = runner.invoke(app, ["plot", "s.yaml", "-o", "s.png", "-o", "s.svg"])
    assert result.exit_code == 0, result.output
    assert "$\\frac{1}{$ and $x$" in (site / "s.svg").read_text()
    grid = runner.invoke(app, ["compare", "s.yaml", "t.yaml", "--layout", "grid", "-o", "c.png"])
    assert grid.exit_code == 0, grid.output


def test_an_invalid_gallery_is_refused_before_torch_is_imported(tmp_path: Path) -> None:
    _plant(tmp_path, {"g/a.yaml": STEP, "g/b.yaml": 'title: "a\\nb"\n' + STEP})
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "lrviz", "gallery", "g",
                           "-o", "out"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 2
    imported = {line.split("|")[-1].strip() for line in done.stderr.splitlines()
                if line.startswith("import time:")}
    assert "torch" not in imported
    assert not (tmp_path / "out").exists()
