"""The library's front door: a spec in any form -> a validated Spec -> a Trace."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lrviz import readers
from lrviz.build import build_file_spec, build_spec
from lrviz.errors import SpecError
from lrviz.spec import Spec, merge
from lrviz.trace import Trace

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from lrviz.check import Report


def load_spec(
    path: str | Path, overrides: dict[str, Any] | None = None, *, text: str | None = None,
    from_: str | None = None, **kwargs: Any,
) -> Spec:
    """Load and validate a spec file; ``overrides`` (a raw mapping) wins over the file.

    The file is lrviz's YAML spec or a config lrviz reads (README "Configs you already
    have"), told apart by its content; ``from_`` names the format instead (``"lrviz"``,
    ``"lightning"``: :func:`lrviz.readers.names`; ``"mmengine:NAME"``, one optimizer of
    several). ``text`` is the file's contents when
    the caller has already read it; ``kwargs`` go to :func:`lrviz.build.build_spec`.
    """
    raw, locations = readers.read(path, text, from_, kwargs.get("allow_paths", ()))
    kwargs["locations"] = {**locations, **kwargs.get("locations", {})}
    return build_file_spec(merge(raw, overrides) if overrides else raw, path, **kwargs)


def check_files(
    paths: list[str], overrides: dict[str, Any] | None = None, *, jobs: int | None = None,
    resume_sample: bool = False, **kwargs: Any,
) -> list[tuple[Spec | None, Report | SpecError]]:
    """``lrviz check`` of every file: per file, in order, its Spec (None when refused)
    and its report, or the SpecError that refused it; one bad file does not stop the
    others. The valid specs are spread over ``jobs`` workers (:mod:`lrviz.workers`);
    ``overrides`` and ``kwargs`` are :func:`load_spec`'s, for every file."""
    from functools import partial

    from lrviz import workers

    loaded: list[Spec | SpecError] = []
    for path in paths:
        try:
            loaded.append(load_spec(path, overrides, **kwargs))
        except SpecError as exc:  # report it, and still check the others
            loaded.append(exc)
    valid = [s for s in loaded if isinstance(s, Spec)]
    count = workers.jobs_for(jobs, len(valid))
    if count == 1 and valid:
        from lrviz.engine import skip_dynamo_import

        skip_dynamo_import()
    checked = iter(workers.run(partial(workers.check_one, resume_sample=resume_sample),
                               valid, count))
    results: list[tuple[Spec | None, Report | SpecError]] = []
    for item in loaded:
        if isinstance(item, SpecError):
            results.append((None, item))
            continue
        report, error = next(checked)
        if error is not None:
            results.append((item, error))
        else:
            assert report is not None
            results.append((item, report))
    return results


def as_spec(spec: Spec | dict[str, Any] | str | Path) -> Spec:
    """A validated spec from a Spec, a raw mapping (the YAML format) or a YAML path."""
    if isinstance(spec, Spec):
        return spec
    if isinstance(spec, dict):
        return build_spec(spec)
    if isinstance(spec, (str, Path)):
        return load_spec(spec)
    raise SpecError(f"expected a spec mapping, a YAML path or a Spec, got {type(spec).__name__}")


def simulate(spec: Spec | dict[str, Any] | str | Path) -> Simulation:
    """Run the real torch scheduler of ``spec`` and return its trace (README, "What a row
    means"), with what ``lrviz check`` finds in it."""
    from lrviz.engine import simulate as run

    return analyze(run(as_spec(spec)))


def analyze(trace: Trace) -> Simulation:
    """``trace`` with its findings worked out (the pitfalls ``lrviz check`` reports).

    Analysis runs once, here, above the engine; renderers only read the result.
    """
    from lrviz.check import findings
    from lrviz.plateau import replay

    fields = {f.name: getattr(trace, f.name) for f in dataclasses.fields(trace)}
    result = Simulation(**{**fields, "plateau_steps": tuple(replay(trace))})
    return dataclasses.replace(result, findings=tuple(findings(result.spec, result)))


class Simulation(Trace):
    """A :class:`~lrviz.trace.Trace` as the library hands it back: analysed, and able to
    write and draw itself (the model's Trace leaves that to the renderers)."""

    def to_csv(self, path: str | Path | None = None) -> str:
        """The CSV of README "What a row means" as text; also written to ``path`` when given."""
        from lrviz.render.data import csv_text
        from lrviz.render.files import check_outputs, write_bytes

        text = csv_text(self)
        if path is not None:  # by the rules of every lrviz output (render.files)
            check_outputs([Path(path)], (Path(path).suffix.lower(),), "path")
            write_bytes(Path(path), text.encode("utf-8"))
        return text

    def plot(self) -> Figure:
        """The figure ``lrviz plot`` draws, as a matplotlib Figure."""
        from lrviz.render.figure import figure

        return figure(self)

    def _repr_html_(self) -> str:
        """Notebook display: the figure as inline SVG and a one-line summary."""
        import html

        from lrviz.render.figure import render_bytes, summary

        svg = render_bytes(self, ".svg").decode()
        caption = html.escape(f"{self.spec.name}: {self.spec.scheduler.type}, "
                              f"{self.steps} steps; {summary(self)}")
        return f"<figure>{svg[svg.index('<svg'):]}<figcaption>{caption}</figcaption></figure>"

