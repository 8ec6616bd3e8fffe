"""The one way lrviz writes files: all outputs of a command land together or not at all.

Outputs are untrusted in both directions: their names may come from a spec, and the
folder they go to may hold links a pull request planted. So every output is

- checked before any work starts (format, folder, writability, the same file named
  twice), so a refusal is quick and leaves nothing behind;
- written to a temporary file created exclusively (``O_EXCL``, a random name) beside
  its target, never to a path that could already be a link;
- renamed into place only when every output of the command is ready, with SIGINT and
  SIGTERM held back during the renames; if a rename still fails, the files already
  replaced are put back from hard-link backups, so the folder is as it was;
- never left half-written: temporary files are removed whatever happens, and the CLI
  turns SIGTERM into an exception so that this cleanup runs.
"""

from __future__ import annotations

import os
import secrets
import signal
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import BinaryIO

from lrviz.errors import SpecError

Writer = Callable[[BinaryIO], object]  # writes one output's bytes into an open file
_TEMP_PREFIX = ".lrviz-"  # short, so any target name leaves room for it


def check_outputs(paths: Sequence[Path], suffixes: Sequence[str], flag: str = "-o") -> None:
    """Refuse, before anything runs, outputs lrviz could not write or would write twice."""
    seen: dict[object, Path] = {}
    for path in paths:
        where = f"{flag} {path}"
        if path.suffix.lower() not in suffixes:
            raise SpecError(
                f"unknown output format {path.suffix or '(no suffix)'!r}; "
                f"expected one of {' '.join(suffixes)}",
                where,
            )
        try:
            key = _identity(path, where)
        except OSError as exc:
            raise SpecError(f"cannot write here ({exc.strerror or exc})", where) from None
        except ValueError as exc:  # a NUL byte in the path
            raise SpecError(f"not a usable file name ({exc})", where) from None
        if key in seen:
            raise SpecError(f"the same file as {flag} {seen[key]}; name each output once",
                            where)
        seen[key] = path


def _identity(path: Path, where: str) -> object:
    """What makes two output paths the same file: the real folder and the name (and the
    file itself, when it exists, so hard links and links to it count too)."""
    parent = path.parent if str(path.parent) else Path(".")
    if path.name in ("", ".", ".."):
        raise SpecError("expected a file name", where)
    if not parent.is_dir():
        raise SpecError(f"the folder {parent} does not exist", where)
    if path.is_dir():
        raise SpecError("is a folder; expected a file name", where)
    if not os.access(parent, os.W_OK | os.X_OK):
        raise SpecError("not writable: cannot create files in its folder", where)
    if path.exists():
        stat = path.stat()
        return ("file", stat.st_dev, stat.st_ino)
    return ("name", os.path.realpath(parent), path.name)


def write_files(outputs: Sequence[tuple[Path, Writer]]) -> list[Path]:
    """Write every output, all or nothing; return the paths written, in order.

    Each writer gets a binary file open on a fresh temporary file beside its target.
    Any failure (a writer raising, a full disk, a signal) leaves every target as it was
    and no temporary file behind. OS errors become :class:`SpecError` naming the target.
    """
    staged: list[tuple[Path, Path]] = []  # (temporary, target)
    try:
        for path, write in outputs:
            with _signals_held():  # a temporary file exists only once it is on the list
                fd, temp = _create_temp(path)
                staged.append((temp, path))
            with os.fdopen(fd, "wb") as handle:  # the file we just created, never a link
                write(handle)
        _commit(staged)
    except OSError as exc:
        raise SpecError(f"cannot write the output ({exc.strerror or exc})",
                        _target_of(exc, staged)) from None
    finally:
        with _signals_held():  # a signal now would stop the cleaning half way
            for temp, _ in staged:
                _remove(temp)
    return [path for _, path in staged]


def bytes_writer(data: bytes) -> Writer:
    """A writer of bytes already made."""
    return lambda handle: handle.write(data)


def write_bytes(path: Path, data: bytes) -> Path:
    """One file, by the same rules."""
    return write_files([(path, bytes_writer(data))])[0]


def _create_temp(path: Path) -> tuple[int, Path]:
    parent = path.parent if str(path.parent) else Path(".")
    fd, name = tempfile.mkstemp(prefix=_TEMP_PREFIX, suffix=".tmp", dir=parent)
    if hasattr(os, "fchmod"):  # as open() would create it, not mkstemp's 0600
        os.fchmod(fd, 0o666 & ~_umask())
    return fd, Path(name)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _commit(staged: list[tuple[Path, Path]]) -> None:
    """Rename every temporary file onto its target; on failure, undo the ones done."""
    done: list[tuple[Path, Path | None]] = []  # (target, backup of what it replaced)
    with _signals_held():
        try:
            for temp, path in staged:
                backup = _backup(path)
                done.append((path, backup))
                os.replace(temp, path)
        except OSError:
            for path, backup in reversed(done):
                if backup is not None:
                    os.replace(backup, path)
                elif path.exists():
                    _remove(path)
            raise
        finally:
            for _, backup in done:
                if backup is not None:
                    _remove(backup)


def _backup(path: Path) -> Path | None:
    """A hard link to the file ``path`` names now, to put back if the commit fails."""
    if not os.path.lexists(path):
        return None
    backup = path.parent / f"{_TEMP_PREFIX}{secrets.token_hex(8)}.bak"
    try:
        os.link(path, backup, follow_symlinks=False)
    except OSError:  # a file system without hard links: no undo for this one
        return None
    return backup


@contextmanager
def _signals_held() -> Iterator[None]:
    """Hold SIGINT and SIGTERM back while the renames run; they arrive right after."""
    held = {signal.SIGINT, signal.SIGTERM}
    if not hasattr(signal, "pthread_sigmask") or threading.current_thread() is not \
            threading.main_thread():
        yield
        return
    before = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)


def _remove(path: Path) -> None:
    with suppress(FileNotFoundError):
        os.unlink(path)


def _target_of(exc: OSError, staged: list[tuple[Path, Path]]) -> str:
    names = {str(temp): str(path) for temp, path in staged}
    failed = str(exc.filename or "")
    return names.get(failed, failed or (str(staged[-1][1]) if staged else ""))


class Terminated(BaseException):
    """SIGTERM, raised where the process is, so that every cleanup runs."""


def raise_on_sigterm() -> None:
    """Make SIGTERM raise :class:`Terminated` (the CLI calls this once, at start)."""
    if threading.current_thread() is not threading.main_thread():
        return

    def handler(signum: int, frame: object) -> None:
        raise Terminated()

    signal.signal(signal.SIGTERM, handler)
