"""lrviz against the loops people write by hand: per-step cost, whole processes, memory.

Run from the repository root with the project's environment::

    .venv/bin/python benchmarks/bench.py                 # 10k, 100k, 1M steps (~10 min)
    .venv/bin/python benchmarks/bench.py --quick         # 10k and 100k, fewer repeats
    .venv/bin/python benchmarks/bench.py --sizes 1000000 --schedulers cosine,cyclic
    .venv/bin/python benchmarks/bench.py --skip-processes --out /tmp/results.md

It prints every table and writes them, with the machine description and PASS/FAIL per
target, to ``benchmarks/results.md`` (``--out`` elsewhere).

In-process, per scheduler and run length, interleaved repeats of (min and median kept):

(a) hand   the loop people write: ``optimizer.zero_grad(); optimizer.step();
           lr = scheduler.get_last_lr()[0]; lrs.append(lr); scheduler.step()``
           on a dummy ``nn.Linear``;
(b) lean   the leanest torch loop: ``scheduler.step()`` and one read of
           ``optimizer.param_groups[0]`` per step into preallocated numpy arrays. It
           reads what lrviz records (the lr, plus momentum where the scheduler cycles
           it) and, like lrviz, sets ``optimizer._opt_called = True`` instead of calling
           ``optimizer.step()``;
(c) engine ``lrviz.engine.simulate(spec)`` on an already validated spec;
(d) total  ``lrviz.simulate(spec_dict)``: spec validation plus the engine.

Every variant builds its own optimizer and scheduler inside the timed region.
ReduceLROnPlateau gets the same metric list in all variants (``metric: {values: ...}``
for lrviz). Before timing, each case is checked: (a), (b) and (c) give the same floats
and no torch warning fires.

Whole processes, timed end to end as subprocesses (best of a few, interleaved), with
their peak RSS (``ru_maxrss`` from ``os.wait4``, started by a bare interpreter so that
this process's own memory does not leak into the figure; Linux only):

- ``lrviz plot cosine -o x.csv`` against ``baselines/lean_csv.py`` ((b) plus a CSV of repr
  floats; the two CSVs must be byte-identical);
- ``lrviz plot cosine -o x.png`` against ``baselines/hand_png.py`` ((a) plus a pyplot PNG);
- ``lrviz plot cosine -o x.png -o x.svg`` at 1M steps against the lean loop process;
- ``python -X importtime -m lrviz --help | list | plot cyclic --help``: no torch, no
  matplotlib.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

import lrviz
from lrviz import engine

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
LR, MOMENTUM = 0.1, 0.9  # lrviz's default optimizer: SGD(lr=0.1, momentum=0.9)
FULL_SIZES = (10_000, 100_000, 1_000_000)
QUICK_SIZES = (10_000, 100_000)
VARIANTS = ("hand", "lean", "engine", "total")

# Targets of the performance issue.
ENGINE_MAX_RATIO = 1.10  # (c) per step <= 1.10 x (b)
CSV_MAX_RATIO = 1.25  # `lrviz plot -o x.csv` <= 1.25 x the minimal script
PNG_MIN_SPEEDUP = 2.0  # `lrviz plot -o x.png` >= 2 x faster than the hand-written script
MEMORY_MAX_RATIO = 1.5  # 1M steps to PNG+SVG: peak RSS <= 1.5 x the lean loop process
SVG_MAX_BYTES = 1_000_000

Scheduler = Any  # torch.optim.lr_scheduler.LRScheduler or ReduceLROnPlateau


# ------------------------------------------------------------------------------ the cases


@dataclass(frozen=True)
class Case:
    """One schedule at one length, as torch code and as an lrviz spec."""

    name: str
    steps: int
    build: Callable[[torch.optim.Optimizer], Scheduler]
    spec: dict[str, Any]
    metric: list[float] | None = None
    momentum: bool = False  # the scheduler cycles momentum, so lrviz records it


def metric_values(steps: int) -> list[float]:
    """A validation loss that falls ever slower with noise: plateaus come now and then."""
    rng = np.random.default_rng(0)
    trend = 1.0 / (1.0 + np.arange(steps) / 1000.0)
    values: list[float] = (trend + 0.02 * rng.random(steps)).tolist()
    return values


def make_case(name: str, n: int) -> Case:
    """The case ``name`` (a torch class name) at ``n`` steps."""
    sched = torch.optim.lr_scheduler
    warmup = max(1, n // 100)
    if name == "StepLR":
        return Case(name, n, lambda o: sched.StepLR(o, step_size=n // 10, gamma=0.5),
                    {"type": name, "step_size": n // 10, "gamma": 0.5})
    if name == "CosineAnnealingLR":
        return Case(name, n, lambda o: sched.CosineAnnealingLR(o, T_max=n, eta_min=1e-4),
                    {"type": name, "T_max": n, "eta_min": 1e-4})
    if name == "CyclicLR":
        return Case(name, n,
                    lambda o: sched.CyclicLR(o, base_lr=1e-4, max_lr=1e-2, step_size_up=2000),
                    {"type": name, "base_lr": 1e-4, "max_lr": 1e-2, "step_size_up": 2000},
                    momentum=True)
    if name == "OneCycleLR":
        return Case(name, n, lambda o: sched.OneCycleLR(o, max_lr=LR, total_steps=n),
                    {"type": name, "max_lr": LR, "total_steps": n}, momentum=True)
    if name == "ReduceLROnPlateau":
        return Case(name, n, lambda o: sched.ReduceLROnPlateau(o), {"type": name},
                    metric=metric_values(n))
    if name == "SequentialLR":
        def build(o: torch.optim.Optimizer) -> Scheduler:
            return sched.SequentialLR(o, milestones=[warmup], schedulers=[
                sched.LinearLR(o, start_factor=0.01, total_iters=warmup),
                sched.CosineAnnealingLR(o, T_max=n - warmup, eta_min=1e-4),
            ])
        return Case(name, n, build, {"type": name, "milestones": [warmup], "schedulers": [
            {"type": "LinearLR", "start_factor": 0.01, "total_iters": warmup},
            {"type": "CosineAnnealingLR", "T_max": n - warmup, "eta_min": 1e-4},
        ]})
    raise ValueError(name)


SCHEDULERS = {
    "step": "StepLR", "cosine": "CosineAnnealingLR", "cyclic": "CyclicLR",
    "onecycle": "OneCycleLR", "plateau": "ReduceLROnPlateau", "sequential": "SequentialLR",
}


def spec_dict(case: Case) -> dict[str, Any]:
    spec: dict[str, Any] = {"steps": case.steps, "scheduler": case.spec}
    if case.metric is not None:
        spec["metric"] = {"values": case.metric}
    return spec


# ----------------------------------------------------------------------- the four loops


def hand_loop(case: Case) -> list[float]:
    """(a) The loop people write by hand."""
    model = torch.nn.Linear(1, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    scheduler = case.build(optimizer)
    lrs = []
    if case.metric is None:
        for _ in range(case.steps):
            optimizer.zero_grad()
            optimizer.step()
            lr = scheduler.get_last_lr()[0]
            lrs.append(lr)
            scheduler.step()
    else:
        for value in case.metric[: case.steps]:
            optimizer.zero_grad()
            optimizer.step()
            lr = scheduler.get_last_lr()[0]
            lrs.append(lr)
            scheduler.step(value)
    return lrs


def lean_loop(case: Case) -> np.ndarray:
    """(b) The leanest torch loop that records what lrviz records."""
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=LR, momentum=MOMENTUM)
    optimizer._opt_called = True  # type: ignore[attr-defined]  # exactly as lrviz does
    scheduler = case.build(optimizer)
    group, step, n = optimizer.param_groups[0], scheduler.step, case.steps
    lrs = np.empty(n)
    if case.metric is not None:
        metric = case.metric
        for k in range(n):
            lrs[k] = group["lr"]
            step(metric[k])
    elif case.momentum:
        momenta = np.empty(n)
        for k in range(n):
            lrs[k] = group["lr"]
            momenta[k] = group["momentum"]
            step()
    else:
        for k in range(n):
            lrs[k] = group["lr"]
            step()
    return lrs


def engine_run(spec: lrviz.Spec) -> Callable[[Case], np.ndarray]:
    """(c) lrviz's engine on a spec validated beforehand (outside the timed region)."""
    def run(case: Case) -> np.ndarray:
        return engine.simulate(spec).lrs[0]
    return run


def total_run(case: Case) -> np.ndarray:
    """(d) ``lrviz.simulate`` from the spec mapping: validation plus the engine."""
    return lrviz.simulate(spec_dict(case)).lrs[0]


# -------------------------------------------------------------------------- in-process


@dataclass
class Timing:
    """Per-step seconds of every repeat of one variant of one case."""

    per_step: list[float] = field(default_factory=list)

    @property
    def best(self) -> float:
        return min(self.per_step) if self.per_step else float("nan")

    @property
    def median(self) -> float:
        return statistics.median(self.per_step) if self.per_step else float("nan")


@dataclass
class CaseResult:
    name: str
    steps: int
    timings: dict[str, Timing]
    problems: list[str]

    def ratio(self, num: str, den: str, median: bool = False) -> float:
        a, b = self.timings[num], self.timings[den]
        return (a.median / b.median) if median else (a.best / b.best)


def plan(n: int, quick: bool, repeats: int | None, hand_repeats: int | None) -> tuple[int, int]:
    """(repeats, repeats of the slow hand loop) for ``n`` steps."""
    if repeats is None:
        repeats = (5 if n <= 10_000 else 3) if quick else (7 if n <= 10_000 else
                                                            5 if n <= 100_000 else 3)
    if hand_repeats is None:
        hand_repeats = repeats if n <= 100_000 else 1  # (a) at 1M takes ~20 s a run
    return repeats, min(repeats, hand_repeats)


def timed(fn: Callable[[Case], Any], case: Case) -> tuple[float, Any]:
    gc.collect()
    start = time.perf_counter()
    result = fn(case)
    return time.perf_counter() - start, result


def check_case(name: str) -> list[str]:
    """Untimed, small: the variants agree float for float and no torch warning fires."""
    case = make_case(name, 3000)
    problems = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        lean = lean_loop(case)
        trace = lrviz.simulate(spec_dict(case))
    problems += [f"warning in (b)/(c): {w.message}" for w in caught]
    problems += [f"warning in (c): {w}" for w in trace.warnings]
    if not np.array_equal(lean, trace.lrs[0]):
        problems.append("(b) and (c) differ")
    if hand_loop(case) != lean.tolist():
        problems.append("(a) get_last_lr() differs from (b) param_groups")
    return problems


def bench_case(case: Case, repeats: int, hand_repeats: int) -> CaseResult:
    spec = lrviz.as_spec(spec_dict(case))
    fns: dict[str, Callable[[Case], Any]] = {
        "hand": hand_loop, "lean": lean_loop, "engine": engine_run(spec), "total": total_run,
    }
    timings = {v: Timing() for v in VARIANTS}
    problems: list[str] = []
    for r in range(repeats):
        order = VARIANTS[r % 4:] + VARIANTS[: r % 4]  # rotate: no variant always goes first
        results = {}
        for variant in order:
            if variant == "hand" and r >= hand_repeats:
                continue
            seconds, results[variant] = timed(fns[variant], case)
            timings[variant].per_step.append(seconds / case.steps)
        if r == 0 and not np.array_equal(results["lean"], results["engine"]):
            problems.append("(b) and (c) differ")
    return CaseResult(case.name, case.steps, timings, problems)


def run_in_process(names: Sequence[str], sizes: Sequence[int], args: argparse.Namespace
                   ) -> list[CaseResult]:
    out = []
    checks = {name: check_case(name) for name in names}  # also warms every code path up
    for n in sizes:
        repeats, hand_repeats = plan(n, args.quick, args.repeats, args.hand_repeats)
        for name in names:
            start = time.perf_counter()
            result = bench_case(make_case(name, n), repeats, hand_repeats)
            result.problems[:0] = checks[name]
            out.append(result)
            t = result.timings
            print(f"  {name:<18} {n:>9,}  a {us(t['hand'].best):>7}  b {us(t['lean'].best):>6}"
                  f"  c {us(t['engine'].best):>6}  d {us(t['total'].best):>6} us/step"
                  f"  c/b {result.ratio('engine', 'lean'):.3f}"
                  f"  ({time.perf_counter() - start:.0f}s)", flush=True)
    return out


# ------------------------------------------------------------------------ processes


@dataclass
class Process:
    """Best wall time and smallest peak RSS over a few runs of one command."""

    label: str
    command: list[str]
    seconds: list[float] = field(default_factory=list)
    cpu_seconds: list[float] = field(default_factory=list)  # user + system
    rss_kib: list[int] = field(default_factory=list)

    @property
    def best(self) -> float:
        return min(self.seconds)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def peak_mib(self) -> float:
        return min(self.rss_kib) / 1024


# The child's peak RSS must not include its parent's: Linux carries the forking
# process's high-water mark across exec, and this process holds torch (~300 MiB). So a
# bare interpreter (~10 MiB) starts each command and reports its time and peak RSS.
LAUNCHER = """
import os, subprocess, sys, time
start = time.perf_counter()
proc = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)
_, status, usage = os.wait4(proc.pid, 0)
seconds = time.perf_counter() - start
cpu = usage.ru_utime + usage.ru_stime
print(seconds, cpu, usage.ru_maxrss, os.waitstatus_to_exitcode(status))
"""


@dataclass(frozen=True)
class Run:
    seconds: float
    cpu_seconds: float
    rss_kib: int
    stderr: str


def run_process(command: list[str], cwd: Path) -> Run:
    """Time, CPU time, peak RSS and stderr of one run; fails loudly on a non-zero exit."""
    done = subprocess.run([sys.executable, "-S", "-c", LAUNCHER, *command], cwd=cwd,
                          capture_output=True, text=True, check=True)
    seconds, cpu, rss, code = done.stdout.split()
    if int(code):
        raise RuntimeError(f"{' '.join(command)} exited {code}:\n{done.stderr}")
    return Run(float(seconds), float(cpu), int(rss), done.stderr)


def measure(processes: Sequence[Process], repeats: int, cwd: Path) -> None:
    """Run the commands round-robin ``repeats`` times, recording time and peak RSS."""
    for _ in range(repeats):
        for proc in processes:
            run = run_process(proc.command, cwd)
            proc.seconds.append(run.seconds)
            proc.cpu_seconds.append(run.cpu_seconds)
            proc.rss_kib.append(run.rss_kib)


# Every torch optimizer's constructor imports torch._dynamo (add_param_group is wrapped
# in torch._disable_dynamo): a fixed cost of every process below, shown on its own.
BUILD_OPTIMIZER = "import torch; torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)"


def lrviz_command() -> list[str]:
    script = Path(sys.executable).parent / "lrviz"
    return [str(script)] if script.exists() else [sys.executable, "-m", "lrviz"]


def cosine_plot(steps: int, *outputs: str) -> list[str]:
    command = [*lrviz_command(), "plot", "cosine", "--steps", str(steps), "--t-max", str(steps)]
    for output in outputs:
        command += ["-o", output]
    return command


@dataclass
class ProcessResults:
    steps: int
    memory_steps: int
    csv: tuple[Process, Process]  # lrviz, lean script
    png: tuple[Process, Process]  # lrviz, hand script
    memory: tuple[Process, Process]  # lrviz PNG+SVG, lean loop process
    reference: list[Process]  # python startup, torch import
    csv_identical: bool
    png_bytes: int
    svg_bytes: int
    imports: list[ImportCheck]


@dataclass
class ImportCheck:
    args: list[str]
    heavy: list[str]  # torch / matplotlib modules imported
    seconds: float


def check_imports(args: list[str], cwd: Path) -> ImportCheck:
    command = [sys.executable, "-X", "importtime", "-m", "lrviz", *args]
    run = run_process(command, cwd)
    heavy = []
    for line in run.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            module = line.rsplit("|", 1)[1].strip()
            if module.split(".")[0] in ("torch", "matplotlib"):
                heavy.append(module)
    return ImportCheck(args, heavy, run.seconds)


def run_processes(steps: int, memory_steps: int, repeats: int) -> ProcessResults:
    py = sys.executable
    lean_script = str(HERE / "baselines" / "lean_csv.py")
    hand_script = str(HERE / "baselines" / "hand_png.py")
    with tempfile.TemporaryDirectory(prefix="lrviz-bench-") as tmp:
        cwd = Path(tmp)
        reference = [Process("python -c pass", [py, "-c", "pass"]),
                     Process("python -c 'import torch'", [py, "-c", "import torch"]),
                     Process("... + build one optimizer", [py, "-c", BUILD_OPTIMIZER])]
        csv = (Process("lrviz plot -o x.csv", cosine_plot(steps, "lrviz.csv")),
               Process("lean_csv.py (b) + CSV", [py, lean_script, str(steps), "lean.csv"]))
        png = (Process("lrviz plot -o x.png", cosine_plot(steps, "lrviz.png")),
               Process("hand_png.py (a) + pyplot PNG", [py, hand_script, str(steps), "hand.png"]))
        memory = (Process("lrviz plot -o x.png -o x.svg",
                          cosine_plot(memory_steps, "m.png", "m.svg")),
                  Process("lean_csv.py (b), no output", [py, lean_script, str(memory_steps)]))
        print(f"  timing processes at {steps:,} steps, best of {repeats} ...", flush=True)
        measure([*reference, *csv, *png], repeats, cwd)
        print(f"  peak memory at {memory_steps:,} steps ...", flush=True)
        measure(memory, max(1, min(repeats, 2)), cwd)
        identical = (cwd / "lrviz.csv").read_bytes() == (cwd / "lean.csv").read_bytes()
        png_bytes, svg_bytes = (cwd / "m.png").stat().st_size, (cwd / "m.svg").stat().st_size
        print("  import checks ...", flush=True)
        commands = (["--help"], ["list"], ["plot", "cyclic", "--help"])
        imports = [check_imports(args, cwd) for args in commands]
    return ProcessResults(steps, memory_steps, csv, png, memory, reference, identical,
                          png_bytes, svg_bytes, imports)


# -------------------------------------------------------------------------- reporting


def us(seconds: float) -> str:
    return "-" if seconds != seconds else f"{seconds * 1e6:.2f}"


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return lines


def source_digest() -> str:
    """A short hash of lrviz's sources: other people edit the tree while this runs."""
    digest = hashlib.sha1()
    for path in sorted((ROOT / "lrviz").rglob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


def machine() -> list[str]:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import matplotlib

    try:
        commit = subprocess.run(["git", "-C", str(ROOT), "describe", "--always", "--dirty"],
                                capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    return [
        f"- CPU: {model}; {os.cpu_count()} logical cores"
        f" ({len(os.sched_getaffinity(0))} usable)",
        f"- OS: {platform.platform()}",
        f"- Python {platform.python_version()}, torch {torch.__version__}, "
        f"numpy {np.__version__}, matplotlib {matplotlib.__version__}, "
        f"lrviz {lrviz.__version__} (git {commit})",
    ]


def in_process_section(results: list[CaseResult]) -> tuple[list[str], bool]:
    header = ["scheduler", "steps", "(a) hand", "(b) lean", "(c) engine", "(d) simulate()",
              "c/b", "c/b median", "d/b", "a/c", f"c/b <= {ENGINE_MAX_RATIO}"]
    rows, all_ok = [], True
    for r in results:
        t = r.timings
        ok = r.ratio("engine", "lean") <= ENGINE_MAX_RATIO
        all_ok &= ok
        rows.append([r.name, f"{r.steps:,}", us(t["hand"].best), us(t["lean"].best),
                     us(t["engine"].best), us(t["total"].best),
                     f"{r.ratio('engine', 'lean'):.3f}",
                     f"{r.ratio('engine', 'lean', median=True):.3f}",
                     f"{r.ratio('total', 'lean'):.3f}", f"{r.ratio('hand', 'engine'):.1f}",
                     verdict(ok)])
    lines = ["## Per step, in one process (µs/step, best of the repeats)", "",
             *table(header, rows), ""]
    problems = [f"- {r.name} at {r.steps:,}: {p}" for r in results for p in r.problems]
    if problems:
        lines += ["Problems found by the checks:", "", *problems, ""]
    return lines, all_ok


def process_section(p: ProcessResults) -> tuple[list[str], dict[str, bool]]:
    csv_ratio = p.csv[0].best / p.csv[1].best
    png_speedup = p.png[1].best / p.png[0].best
    mem_ratio = p.memory[0].peak_mib / p.memory[1].peak_mib
    verdicts = {
        f"`lrviz plot -o x.csv` at {p.steps:,} steps <= {CSV_MAX_RATIO}x the minimal script":
            csv_ratio <= CSV_MAX_RATIO,
        f"`lrviz plot -o x.png` at {p.steps:,} steps >= {PNG_MIN_SPEEDUP}x faster than the "
        "hand-written script": png_speedup >= PNG_MIN_SPEEDUP,
        f"{p.memory_steps:,} steps to PNG+SVG: peak RSS <= {MEMORY_MAX_RATIO}x the lean loop "
        "process": mem_ratio <= MEMORY_MAX_RATIO,
        f"{p.memory_steps:,}-step SVG < {SVG_MAX_BYTES:,} bytes": p.svg_bytes < SVG_MAX_BYTES,
        "`lrviz --help`, `lrviz list`, `lrviz plot cyclic --help` import neither torch nor "
        "matplotlib": all(not c.heavy for c in p.imports),
    }
    procs = [*p.reference, *p.csv, *p.png, *p.memory]
    rows = [[f"`{proc.label}`", f"{proc.best:.3f}", f"{proc.median:.3f}",
             f"{min(proc.cpu_seconds):.3f}", f"{proc.peak_mib:.0f}"] for proc in procs]
    lines = [
        f"## Whole processes ({len(p.csv[0].seconds)} runs each, interleaved; memory runs: "
        f"{len(p.memory[0].seconds)})", "",
        "CosineAnnealingLR on SGD(lr=0.1, momentum=0.9); `lrviz plot cosine --steps N --t-max N`.",
        "",
        *table(["process", "wall s (best)", "wall s (median)", "CPU s (best)",
                "peak RSS MiB"], rows), "",
        f"- CSV: lrviz / minimal script = **{csv_ratio:.3f}** (median "
        f"{p.csv[0].median / p.csv[1].median:.3f}; "
        f"{'byte-identical CSVs' if p.csv_identical else 'THE CSV FILES DIFFER'})",
        f"- PNG: hand-written script / lrviz = **{png_speedup:.2f}x** (median "
        f"{p.png[1].median / p.png[0].median:.2f}x)",
        f"- Memory at {p.memory_steps:,} steps: lrviz PNG+SVG / lean loop = **{mem_ratio:.3f}**",
        f"- Files at {p.memory_steps:,} steps: PNG {p.png_bytes:,} bytes, "
        f"SVG {p.svg_bytes:,} bytes", "",
        *table(["command (`python -X importtime -m lrviz ...`)", "wall s",
                "torch/matplotlib imported"],
               [[" ".join(c.args), f"{c.seconds:.3f}", ", ".join(c.heavy[:4]) or "none"]
                for c in p.imports]), "",
    ]
    return lines, verdicts


def report(results: list[CaseResult], processes: ProcessResults | None, argv: list[str],
           digests: tuple[str, str]) -> str:
    lines = ["# lrviz benchmark results", "",
             f"`python benchmarks/bench.py {' '.join(argv)}`".replace(" `", "`"), "",
             *machine(), f"- lrviz sources digest: {digests[0]}", ""]
    if digests[0] != digests[1]:
        lines += [f"**lrviz's sources changed during the run ({digests[0]} -> {digests[1]}): "
                  "the sections may have measured different code. Run again.**", ""]
    verdicts: dict[str, bool] = {}
    body: list[str] = []
    if results:
        section, ok = in_process_section(results)
        verdicts[f"engine per step <= {ENGINE_MAX_RATIO}x the lean loop (b), every row"] = ok
        body += section
    if processes is not None:
        section, more = process_section(processes)
        verdicts.update(more)
        body += section
    lines += ["## Targets", "", *table(["target", "result"],
                                       [[t, verdict(ok)] for t, ok in verdicts.items()]), ""]
    lines += body
    lines += ["(a) hand loop: zero_grad, optimizer.step, get_last_lr()[0] appended, "
              "scheduler.step; (b) lean loop: scheduler.step plus one param_groups read "
              "(lr, and momentum where lrviz records it) into numpy; (c) "
              "`lrviz.engine.simulate(spec)`; (d) `lrviz.simulate(dict)` incl. validation. "
              "Each includes building its optimizer and scheduler.", ""]
    return "\n".join(lines)


# ------------------------------------------------------------------------------- main


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="10k and 100k steps, fewer repeats")
    parser.add_argument("--sizes", type=lambda s: [int(float(x)) for x in s.split(",")],
                        help="comma-separated run lengths, e.g. 10000,1e6")
    parser.add_argument("--schedulers", type=lambda s: s.split(","), default=list(SCHEDULERS),
                        help=f"comma-separated subset of {','.join(SCHEDULERS)}")
    parser.add_argument("--repeats", type=int, help="repeats per case (default by size)")
    parser.add_argument("--hand-repeats", type=int,
                        help="cap on repeats of the slow hand loop (default: all up to 100k "
                             "steps, 1 above)")
    parser.add_argument("--process-steps", type=int, default=200_000)
    parser.add_argument("--memory-steps", type=int, default=1_000_000)
    parser.add_argument("--process-repeats", type=int, help="default 5 (2 with --quick)")
    parser.add_argument("--skip-in-process", action="store_true")
    parser.add_argument("--skip-processes", action="store_true")
    parser.add_argument("--out", type=Path, default=HERE / "results.md")
    args = parser.parse_args(argv)
    unknown = [s for s in args.schedulers if s not in SCHEDULERS]
    if unknown:
        parser.error(f"unknown scheduler(s) {unknown}; choose from {list(SCHEDULERS)}")
    return args


def main(argv: list[str]) -> None:
    args = parse_args(argv)
    sizes = args.sizes or (QUICK_SIZES if args.quick else FULL_SIZES)
    names = [SCHEDULERS[s] for s in args.schedulers]
    digest = source_digest()
    print("\n".join(machine()), f"- lrviz sources digest: {digest}", sep="\n", flush=True)
    results: list[CaseResult] = []
    if not args.skip_in_process:
        print("in-process (best us/step: a hand, b lean, c engine, d simulate()):", flush=True)
        results = run_in_process(names, sizes, args)
    processes = None
    if not args.skip_processes:
        repeats = args.process_repeats or (2 if args.quick else 5)
        processes = run_processes(args.process_steps, args.memory_steps, repeats)
    text = report(results, processes, argv, (digest, source_digest()))
    args.out.write_text(text + "\n", encoding="utf-8")
    print()
    print(text)
    print(f"written to {args.out}")


if __name__ == "__main__":
    main(sys.argv[1:])
