"""The library's front door: a spec in any form -> a validated Spec -> a Trace."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from lrviz import readers
from lrviz.errors import SpecError
from lrviz.spec import Spec, build_file_spec, build_spec, merge

if TYPE_CHECKING:
    from lrviz.trace import Trace


def load_spec(
    path: str | Path, overrides: dict[str, Any] | None = None, *, text: str | None = None,
    from_: str | None = None, **kwargs: Any,
) -> Spec:
    """Load and validate a spec file; ``overrides`` (a raw mapping) wins over the file.

    The file is lrviz's YAML spec or a config lrviz reads (README "Configs you already
    have"), told apart by its content; ``from_`` names the format instead (``"lrviz"``,
    ``"lightning"``: :func:`lrviz.readers.names`). ``text`` is the file's contents when
    the caller has already read it; ``kwargs`` go to :func:`lrviz.spec.build_spec`.
    """
    raw, locations = readers.read(path, text, from_)
    kwargs["locations"] = {**locations, **kwargs.get("locations", {})}
    return build_file_spec(merge(raw, overrides) if overrides else raw, path, **kwargs)


def as_spec(spec: Spec | dict[str, Any] | str | Path) -> Spec:
    """A validated spec from a Spec, a raw mapping (the YAML format) or a YAML path."""
    if isinstance(spec, Spec):
        return spec
    if isinstance(spec, dict):
        return build_spec(spec)
    if isinstance(spec, (str, Path)):
        return load_spec(spec)
    raise SpecError(f"expected a spec mapping, a YAML path or a Spec, got {type(spec).__name__}")


def simulate(spec: Spec | dict[str, Any] | str | Path) -> Trace:
    """Run the real torch scheduler of ``spec`` and return its trace (README, "What a row
    means"), with what ``lrviz check`` finds in it."""
    from lrviz.engine import simulate as run

    return analyze(run(as_spec(spec)))


def analyze(trace: Trace) -> Trace:
    """``trace`` with its findings worked out (the pitfalls ``lrviz check`` reports).

    Analysis runs once, here, above the engine; renderers only read the result.
    """
    from dataclasses import replace

    from lrviz.check import findings
    from lrviz.plateau import replay

    trace = replace(trace, plateau_steps=tuple(replay(trace)))
    return replace(trace, findings=tuple(findings(trace.spec, trace)))
