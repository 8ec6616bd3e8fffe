"""Where lrviz spends time outside torch's own ``scheduler.step()``.

Run from the repository root (after bench.py, not beside it: they share the cores)::

    .venv/bin/python benchmarks/profile_lrviz.py            # 200k steps
    .venv/bin/python benchmarks/profile_lrviz.py --steps 1000000 --top 20

1. Loop overhead: ``lrviz.engine.simulate`` (with ``build_scheduler`` patched) and the
   lean loop of bench.py, both driving a scheduler whose ``step()`` does nothing, so
   what remains is each loop's own cost per step (the part lrviz controls).
2. Fixed costs: spec validation, building optimizer and scheduler.
3. cProfile of ``lrviz.engine.simulate`` per scheduler: the functions by own time.
4. ``lrviz plot cosine -o x.csv`` against ``baselines/lean_csv.py`` and ``-o x.png``
   against ``baselines/hand_png.py``, phase by phase, each in a fresh interpreter; then
   the heaviest imports (``-X importtime``) and a cProfile of the whole CSV process.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any
from unittest import mock

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
# numpy, torch, lrviz and bench are imported inside the functions: the --child runs
# time their imports from a bare interpreter.


class NoOpScheduler:
    """Stands in for a scheduler whose step() costs nothing."""

    def step(self, *args: Any) -> None:
        return None


def best_of(fn: Callable[[], Any], repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


# ---------------------------------------------------------------------- 1. loop overhead


def loop_overhead(steps: int) -> None:
    import bench

    import lrviz
    from lrviz import engine

    print(f"\n## 1. Loop overhead per step with a no-op step() ({steps:,} steps, ns/step)\n")
    print("| path | lrviz engine | lean loop | difference |")
    print("|---|---|---|---|")
    for label, name in (("one group, lr only", "CosineAnnealingLR"),
                        ("lr + momentum (cyclic)", "CyclicLR"),
                        ("metric (plateau)", "ReduceLROnPlateau")):
        case = bench.make_case(name, steps)
        spec = lrviz.as_spec(bench.spec_dict(case))
        # The real engine.simulate, its scheduler swapped for one whose step() is free.
        with mock.patch.object(engine, "build_scheduler", return_value=NoOpScheduler()):
            ours = best_of(partial(engine.simulate, spec))
        lean_case = bench.Case(name, steps, lambda o: NoOpScheduler(), case.spec,
                               case.metric, case.momentum)
        lean = best_of(partial(bench.lean_loop, lean_case))
        print(f"| {label} | {ours / steps * 1e9:.0f} | {lean / steps * 1e9:.0f} | "
              f"{(ours - lean) / steps * 1e9:+.0f} |")


# ------------------------------------------------------------------------ 2. fixed costs


def fixed_costs(steps: int) -> None:
    import bench

    import lrviz
    from lrviz import engine

    print(f"\n## 2. Fixed costs (ms, best of 5; spec at {steps:,} steps)\n")
    print("| scheduler | as_spec(dict) | build_optimizer | build_scheduler | "
          "engine.simulate(1 step) |")
    print("|---|---|---|---|---|")
    for name in bench.SCHEDULERS.values():
        case = bench.make_case(name, steps)
        raw = bench.spec_dict(case)
        spec = lrviz.as_spec(raw)
        one = lrviz.as_spec({**raw, "steps": 1})
        validate = best_of(partial(lrviz.as_spec, raw))
        build_opt = best_of(partial(engine.build_optimizer, spec))
        optimizer, _ = engine.build_optimizer(spec)
        build_sched = best_of(partial(engine.build_scheduler, spec.scheduler, optimizer, spec))
        simulate = best_of(partial(engine.simulate, one))
        print(f"| {name} | {validate * 1e3:.2f} | {build_opt * 1e3:.2f} | "
              f"{build_sched * 1e3:.2f} | {simulate * 1e3:.2f} |")


# --------------------------------------------------------------------- 3. engine profile


def engine_profile(steps: int, top: int, names: list[str]) -> None:
    import bench

    import lrviz
    from lrviz import engine

    for name in names:
        spec = lrviz.as_spec(bench.spec_dict(bench.make_case(name, steps)))
        profiler = cProfile.Profile()
        profiler.runcall(engine.simulate, spec)
        print(f"\n## 3. cProfile of engine.simulate, {name}, {steps:,} steps "
              "(profiler overhead inflates per-call costs)\n")
        print_stats(profiler, top, "tottime")


def print_stats(profiler: cProfile.Profile | str, top: int, sort: str,
                restrict: str | None = None) -> None:
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    if restrict is None:
        stats.strip_dirs().sort_stats(sort).print_stats(top)
    else:
        stats.sort_stats(sort).print_stats(restrict, top)
    text = out.getvalue()
    print("```\n" + text[text.index("   ncalls"):].rstrip() + "\n```")


# ------------------------------------------------------------- 4. the whole processes


class Phases:
    """Wall time between consecutive marks."""

    def __init__(self) -> None:
        self.marks: list[tuple[str, float]] = []
        self.last = time.perf_counter()

    def __call__(self, label: str) -> None:
        now = time.perf_counter()
        self.marks.append((label, now - self.last))
        self.last = now


def lrviz_phases(steps: int, out: str) -> Phases:
    """``lrviz plot cosine ... -o out`` in the order cli.plot does it, phase by phase."""
    mark = Phases()
    import lrviz.cli  # noqa: F401  (typer, click, rich ...)
    mark("import lrviz.cli")
    from lrviz import flags, render
    from lrviz.api import spec_from_invocation

    inv = flags.parse(["cosine", "--steps", str(steps), "--t-max", str(steps), "-o", out])
    spec = spec_from_invocation(inv)
    render.check_outputs(inv.outputs)
    mark("parse flags, build spec")
    import torch  # noqa: F401
    mark("import torch")
    from lrviz import engine

    if hasattr(engine, "skip_dynamo_import"):  # what the CLI does for its own process
        engine.skip_dynamo_import()
    engine.build_optimizer(spec)
    mark("first optimizer built (torch._dynamo imported: "
         f"{'torch._dynamo' in sys.modules})")
    trace = engine.simulate(spec)
    mark("engine.simulate")
    try:
        from lrviz.check import findings
    except ImportError:
        pass
    else:
        findings(trace.spec, trace)  # plot prints what `lrviz check` would find
        mark("check.findings")
    if out.endswith(".csv"):
        from lrviz.render import data

        data.csv_text(trace)
        mark("csv_text alone (repeated inside write_outputs)")
    else:
        import matplotlib.figure  # noqa: F401
        mark("import matplotlib.figure")
        from lrviz.render.figure import figure

        figure(trace)
        mark("figure(trace) alone (repeated inside write_outputs)")
    render.write_outputs(trace, inv.outputs)
    mark("write_outputs")
    return mark


def lean_phases(steps: int, out: str) -> Phases:
    """baselines/lean_csv.py, phase by phase."""
    mark = Phases()
    import numpy  # noqa: F401
    import torch  # noqa: F401
    mark("import numpy, torch")
    from baselines import lean_csv

    lrs = lean_csv.lean_lrs(steps)
    mark("lean loop (first optimizer imports torch._dynamo)")
    lean_csv.write_csv(lrs, out)
    mark("write CSV")
    return mark


def hand_phases(steps: int, out: str) -> Phases:
    """baselines/hand_png.py, phase by phase."""
    mark = Phases()
    from baselines import hand_png  # matplotlib, pyplot, torch
    mark("import matplotlib.pyplot, torch")
    lrs = hand_png.hand_lrs(steps)
    mark("hand loop (first optimizer imports torch._dynamo)")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 3.2))
    ax.plot(lrs)
    fig.savefig(out, dpi=150)
    mark("pyplot figure + savefig")
    return mark


CHILDREN = {"lrviz": lrviz_phases, "lean": lean_phases, "hand": hand_phases}


def child(which: str, steps: int, out: str) -> None:
    """Run in a fresh interpreter: print each phase as ``seconds<TAB>label``."""
    for label, seconds in CHILDREN[which](steps, out).marks:
        print(f"{seconds:.4f}\t{label}")


def show_phases(which: str, steps: int, out: Path) -> None:
    wall = time.perf_counter()
    done = subprocess.run([sys.executable, __file__, "--child", which, "--steps", str(steps),
                           "--out", str(out)], capture_output=True, text=True, check=True)
    wall = time.perf_counter() - wall
    rows = [line.split("\t") for line in done.stdout.splitlines()]
    print(f"{which} -> {out.name}: wall {wall:.3f} s (phases {sum(float(s) for s, _ in rows):.3f}"
          " s; the rest is interpreter start-up and exit)")
    for seconds, label in rows:
        print(f"  {float(seconds):7.3f}  {label}")


def process_phases(steps: int, top: int) -> None:
    import bench

    print(f"\n## 4. Whole processes at {steps:,} steps, phase by phase\n")
    with tempfile.TemporaryDirectory(prefix="lrviz-profile-") as tmp:
        folder = Path(tmp)
        show_phases("lrviz", steps, folder / "lrviz.csv")
        show_phases("lean", steps, folder / "lean.csv")
        show_phases("lrviz", steps, folder / "lrviz.png")
        show_phases("hand", steps, folder / "hand.png")
        command = bench.cosine_plot(steps, str(folder / "x.csv"))[1:]
        done = subprocess.run([sys.executable, "-X", "importtime", "-m", "lrviz", *command],
                              capture_output=True, text=True, check=True)
        print("\nheaviest top-level imports of `lrviz plot -o x.csv` (cumulative ms):")
        print_top_imports(done.stderr, top)
        prof = folder / "plot.prof"
        subprocess.run([sys.executable, "-m", "cProfile", "-o", str(prof), "-m", "lrviz",
                        *command], capture_output=True, check=True)
        print("\ncProfile of the whole `lrviz plot -o x.csv` process: lrviz's own functions "
              "by cumulative time")
        print_stats(str(prof), top, "cumulative", restrict=r"lrviz[/\\]")


def print_top_imports(stderr: str, top: int) -> None:
    rows = []
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cumulative, name = line.split("|")
        if cumulative.strip().isdigit() and not name.startswith("  "):  # top level only
            rows.append((int(cumulative) / 1000, name.strip()))
    for ms, name in sorted(rows, reverse=True)[:top]:
        print(f"  {ms:8.1f}  {name}")


# ----------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=200_000)
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--profile", default="CosineAnnealingLR,CyclicLR,ReduceLROnPlateau",
                        help="schedulers to cProfile in section 3 (torch class names)")
    parser.add_argument("--child", choices=tuple(CHILDREN), help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.steps, args.out)
        return
    import numpy as np
    import torch

    print(f"torch {torch.__version__}, numpy {np.__version__}")
    loop_overhead(args.steps)
    fixed_costs(args.steps)
    engine_profile(args.steps, args.top, args.profile.split(","))
    process_phases(args.steps, args.top)


if __name__ == "__main__":
    main()
