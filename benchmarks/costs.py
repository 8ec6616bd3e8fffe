"""Fixed costs, memory, cores and the slow schedulers: whole processes and in-process ratios.

    .venv/bin/python benchmarks/costs.py            # ~10 min on 2 idle cores
    .venv/bin/python benchmarks/costs.py --quick    # fewer runs, 1M rows instead of 10M

Every comparison runs side by side, round-robin, and reports medians (best too); the
load average and CPU pressure before and after are printed with the results, since
a shared machine moves wall times a lot (CPU times much less). Cases:

- ``lrviz plot cosine --steps 1000 -o x.png`` against ``baselines/minimal_png.py`` (the
  lean loop and a ``matplotlib.figure.Figure``, no pyplot) and ``baselines/hand_png.py``
  (the pyplot script people write);
- N rows (10M) to CSV and to JSON: peak RSS against ``baselines/lean_csv.py`` writing
  the same CSV (byte-identical);
- ``lrviz gallery configs``: CPU time / wall time with the default workers and with
  ``--jobs 1``, and the two folders compared byte for byte;
- in one process, CPU time per step: LambdaLR with a text expression against the same
  lambda written in Python, ReduceLROnPlateau (engine, and ``lrviz.simulate(dict)``
  with the metric as a list: validation included) against the lean loop;
- ``plot plateau --steps 1000000`` to PNG against the same cosine run; its SVG's size.

Results go to the "Costs" section of ``results.md`` (``--out`` elsewhere), replacing
the previous one and leaving bench.py's sections as they are.
"""

from __future__ import annotations

import argparse
import filecmp
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import ROOT, lrviz_command, machine, run_process, source_digest, table

import lrviz
from lrviz.api import as_spec
from lrviz.engine import simulate, skip_dynamo_import

HERE = Path(__file__).resolve().parent
BASELINES = HERE / "baselines"
BEGIN, END = "<!-- costs.py: begin -->", "<!-- costs.py: end -->"


def load() -> str:
    one, five, _ = os.getloadavg()
    try:
        some = Path("/proc/pressure/cpu").read_text().split()[1].split("=")[1]
        pressure = f", CPU pressure (some, avg10) {some}%"
    except (OSError, IndexError):
        pressure = ""
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min){pressure}"


def med(values: Sequence[float]) -> float:
    return statistics.median(values)


def rounds(commands: dict[str, list[str]], repeats: int, cwd: Path,
           between: Callable[[], None] | None = None) -> dict[str, list[tuple[float, float, int]]]:
    """(wall s, CPU s, peak RSS KiB) per run of each command, round-robin."""
    out: dict[str, list[tuple[float, float, int]]] = {k: [] for k in commands}
    for i in range(repeats):
        order = list(commands)
        order = order[i % len(order):] + order[:i % len(order)]  # rotate who goes first
        for key in order:
            run = run_process(commands[key], cwd)
            out[key].append((run.seconds, run.cpu_seconds, run.rss_kib))
            if between is not None:
                between()
    return out


def plot_1k(repeats: int, work: Path) -> tuple[list[str], bool]:
    lean = [sys.executable, str(BASELINES / "minimal_png.py"), "1000", "m.png"]
    hand = [sys.executable, str(BASELINES / "hand_png.py"), "1000", "h.png"]
    ours = [*lrviz_command(), "plot", "cosine", "--steps", "1000", "--t-max", "1000",
            "-o", "l.png"]
    runs = rounds({"lrviz": ours, "minimal": lean, "pyplot": hand}, repeats, work)
    def wall(key: str) -> float:
        return med([r[0] for r in runs[key]])

    def cpu(key: str) -> float:
        return med([r[1] for r in runs[key]])

    def paired(key: str) -> float:  # the median of the side-by-side ratios
        return med([a[0] / b[0] for a, b in zip(runs["lrviz"], runs[key], strict=True)])

    ratio = paired("minimal")
    labels = {"lrviz": "`lrviz plot cosine --steps 1000 -o x.png`",
              "minimal": "`baselines/minimal_png.py` (Figure, no pyplot)",
              "pyplot": "`baselines/hand_png.py` (pyplot)"}
    rows = [(label, f"{wall(k):.3f}", f"{min(r[0] for r in runs[k]):.3f}", f"{cpu(k):.3f}",
             f"{max(r[2] for r in runs[k]) / 1024:.0f}") for k, label in labels.items()]
    lines = ["### `plot` of 1,000 steps to PNG", "",
             *table(["process", "wall s (median)", "wall s (best)", "CPU s (median)",
                     "peak RSS MiB"], rows), "",
             f"- lrviz / minimal script, wall: **{ratio:.3f}** (median of {repeats} "
             f"side-by-side ratios; ratio of the medians {wall('lrviz') / wall('minimal'):.3f}); "
             f"CPU: {cpu('lrviz') / cpu('minimal'):.3f}",
             f"- lrviz / pyplot script, wall: {paired('pyplot'):.3f}", ""]
    return lines, ratio <= 1.10


def rows_memory(steps: int, repeats: int, work: Path) -> tuple[list[str], bool]:
    n = str(steps)
    commands = {
        "lean": [sys.executable, str(BASELINES / "lean_csv.py"), n, "lean.csv"],
        "csv": [*lrviz_command(), "plot", "cosine", "--steps", n, "--t-max", n, "-o", "l.csv"],
        "json": [*lrviz_command(), "plot", "cosine", "--steps", n, "--t-max", n, "-o",
                 "l.json"],
    }

    def tidy() -> None:  # keep the disk free; compare the CSVs once both exist
        if (work / "lean.csv").exists() and (work / "l.csv").exists():
            same.append(filecmp.cmp(work / "lean.csv", work / "l.csv", shallow=False))
            (work / "l.csv").unlink()
        (work / "l.json").unlink(missing_ok=True)

    same: list[bool] = []
    runs = rounds(commands, repeats, work, tidy)
    (work / "lean.csv").unlink(missing_ok=True)
    lean_rss = min(r[2] for r in runs["lean"])
    csv_ratio = min(r[2] for r in runs["csv"]) / lean_rss
    json_ratio = min(r[2] for r in runs["json"]) / lean_rss
    rows = [(label, f"{med([r[0] for r in runs[k]]):.1f}", f"{med([r[1] for r in runs[k]]):.1f}",
             f"{min(r[2] for r in runs[k]) / 1024:.0f}")
            for k, label in (("lean", "`lean_csv.py` (lean loop + CSV)"),
                             ("csv", "`lrviz plot cosine -o x.csv`"),
                             ("json", "`lrviz plot cosine -o x.json`"))]
    lines = [f"### {steps:,} rows to CSV and JSON", "",
             *table(["process", "wall s (median)", "CPU s (median)", "peak RSS MiB"], rows),
             "",
             f"- peak RSS / lean loop: CSV **{csv_ratio:.2f}**, JSON **{json_ratio:.2f}**; "
             f"CSVs byte-identical: {all(same) and bool(same)}", ""]
    return lines, csv_ratio <= 1.3 and json_ratio <= 1.3 and all(same) and bool(same)


SPIN = "s = 0\nfor i in range(15_000_000):\n    s += i\n"


def cores_available(work: Path) -> tuple[float, float]:
    """What the machine gives two CPU-bound processes at once: (CPU s / wall s of the
    pair, CPU s of one loop alone / CPU s of each in the pair). 2.0 and 1.0 on two idle
    cores; less when other work holds the cores."""
    alone = run_process([sys.executable, "-c", SPIN], work)
    start = time.perf_counter()
    launch = [sys.executable, "-S", "-c", "import subprocess, sys\n"
              "ps = [subprocess.Popen([sys.executable, '-c', sys.argv[1]]) for _ in range(2)]\n"
              "[p.wait() for p in ps]", SPIN]
    pair = run_process(launch, work)
    wall = time.perf_counter() - start
    return pair.cpu_seconds / max(wall, 1e-9), alone.cpu_seconds / (pair.cpu_seconds / 2)


def gallery(repeats: int, work: Path) -> tuple[list[str], bool]:
    base = [*lrviz_command(), "gallery", str(ROOT / "configs")]
    commands = {"default": [*base, "-o", "g-default"], "one": [*base, "-o", "g-one",
                                                              "--jobs", "1"]}

    def fresh() -> None:  # once both folders of a round exist: compare, then remove
        if (work / "g-default").exists() and (work / "g-one").exists():
            same.append(_same_tree(work / "g-default", work / "g-one"))
            shutil.rmtree(work / "g-default")
            shutil.rmtree(work / "g-one")

    same: list[bool] = []
    spare_before = cores_available(work)
    runs = rounds(commands, repeats, work, fresh)
    spare_after = cores_available(work)
    busy = {k: med([r[1] / r[0] for r in rs]) for k, rs in runs.items()}
    speedup = med([b[0] / a[0] for a, b in zip(runs["default"], runs["one"], strict=True)])
    rows = [(label, f"{med([r[0] for r in runs[k]]):.2f}", f"{med([r[1] for r in runs[k]]):.2f}",
             f"{busy[k]:.2f}")
            for k, label in (("default", "`lrviz gallery configs` (default: a worker per core)"),
                             ("one", "`lrviz gallery configs --jobs 1`"))]
    lines = ["### `gallery configs` (22 specs) on every core", "",
             *table(["process", "wall s (median)", "CPU s (median)", "CPU / wall (median)"],
                    rows), "",
             f"- CPU time / wall time with the default workers: **{busy['default']:.2f}**; "
             f"wall time, --jobs 1 / default: {speedup:.2f}x; outputs byte-identical in "
             f"every round: {all(same) and bool(same)}",
             f"- what the machine gave two CPU-bound loops run at once (CPU s / wall s of "
             f"the pair; 2.0 on two idle cores): {spare_before[0]:.2f} before, "
             f"{spare_after[0]:.2f} after; CPU time of a loop alone / in the pair: "
             f"{spare_before[1]:.2f}, {spare_after[1]:.2f}", ""]
    return lines, busy["default"] >= 1.5 and all(same) and bool(same)


def _same_tree(a: Path, b: Path) -> bool:
    names = sorted(p.name for p in a.iterdir())
    return names == sorted(p.name for p in b.iterdir()) and all(
        (a / n).read_bytes() == (b / n).read_bytes() for n in names)


def _lean(make: Callable[[torch.optim.Optimizer], object], steps: int,
          metric: list[float] | None = None) -> np.ndarray:
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1, momentum=0.9)
    optimizer._opt_called = True  # type: ignore[attr-defined]
    scheduler = make(optimizer)
    group = optimizer.param_groups[0]
    step = scheduler.step  # type: ignore[attr-defined]
    lrs = np.empty(steps)
    if metric is None:
        for k in range(steps):
            lrs[k] = group["lr"]
            step()
    else:
        for k in range(steps):
            lrs[k] = group["lr"]
            step(metric[k])
    return lrs


def in_process(steps: int, repeats: int) -> tuple[list[str], bool]:
    skip_dynamo_import()
    text = "0.95 ** (epoch / 1000) if epoch > 100 else (epoch + 1) / 101"

    def as_python(epoch: float) -> float:
        return 0.95 ** (epoch / 1000) if epoch > 100 else (epoch + 1) / 101

    rng = np.random.default_rng(0)
    metric = (1 / (1 + np.arange(steps) / 1000) + 0.01 * rng.standard_normal(steps)).tolist()
    lam = {"steps": steps, "scheduler": {"type": "LambdaLR", "lr_lambda": text}}
    plat = {"steps": steps, "scheduler": {"type": "ReduceLROnPlateau"},
            "metric": {"values": metric}}
    lam_spec, plat_spec = as_spec(lam), as_spec(plat)
    cases = {
        "LambdaLR": {
            "lean": lambda: _lean(lambda o: torch.optim.lr_scheduler.LambdaLR(o, as_python),
                                  steps),
            "engine": lambda: simulate(lam_spec).lrs[0],
            "simulate(dict)": lambda: lrviz.simulate(lam).lrs[0]},
        "ReduceLROnPlateau": {
            "lean": lambda: _lean(torch.optim.lr_scheduler.ReduceLROnPlateau, steps, metric),
            "engine": lambda: simulate(plat_spec).lrs[0],
            "simulate(dict)": lambda: lrviz.simulate(plat).lrs[0]},
    }
    lines = [f"### In one process, {steps:,} steps (CPU time per step, {repeats} rounds)", "",
             "`simulate(dict)` includes validating the spec (the metric list too) and the "
             "analysis (the plateau replay, the findings).", ""]
    rows, ok = [], True
    for name, variants in cases.items():
        first = {k: np.asarray(f()) for k, f in variants.items()}  # also a warm-up
        equal = all(np.array_equal(first["lean"], v) for v in first.values())
        times: dict[str, list[float]] = {k: [] for k in variants}
        for i in range(repeats):
            order = list(variants)[i % 3:] + list(variants)[:i % 3]
            for key in order:
                start = time.process_time()
                variants[key]()
                times[key].append(time.process_time() - start)
        ratio = {k: med([a / b for a, b in zip(times[k], times["lean"], strict=True)])
                 for k in ("engine", "simulate(dict)")}
        ok = ok and equal and ratio["engine"] <= 1.05
        rows.append((name, *(f"{med(times[k]) / steps * 1e6:.3f}" for k in variants),
                     f"**{ratio['engine']:.3f}**", f"{ratio['simulate(dict)']:.3f}",
                     "yes" if equal else "NO"))
    lines += table(["scheduler", "lean µs", "engine µs", "simulate(dict) µs",
                    "engine / lean", "simulate(dict) / lean", "same floats"], rows)
    return [*lines, ""], ok


def plateau_plot(repeats: int, work: Path) -> tuple[list[str], bool]:
    base = [*lrviz_command(), "plot"]
    n = ["--steps", "1000000"]
    commands = {"plateau": [*base, "plateau", *n, "-o", "p.png"],
                "cosine": [*base, "cosine", *n, "--t-max", "1000000", "-o", "c.png"]}
    runs = rounds(commands, repeats, work)
    run_process([*base, "plateau", *n, "-o", "p.svg"], work)
    svg = (work / "p.svg").stat().st_size
    ratio = med([a[0] / b[0] for a, b in zip(runs["plateau"], runs["cosine"], strict=True)])
    rows = [(f"`plot {k} --steps 1000000 -o x.png`", f"{med([r[0] for r in rs]):.2f}",
             f"{med([r[1] for r in rs]):.2f}", f"{min(r[2] for r in rs) / 1024:.0f}")
            for k, rs in runs.items()]
    lines = ["### 1,000,000 ReduceLROnPlateau steps", "",
             *table(["process", "wall s (median)", "CPU s (median)", "peak RSS MiB"], rows),
             "", f"- plateau / cosine PNG, wall: **{ratio:.2f}**; plateau SVG: "
             f"**{svg:,} bytes**", ""]
    return lines, ratio <= 1.5 and svg < 1_000_000


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rows", type=lambda s: int(float(s)), default=None,
                        help="rows for the memory case (default 10M, 1M with --quick)")
    parser.add_argument("--only", default="plot,rows,gallery,inprocess,plateau")
    parser.add_argument("--out", type=Path, default=HERE / "results.md")
    args = parser.parse_args(argv)
    quick = args.quick
    rows_n = args.rows or (1_000_000 if quick else 10_000_000)
    digest, before = source_digest(), load()
    print("machine:", before, flush=True)
    targets: list[tuple[str, bool]] = []
    body: list[str] = []
    with tempfile.TemporaryDirectory(prefix="lrviz-costs-") as tmp:
        work = Path(tmp)
        steps = {
            "plot": lambda: plot_1k(5 if quick else 9, work),
            "rows": lambda: rows_memory(rows_n, 1 if quick else 2, work),
            "gallery": lambda: gallery(2 if quick else 3, work),
            "inprocess": lambda: in_process(100_000 if quick else 200_000, 5 if quick else 9),
            "plateau": lambda: plateau_plot(2 if quick else 3, work),
        }
        names = {
            "plot": "`plot` 1k steps to PNG <= 1.10x the minimal script",
            "rows": f"{rows_n:,} rows: CSV and JSON peak RSS <= 1.3x the lean loop",
            "gallery": "`gallery configs`: CPU / wall >= 1.5, byte-identical to --jobs 1",
            "inprocess": "LambdaLR and ReduceLROnPlateau engine <= 1.05x the lean loop",
            "plateau": "1M plateau steps to PNG <= 1.5x cosine; SVG < 1 MB",
        }
        for key in args.only.split(","):
            print(f"running {key} ...", flush=True)
            try:
                lines, ok = steps[key]()
            except Exception as exc:  # one broken case must not lose the others
                import traceback

                traceback.print_exc()
                lines, ok = [f"### {key}: failed ({type(exc).__name__}: {exc})", ""], False
            print("\n".join(lines), flush=True)
            body += lines
            targets.append((names[key], ok))
    after = load()
    changed = source_digest() != digest
    section = [BEGIN, "## Costs (`benchmarks/costs.py" + (" --quick" if quick else "") + "`)", "",
               *machine(),
               f"- before: {before}", f"- after: {after}",
               "- 2 cores shared with other work: wall times move with the load; CPU "
               "times and the side-by-side ratios (medians) much less",
               *(["- **lrviz sources changed during the run: rerun**"] if changed else []),
               "", *table(["target", "result"], [(n, "PASS" if ok else "FAIL")
                                                 for n, ok in targets]), "", *body, END]
    text = args.out.read_text() if args.out.exists() else ""
    if BEGIN in text and END in text:
        text = text[:text.index(BEGIN)] + "\n".join(section) + text[text.index(END) + len(END):]
    else:
        text = text.rstrip("\n") + "\n\n" + "\n".join(section) + "\n"
    args.out.write_text(text)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main(sys.argv[1:])
