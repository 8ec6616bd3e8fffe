"""The logged runs lrviz reads, one module per format, and the registry that picks one.

Every run reader exposes the same names:

- ``NAME``, ``DESCRIPTION``: the format's short name and a few words for messages;
- ``detect(path, data) -> int``: how sure the reader is that the file ``path`` (whose
  bytes are ``data``) or the folder ``path`` (``data`` is None) is in its format: 0 is
  "not mine", more is surer, from names and content;
- ``read(path, data, options) -> LoggedRun``: the lr the run logged, under the tag the
  frameworks' own names (or ``options.tag``) pick.

Every file goes through the path policy of :mod:`lrviz.inputs` (regular files, size caps,
no following links; files inside a run folder only under that folder). The highest score
reads; none, or a tie, is a one-line error. Adding a format is a module and a line here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from lrviz.errors import SpecError
from lrviz.inputs import MAX_RUN_BYTES, read_bytes
from lrviz.runs import hf, lightning, mlflow, mmengine, table, tensorboard
from lrviz.runs.common import MissingTag, Options, shown
from lrviz.runs.model import LoggedRun

__all__ = ["FORMATS", "METRIC_TAGS", "LoggedRun", "Options", "read_metric", "read_run", "try_run"]


class RunReader(Protocol):
    NAME: str
    DESCRIPTION: str

    def detect(self, path: Path, data: bytes | None) -> int: ...

    def read(self, path: Path, data: bytes | None, options: Options) -> LoggedRun: ...


FORMATS: tuple[RunReader, ...] = (hf, lightning, tensorboard, mlflow, mmengine, table)
_DATABASES = (".db", ".sqlite", ".sqlite3")


def read_run(path: str | Path, options: Options | None = None) -> LoggedRun:
    """The lr the run at ``path`` (a log file or the folder a framework wrote) logged."""
    return _read(Path(path), options or Options(), [])


def try_run(path: str | Path, options: Options | None = None
            ) -> tuple[LoggedRun | SpecError, int]:
    """:func:`read_run`'s run, or the error it raised, and how sure the surest reader was
    that ``path`` is a run log (its detect score: 1 is a table told only by its suffix,
    more is a framework's own file; 0 when the file could not be read at all)."""
    best: list[int] = []
    try:
        return _read(Path(path), options or Options(), best), max(best, default=0)
    except SpecError as exc:
        return exc, max(best, default=0)


def _read(path: Path, options: Options, best_score: list[int]) -> LoggedRun:
    source = str(path)
    data: bytes | None = None
    if path.is_dir() and not path.is_symlink():
        pass
    elif path.suffix.lower() in _DATABASES and not path.is_dir():
        best_score.append(10)
        return mlflow.read(path, mlflow.MAGIC, options)
    else:
        data = read_bytes(path, what="run log", where=source, limit=MAX_RUN_BYTES)
    scores = [(reader.detect(path, data), reader) for reader in FORMATS]
    best = max(score for score, _ in scores)
    best_score.append(best)
    if best <= 0:
        described = ", ".join(r.DESCRIPTION for r in FORMATS)
        kind = "folder" if data is None else "file"
        raise SpecError(f"not a run log lrviz reads: expected a {kind} of {described}", source)
    tied = [reader for score, reader in scores if score == best]
    if len(tied) > 1:
        raise SpecError(f"ambiguous: it holds {' and '.join(r.DESCRIPTION for r in tied)}; "
                        "name the file itself", source)
    return tied[0].read(path, data, options)


# The names frameworks log a validation or training loss under, tried in this order when
# ``--metric-from RUN`` names no tag: HF ``eval_loss``, Lightning's ``val_loss``...
METRIC_TAGS = ("eval_loss", "val_loss", "validation_loss", "loss", "train_loss")


def read_metric(path: str | Path, tag: str | None, options: Options | None = None
                ) -> LoggedRun:
    """The scalar the run at ``path`` logged under ``tag`` (held in ``LoggedRun.lr``), in
    logged-step order; without ``tag``, the first of :data:`METRIC_TAGS` it logged."""
    options = options or Options()
    held: tuple[str, ...] = ()
    for candidate in [tag] if tag is not None else METRIC_TAGS:
        try:
            return read_run(path, Options(candidate, None, None, options.allowed))
        except MissingTag as exc:
            if tag is not None:
                raise
            held = exc.names
    raise SpecError(f"none of {', '.join(METRIC_TAGS)} is logged; it has {shown(held)}: "
                    "name one as RUN:TAG", str(path))
