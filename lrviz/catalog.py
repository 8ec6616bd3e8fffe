"""Every scheduler lrviz can build: the registry of the scheduler families.

The records live in :mod:`lrviz.schedulers`, one module per family (torch, Hugging
Face, a class of the user's own); this module looks names up and exposes them. One
table drives the command-line flags, the help text, spec validation, ``lrviz list``,
the JSON Schema and the docs, and each record also carries what lrviz knows of its
scheduler's behaviour (natural length, events, relations, pitfalls), so no module
outside the families branches on a scheduler's name. Nothing here imports torch or
matplotlib, so help and listing stay instant; ``tests/test_catalog.py`` holds the
records against ``inspect.signature`` of the installed torch classes.
"""

from __future__ import annotations

import difflib
import re

from lrviz.errors import SpecError
from lrviz.schedulers import frameworks as _framework_family
from lrviz.schedulers import hf as _hf_family
from lrviz.schedulers import torch as _torch_family
from lrviz.schedulers.base import (
    ANY,
    BOOL,
    CHOICE,
    EXPR,
    FLOAT,
    INT,
    INT_LIST,
    REQUIRED,
    SCHEDULERS,
    Param,
    Scheduler,
)
from lrviz.schedulers.custom import imported

__all__ = [
    "ANY", "BOOL", "CHOICE", "EXPR", "FLOAT", "FRAMEWORK_SCHEDULERS", "HF_SCHEDULERS",
    "IMPORT_TARGET", "INT",
    "INT_LIST", "REQUIRED", "SCHEDULERS", "SCHEDULERS_TABLE", "SEQUENCE", "WARMUP", "Param",
    "Scheduler",
    "all_names", "find", "imported", "lookup", "suggest",
]

SCHEDULERS_TABLE: tuple[Scheduler, ...] = _torch_family.TABLE
HF_SCHEDULERS: tuple[Scheduler, ...] = _hf_family.TABLE
# Schedules of training frameworks' own code (torchtune, DeepSpeed), read from their configs.
FRAMEWORK_SCHEDULERS: tuple[Scheduler, ...] = _framework_family.TABLE
# What a spec's ``warmup:`` is built from: WARMUP (a linear ramp) handed over to the main
# scheduler by SEQUENCE at the warmup's end (lrviz.spec).
WARMUP: Scheduler = _torch_family.WARMUP
SEQUENCE: Scheduler = _torch_family.SEQUENCE


def _key(name: str) -> str:
    return name.strip().lower().replace("_", "-")


_BY_KEY: dict[str, Scheduler] = {}
_SPELLINGS: list[str] = []
for _s in SCHEDULERS_TABLE + HF_SCHEDULERS + FRAMEWORK_SCHEDULERS:
    for _spelling in _s.spellings:
        _BY_KEY[_key(_spelling)] = _s
        _SPELLINGS.append(_spelling)


def all_names() -> list[str]:
    """Every accepted scheduler name: class names (lower case), aliases and hf: names."""
    return sorted(_SPELLINGS)


def find(name: str) -> Scheduler | None:
    """The scheduler named ``name`` (class name, any case, alias or hf: name), or None."""
    return _BY_KEY.get(_key(name))


# ``package.module:ClassName``: a scheduler class outside torch (README "Using it").
IMPORT_TARGET = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*", re.ASCII)


def lookup(name: str, where: str | None = None, allow_import: bool = False) -> Scheduler:
    """Like :func:`find`, but an unknown name is a :class:`SpecError` with a suggestion.

    ``package.module:ClassName`` imports that module, which runs its code: only with
    ``allow_import``.
    """
    found = find(name)
    if found is not None:
        return found
    if IMPORT_TARGET.fullmatch(name.strip()) and not _key(name).startswith("hf:"):
        if not allow_import:
            raise SpecError(
                f"{name!r} names a Python class; importing it runs that module's code, so "
                "lrviz does it only when you pass --allow-import",
                where,
            )
        return imported(name.strip(), where)
    raise SpecError(
        f"unknown scheduler {name!r}{suggest(name.lower(), all_names())}; "
        "`lrviz list` shows them all",
        where,
    )


def suggest(word: str, options: list[str] | tuple[str, ...]) -> str:
    """`` (did you mean 'x'?)`` for the nearest option, or an empty string."""
    near = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f" (did you mean {near[0]!r}?)" if near else ""
