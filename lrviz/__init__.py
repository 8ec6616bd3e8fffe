"""lrviz: see exactly what a PyTorch learning-rate scheduler will do.

>>> import lrviz
>>> trace = lrviz.simulate({"steps": 100, "scheduler": {"type": "cosine", "T_max": 100}})
>>> trace.lr[0], trace.steps
(0.1, 100)

Importing lrviz is cheap: torch and matplotlib load only when a schedule runs or draws.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "LrvizError", "RunError", "Simulation", "Spec", "SpecError", "Trace", "__version__",
    "as_spec", "load_spec", "simulate",
]

if TYPE_CHECKING:
    from lrviz.api import Simulation, as_spec, load_spec, simulate
    from lrviz.errors import LrvizError, RunError, SpecError
    from lrviz.spec import Spec
    from lrviz.trace import Trace

_HOMES = {
    "as_spec": "lrviz.api", "simulate": "lrviz.api", "load_spec": "lrviz.api",
    "Simulation": "lrviz.api",
    "Spec": "lrviz.spec", "Trace": "lrviz.trace", "LrvizError": "lrviz.errors",
    "SpecError": "lrviz.errors", "RunError": "lrviz.errors",
}


def __dir__() -> list[str]:
    """The public names, though they load only when first used."""
    return sorted(__all__)


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        import importlib

        return getattr(importlib.import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'lrviz' has no attribute {name!r}")
