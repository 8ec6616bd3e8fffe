"""A logged run among ``compare``'s inputs: which input is a run, and the run as a curve.

An input of ``compare`` is a spec or a run log (README "Is my run following the
schedule?"), told apart by the readers themselves: the spec readers of
:mod:`lrviz.readers` by content, the run readers of :mod:`lrviz.runs` (the ones ``verify``
uses) by reading it. A folder is a run (no spec is a folder). A file both claim is refused
in one line rather than read as either; ``--run FILE`` or ``--from NAME`` says which.

A run is drawn on the comparison's x axis, the optimizer step counted from 0 (row k of a
spec is the lr optimizer step k used): a log that counts from 1 (the HF Trainer's
``trainer_state.json``, mmengine's ``scalars.json``, whose steps are iterations: under
accumulation they are drawn as they are, compare knowing no loop) is moved back one step; a log that
does not say how it counts (event files, MLflow, plain tables) is drawn at its logged steps.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lrviz.errors import SpecError
from lrviz.runs.common import Options
from lrviz.runs.model import LoggedRun

# Files a framework names itself: the run is called after the folder holding them.
_FIXED_NAMES = ("trainer_state.json", "metrics.csv", "scalars.json", "mlflow.db")
_MAX_NAME = 100


@dataclass(frozen=True)
class LoggedCurve:
    """The lr a run logged, placed on the comparison's step axis."""

    name: str
    run: LoggedRun
    x: np.ndarray  # int64: the optimizer step (from 0) each logged lr belongs to

    @property
    def lr(self) -> np.ndarray:
        return self.run.lr

    @property
    def length(self) -> int:
        """The rows the comparison needs to hold this curve: its last step, plus one."""
        return int(self.x[-1]) + 1


def curve(run: LoggedRun, name: str) -> LoggedCurve:
    """``run`` on the comparison's axis: step N of a log counted from 1 is step N-1."""
    first = run.first_step or 0
    if first and int(run.steps[0]) < first:  # a step 0 in a log counted from 1: keep as is
        first = 0
    return LoggedCurve(name, run, run.steps - first)


def run_name(path: str) -> str:
    """What a run is called in the legend, table and columns: the file's stem, or the
    folder's name for a folder or a file the framework names itself (``trainer_state.json``
    of ``checkpoint-500`` is ``checkpoint-500``)."""
    from lrviz.render.escape import one_line

    p = Path(path)
    fixed = p.name in _FIXED_NAMES or p.name.startswith("events.out.tfevents.")
    if p.is_dir() or fixed:
        folder = p if p.is_dir() else p.parent
        if fixed and folder.name == "vis_data":  # mmengine: <work_dir>/<time>/vis_data/
            folder = folder.parent
        name = folder.name or folder.resolve().name
    else:
        name = p.stem
    name = one_line(name) or "run"
    return name if len(name) <= _MAX_NAME else name[: _MAX_NAME - 3] + "..."


def is_run(path: str, options: Options, from_: str | None) -> LoggedRun | None:
    """The run ``path`` holds when it is a run log, None when it is a spec.

    With ``from_`` every file is a spec of that format (``--from`` reads every file as it
    says); a folder is always a run. Otherwise a file is what the readers take it for,
    and one both the spec readers and the run readers take is refused, as is one neither
    takes (with the error of the side that came closest).
    """
    from lrviz import readers
    from lrviz.runs import FORMATS, read_run, try_run

    p = Path(path)
    if p.is_dir() and not p.is_symlink():
        return read_run(p, options)
    if from_ is not None:
        return None
    spec_error: SpecError | None = None
    spec_formats: list[Any] = []
    try:
        spec_formats = readers.claims(readers.parse(path, allow_paths=options.allowed))
    except SpecError as exc:
        spec_error = exc
    result, score = try_run(p, options)
    if spec_formats and isinstance(result, LoggedRun):
        spec_as = spec_formats[0].DESCRIPTION
        run_as = next(f.DESCRIPTION for f in FORMATS if result.format == f.NAME)
        raise SpecError(f"ambiguous: it reads both as a spec ({spec_as}) and as a run log "
                        f"({run_as}); name it with --run to draw the logged lr, or with "
                        f"--from {spec_formats[0].NAME} to read it as a spec", path)
    if spec_formats:
        return None  # a spec: read (and any error in it said) as compare reads specs
    if isinstance(result, LoggedRun):
        return result
    if score > 1 or p.suffix.lower() in (".csv", ".tsv", ".jsonl"):
        raise result  # a log lrviz recognises, but cannot read: its own error
    if spec_error is not None and "expected a mapping" not in str(spec_error):
        raise spec_error  # a spec file that does not parse (YAML error, size cap)
    raise SpecError("neither a spec nor a run log lrviz reads: expected a spec (lrviz, "
                    "LightningCLI, HF TrainingArguments, axolotl, Hydra, torchtune, DeepSpeed, "
                    "mmengine) or a run's log (trainer_state.json, metrics.csv, event files, "
                    "MLflow, scalars.json, a CSV/JSONL table with step and lr)", path)


@dataclass(frozen=True)
class RunSummary:
    """A run's row of the comparison's summary: what was logged, first, peak, last lr.

    The columns a log cannot fill (the configured lr, the mean and the lr budget over
    every step, the changes) are left empty: a log holds only the steps it logged.
    """

    name: str
    source: str
    format: str
    tag: str
    logged: int  # lr values logged
    first_step: int  # the first and last logged step, on the comparison's axis
    last_step: int
    initial: float
    peak: float
    peak_step: int
    minimum: float
    final: float

    def row(self) -> list[str]:
        def short(value: float) -> str:  # as lrviz.compare.short (which imports this module)
            return f"{value:.4g}"

        return [self.name, f"logged {self.tag}", f"{self.logged} logged", "",
                short(self.initial), f"{short(self.peak)} ({self.peak_step})",
                short(self.minimum), short(self.final), "", "", ""]

    def to_dict(self) -> dict[str, Any]:
        """The keys of a spec's summary (None where they do not apply), and ``run``."""
        return {"name": self.name, "scheduler": None, "steps": None, "lr": [None],
                "initial": [self.initial], "peak": self.peak, "peak_step": self.peak_step,
                "peak_group": 0, "minimum": [self.minimum], "final": [self.final],
                "mean": [None], "budget": [None], "changes": None,
                "run": self.meta() | {"logged": self.logged, "first_step": self.first_step,
                                      "last_step": self.last_step}}

    def meta(self) -> dict[str, Any]:
        return {"name": self.name, "source": self.source, "format": self.format,
                "tag": self.tag}


def summarize_run(item: LoggedCurve) -> RunSummary:
    lr = item.lr
    peak = int(np.argmax(lr))
    return RunSummary(
        name=item.name, source=item.run.source, format=item.run.format, tag=item.run.tag,
        logged=len(item.run), first_step=int(item.x[0]), last_step=int(item.x[-1]),
        initial=float(lr[0]), peak=float(lr[peak]), peak_step=int(item.x[peak]),
        minimum=float(lr.min()), final=float(lr[-1]))
