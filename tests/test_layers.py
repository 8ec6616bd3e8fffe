"""The package's shape: data flows one way, and renderers never need torch.

Every ``import`` of an lrviz module counts: at the top of a file, inside a function, and
under ``if TYPE_CHECKING:`` too (a type named across layers is a dependency as well).
``from lrviz.a import b`` counts as importing ``lrviz.a.b`` when that is a module, else
``lrviz.a``. The root package, which only re-exports names lazily, is left out.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "lrviz"


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                found.add(full if full in MODULES else node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {m for m in found if m in MODULES and m != "lrviz"}


GRAPH = {name: _imports(path) - {name} for name, path in MODULES.items()}


def _cycle() -> list[str] | None:
    """One import cycle, as the modules along it, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(module: str) -> list[str] | None:
        state[module] = 1
        path.append(module)
        for other in sorted(GRAPH[module]):
            if state.get(other) == 1:
                return [*path[path.index(other):], other]
            if other not in state and (found := visit(other)):
                return found
        path.pop()
        state[module] = 2
        return None

    for module in sorted(GRAPH):
        if module not in state and (found := visit(module)):
            return found
    return None


def test_no_import_cycle_inside_the_package() -> None:
    assert _cycle() is None, " -> ".join(_cycle() or [])


def test_the_walker_sees_a_cycle() -> None:
    GRAPH["lrviz.errors"].add("lrviz.cli")  # cli imports errors: now they import each other
    try:
        assert _cycle() is not None
    finally:
        GRAPH["lrviz.errors"].discard("lrviz.cli")


def test_nothing_imports_the_cli() -> None:
    users = [m for m, deps in GRAPH.items() if "lrviz.cli" in deps and m != "lrviz.__main__"]
    assert users == []


def test_rendering_a_hand_built_trace_needs_neither_torch_nor_the_engine(tmp_path: Path) -> None:
    code = """
import io, sys
from pathlib import Path

import pytest
import numpy as np
from lrviz.build import build_spec
from lrviz.trace import Trace
from lrviz.render import data, figure, table, outputs
from lrviz.render.compare import figure as compare_figure
spec = build_spec({"steps": 4, "scheduler": {"type": "step", "step_size": 2},
                   "optimizer": {"param_groups": [{"lr": 0.1}, {"lr": 0.01}]}})
trace = Trace(spec, np.array([[0.1, 0.1, 0.01, 0.01], [0.01, 0.01, 0.001, 0.001]]))
figure.render_bytes(trace, ".png")
compare_figure([trace, trace], "grid")
data.write_csv(trace, io.BytesIO())
data.write_json(trace, io.BytesIO())
table.write_markdown(trace, io.BytesIO())
outputs.write_outputs(trace, [Path("t.csv"), Path("t.svg")])
loaded = [m for m in ("torch", "lrviz.engine", "lrviz.check") if m in sys.modules]
print(",".join(loaded) or "none")
"""
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "none"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.csv", "t.svg"]


def test_plateau_bookkeeping_is_replayed_once_per_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from lrviz import plateau
    from lrviz.cli import app

    calls = []
    real = plateau.replay
    monkeypatch.setattr(plateau, "replay", lambda trace: calls.append(1) or real(trace))
    out = [str(tmp_path / f"p.{ext}") for ext in ("png", "md")]
    result = CliRunner().invoke(app, ["table", "plateau", "--steps", "60", "-o", out[1]])
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(app, ["plot", "plateau", "--steps", "60", "-o", out[0]])
    assert result.exit_code == 0, result.output
    assert len(calls) == 2  # one per run: events, the metric panel and check share it
