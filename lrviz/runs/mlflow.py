"""An MLflow store: an SQLite ``mlflow.db`` (or a folder holding one), or a file store
``mlruns/`` (the store, an experiment's folder or one run's folder).

The database is opened read-only (``mode=ro&immutable=1``), after the same checks as any
run file; its ``metrics`` table holds (key, value, step, run_uuid, is_nan). A file store
keeps one text file per metric, ``<run>/metrics/<key>``, lines ``timestamp value step``.
When several runs log the lr, ``--tag RUN_ID:KEY`` (an id's first characters will do)
names one. Which step is the plan's row 0 the store does not say: 0 and 1 are tried.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from urllib.parse import quote

import numpy as np

from lrviz.errors import SpecError
from lrviz.inputs import MAX_STORE_BYTES, checked_path
from lrviz.runs.common import (
    Options,
    decode,
    integer,
    make_run,
    number,
    pick_tag,
    read_inside,
    shown,
)
from lrviz.runs.model import LoggedRun

NAME = "mlflow"
DESCRIPTION = "an MLflow store (mlflow.db or mlruns/)"
MAGIC = b"SQLite format 3\x00"
MAX_ROWS = 20_000_000
MAX_WALK = 100_000  # files and folders a file store may hold


def detect(path: Path, data: bytes | None) -> int:
    if data is None:
        if (path / "mlflow.db").is_file():
            return 10
        return 9 if _file_runs(path, probe=True) else 0
    return 10 if data[:16] == MAGIC else 0


def read(path: Path, data: bytes | None, options: Options) -> LoggedRun:
    if data is None and not (path / "mlflow.db").is_file():
        return _read_files(path, options)
    if data is None:
        database = checked_path(path / "mlflow.db", what="MLflow store", where=str(path),
                                limit=MAX_STORE_BYTES, roots=options.roots(path))
        source = str(path / "mlflow.db")
    else:
        database = checked_path(path, what="MLflow store", where=str(path),
                                limit=MAX_STORE_BYTES)
        source = str(path)
    return _read_database(database, source, options)


def _split_tag(tag: str | None, runs: list[str]) -> tuple[str | None, str | None]:
    """``RUN_ID:KEY`` -> (run id, key) when RUN_ID starts one of ``runs``' ids."""
    if tag is None or ":" not in tag:
        return None, tag
    prefix, key = tag.split(":", 1)
    matching = [r for r in runs if prefix and r.startswith(prefix)]
    return (matching[0], key) if len(matching) == 1 else (None, tag)


def _choose(pairs: list[tuple[str, str]], options: Options, source: str) -> tuple[str, str]:
    """(run, key) of the lr among every (run, key) the store holds."""
    runs = sorted({r for r, _ in pairs})
    run, key = _split_tag(options.tag, runs)
    if run is not None:
        pairs = [(r, k) for r, k in pairs if r == run]
    keys = sorted({k for _, k in pairs})
    key = pick_tag(keys, key, source, "metric")
    logging = sorted({r for r, k in pairs if k == key})
    if len(logging) > 1:
        raise SpecError(f"{len(logging)} runs log {shown([key])} ({shown(logging)}); name one "
                        f"with --tag RUN_ID:{key}", source)
    return logging[0], key


def _read_database(database: str, source: str, options: Options) -> LoggedRun:
    uri = f"file:{quote(database)}?mode=ro&immutable=1"
    try:
        connection = sqlite3.connect(uri, uri=True)
    except sqlite3.Error as exc:
        raise SpecError(f"cannot open the database ({exc}); expected {DESCRIPTION}",
                        source) from None
    # text that is not UTF-8 (a damaged store) is shown, not raised
    connection.text_factory = lambda raw: raw.decode("utf-8", "replace")
    try:
        columns = {row[1] for row in connection.execute("PRAGMA table_info(metrics)")}
        if not {"key", "value", "step", "run_uuid"} <= columns:
            raise SpecError(f"no metrics table with key, value, step and run_uuid; expected "
                            f"{DESCRIPTION}", source)
        pairs = connection.execute("SELECT DISTINCT run_uuid, key FROM metrics").fetchall()
        pairs = [(str(r), str(k)) for r, k in pairs]
        if not pairs:
            raise SpecError(f"no metrics logged; expected {DESCRIPTION}", source)
        run, key = _choose(pairs, options, source)
        (count,) = connection.execute("SELECT COUNT(*) FROM metrics WHERE run_uuid = ? AND "
                                      "key = ?", (run, key)).fetchone()
        if count > MAX_ROWS:
            raise SpecError(f"{count} values under {shown([key])}; expected at most "
                            f"{MAX_ROWS}", source)
        nan = "is_nan" if "is_nan" in columns else "0"
        order = ", timestamp" if "timestamp" in columns else ""
        rows = connection.execute(
            f"SELECT step, value, {nan} FROM metrics WHERE run_uuid = ? AND key = ? "
            f"ORDER BY step{order}", (run, key)).fetchall()
    except sqlite3.Error as exc:
        raise SpecError(f"cannot read the database ({exc}); expected {DESCRIPTION}",
                        source) from None
    except UnicodeDecodeError:  # sqlite's own message quoting a damaged schema
        raise SpecError(f"cannot read the database (damaged: text that is not UTF-8); "
                        f"expected {DESCRIPTION}", source) from None
    finally:
        connection.close()
    steps = [integer(s, source, f"metrics step of {key}") for s, _, _ in rows]
    values = [float("nan") if flag else _float(v, source, key) for _, v, flag in rows]
    return make_run(steps, values, tag=key, source=source, format=NAME, first_step=None)


def _float(value: object, source: str, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SpecError(f"expected a number, got {shown([repr(value)])}",
                        f"{source}: metric {key}")
    return float(value)


def _file_runs(folder: Path, probe: bool = False) -> list[Path]:
    """The run folders (those with ``metrics/`` and ``meta.yaml``) at most two levels down."""
    found = []
    for candidate in (folder, *sorted(folder.glob("*")), *sorted(folder.glob("*/*"))):
        if (candidate / "metrics").is_dir() and (candidate / "meta.yaml").is_file():
            found.append(candidate)
            if probe:
                break
        if len(found) > MAX_WALK:
            break
    return found


def _metric_files(run: Path) -> dict[str, Path]:
    """key -> file: a key with slashes is a nested path under ``metrics/``."""
    out: dict[str, Path] = {}
    root = run / "metrics"
    for count, file in enumerate(root.rglob("*")):
        if count > MAX_WALK:
            raise SpecError(f"more than {MAX_WALK} entries; expected {DESCRIPTION}", str(root))
        if file.is_file() or file.is_symlink():
            out[file.relative_to(root).as_posix()] = file
    return out


def _read_files(folder: Path, options: Options) -> LoggedRun:
    source = str(folder)
    runs = {run.name: run for run in _file_runs(folder)}
    if not runs:
        raise SpecError(f"no MLflow runs (run folders with metrics/ and meta.yaml); expected "
                        f"{DESCRIPTION}", source)
    files = {(name, key): file for name, run in runs.items()
             for key, file in _metric_files(run).items()}
    run, key = _choose(list(files), options, source)
    file = files[(run, key)]
    text = decode(read_inside(folder, file, options, binary=True), str(file),  # type: ignore[arg-type]
                  "MLflow metric lines 'timestamp value step'")
    steps, values = [], []
    for line_number, line in enumerate(text.splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        where = f"line {line_number}"
        if len(parts) not in (2, 3):
            raise SpecError(f"{where}: expected 'timestamp value step'", str(file))
        values.append(number(parts[1], str(file), where))
        steps.append(integer(parts[2], str(file), where) if len(parts) == 3 else 0)
    return make_run(np.asarray(steps), np.asarray(values), tag=key, source=str(file),
                    format=NAME, decimal=True, first_step=None)
