"""Record every framework's runs: ``python tests/frameworks/record.py [OUTDIR] [FRAMEWORK...]``.

Each framework runs in its own process (their global state, accelerate's above all, stays
apart), two at a time, and writes ``OUTDIR/<framework>.json`` (default: recordings/ beside
this file, the recordings tests/test_loop.py holds lrviz.loop to). Run it with the
framework venv's python, the frameworks installed with torch pinned (constraints.txt).
"""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).parent
RUNNERS = {"hf-trainer": "run_hf.py", "lightning": "run_lightning.py",
           "accelerate": "run_accelerate.py", "torchtune": "run_torchtune.py",
           "mmengine": "run_mmengine.py"}


def record(outdir: Path, frameworks: list[str], python: str = sys.executable) -> dict[str, Path]:
    """Run the named frameworks' grids; the recording file of each."""
    outdir = outdir.resolve()  # the runners run in this folder
    outdir.mkdir(parents=True, exist_ok=True)

    def one(framework: str) -> Path:
        out = outdir / f"{framework}.json"
        # one thread per process: the runs are tiny and share two cores
        env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        done = subprocess.run([python, str(HERE / RUNNERS[framework]), str(out)],
                              cwd=HERE, capture_output=True, text=True, timeout=600, env=env)
        if done.returncode != 0:
            raise RuntimeError(f"{framework} failed:\n{done.stderr[-4000:]}")
        return out

    with ThreadPoolExecutor(max_workers=2) as pool:  # the machine has two cores
        return dict(zip(frameworks, pool.map(one, frameworks), strict=True))


if __name__ == "__main__":
    outdir = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "recordings"
    names = sys.argv[2:] or list(RUNNERS)
    for name, path in record(outdir, names).items():
        print(f"{name}: {path}")
