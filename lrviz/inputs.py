"""Every file lrviz reads, read by one rule (the path policy of the untrusted-specs docs).

A spec is untrusted, so a file it names (a metric log, and later a config's base file
or a logged run) is read only

- under the spec's own folder or the current folder, after resolving links, or under a
  folder the user allowed with ``--allow-path``;
- if it is a regular file: never a FIFO (which would hang), a device (``/dev/zero``
  never ends) or a folder;
- up to a size fixed before reading, so a refusal is quick.

Paths the user types on the command line (the spec itself, ``--metric-file``) are the
user's own choice: they skip the folder rule, but not the others.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from pathlib import Path

from lrviz.errors import SpecError

MAX_SPEC_BYTES = 1 << 20  # a spec; long metric logs belong in a metric file
MAX_DATA_BYTES = 64 << 20  # a metric file: about four million logged values
MAX_RUN_BYTES = 256 << 20  # a logged run's file: some millions of steps of several scalars
MAX_STORE_BYTES = 1 << 30  # an MLflow SQLite store, which SQLite reads by pages


def read_text(
    path: str | Path,
    *,
    what: str,
    where: str,
    limit: int,
    roots: Sequence[str | Path] | None = None,
) -> str:
    """The UTF-8 text of the file at ``path``, by the rules above.

    ``what`` names the file in messages ("spec file", "metric file"), ``where`` is the
    key or flag that named it, ``roots`` the folders it must resolve under (None: any).
    Every problem is a one-line :class:`SpecError` that never quotes the file.
    """
    data = read_bytes(path, what=what, where=where, limit=limit, roots=roots)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SpecError(f"the {what}{_named(path, where)} is not UTF-8 text (byte "
                        f"{exc.start})", where) from None


def read_bytes(
    path: str | Path,
    *,
    what: str,
    where: str,
    limit: int,
    roots: Sequence[str | Path] | None = None,
) -> bytes:
    """The bytes of the file at ``path`` (a binary log), by the same rules as :func:`read_text`."""
    fd, named = _open(path, what, where, limit, roots)
    try:
        with os.fdopen(fd, "rb", closefd=False) as handle:
            data = handle.read(limit + 1)
    finally:
        os.close(fd)
    if len(data) > limit:  # it grew while being read
        raise SpecError(f"the {what}{named} is over {size_text(limit)}", where)
    return data


def checked_path(
    path: str | Path,
    *,
    what: str,
    where: str,
    limit: int,
    roots: Sequence[str | Path] | None = None,
) -> str:
    """The resolved path of a file another library will open (an SQLite store), after the
    same checks as :func:`read_text`: under ``roots``, a regular file, at most ``limit``."""
    fd, _ = _open(path, what, where, limit, roots)
    os.close(fd)
    return os.path.realpath(path)


def _named(path: str | Path, where: str) -> str:
    # The path is named in messages unless the place of the error already is the path.
    return f" {path}" if where != str(path) else ""


def _open(
    path: str | Path, what: str, where: str, limit: int, roots: Sequence[str | Path] | None
) -> tuple[int, str]:
    """An open descriptor on the regular file ``path``, checked by the rules above."""
    path = Path(path)
    named = _named(path, where)
    try:
        real = check_within(path, what, where, roots)
        flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0)
        fd = os.open(real, flags | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOCTTY", 0))
    except FileNotFoundError:
        raise SpecError(f"no such file:{named}" if named else f"no such {what}", where) from None
    except IsADirectoryError:
        raise SpecError(f"is a folder{named}; expected a {what}", where) from None
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise SpecError(f"cannot read the {what}{named} ({reason})", where) from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise SpecError(f"is a folder{named}; expected a {what}", where)
        if not stat.S_ISREG(info.st_mode):
            raise SpecError(f"not a regular file{named}; expected a {what}", where)
        if info.st_size > limit:
            raise SpecError(f"the {what}{named} has {size_text(info.st_size)}; expected at most "
                            f"{size_text(limit)}", where)
    except BaseException:
        os.close(fd)
        raise
    return fd, named


def check_within(path: str | Path, what: str, where: str,
                 roots: Sequence[str | Path] | None) -> str:
    """The real path of ``path``, or a one-line error if it resolves outside ``roots``
    (None: anywhere). Folders too: a run folder a spec names is held to its own folder."""
    real = os.path.realpath(path)
    if roots is not None and not any(_within(real, root) for root in roots):
        raise SpecError(
            f"the {what}{_named(path, where)} is outside the spec's folder and the current "
            "folder; lrviz reads files only there (--allow-path DIR allows another folder)",
            where)
    return real


def _within(real: str, root: str | Path) -> bool:
    root = os.path.realpath(root)
    return real == root or real.startswith(root.rstrip(os.sep) + os.sep)


def size_text(count: int) -> str:
    """A byte count as people read it: ``1 MB``."""
    size = float(count)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024:
            return f"{size:.0f} {unit}"
        size /= 1024
    return f"{size:.0f} TB"
