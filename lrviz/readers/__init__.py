"""The file formats lrviz reads, one module each, and the registry that picks one.

Every reader module exposes the same four names:

- ``NAME``: what ``--from NAME`` (``from_=`` in Python) calls it;
- ``DESCRIPTION``: the format in a few words, as messages list it;
- ``detect(data) -> int``: how sure the reader is, from the file's content alone, that
  the parsed file ``data`` (a mapping) is in its format: 0 is "not mine", more is surer
  (by convention 10 for the keys that define the format, less for weaker hints);
- ``read(data, source) -> (raw, locations)``: the raw lrviz spec (the mapping of README
  "The YAML spec") and, for keys the file spells another way, where each came from
  (``{"scheduler.T_max": "config.yaml: lr_scheduler.init_args.T_max"}``), so that errors
  name the user's own key.

Every file is first parsed by :func:`lrviz.readers.safe_yaml.load_yaml` (the path policy,
size caps, plain data only). Then the reader named by ``from_`` reads it, or else the
one whose ``detect`` scores highest; no score above 0, or two equal best scores, is a
one-line error. Adding a format is adding a module here and a line to ``READERS``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from lrviz.errors import SpecError
from lrviz.readers import axolotl, deepspeed, hf, hydra, lightning, mmengine, torchtune
from lrviz.readers import lrviz as lrviz_spec


class Reader(Protocol):
    """What a reader module provides (see the module's docstring)."""

    NAME: str
    DESCRIPTION: str

    def detect(self, data: dict[str, Any]) -> int: ...

    def read(self, data: dict[str, Any], source: str) -> tuple[dict[str, Any], dict[str, str]]:
        ...


# The registry: one line per format, in the order messages list them.
READERS: tuple[Reader, ...] = (
    lrviz_spec,
    lightning,
    hf,
    axolotl,
    hydra,
    torchtune,
    deepspeed,
    mmengine,
)


def names() -> list[str]:
    """The name of every reader, for ``--from``."""
    return [r.NAME for r in READERS]


def find(name: str, where: str = "--from") -> Reader:
    """The reader called ``name`` (``NAME`` or ``NAME:PART``, a part of a file, which only
    ``mmengine`` has: one optimizer of several); ``where`` is the option that named it."""
    base, colon, part = name.partition(":")
    for reader in READERS:
        if base.strip().lower() == reader.NAME:
            if colon and not hasattr(reader, "read_part"):
                raise SpecError(f"{reader.NAME} files have no parts; expected --from "
                                f"{reader.NAME}", where)
            if colon and not part.strip():
                raise SpecError(f"expected --from {reader.NAME}:NAME, the optimizer's name",
                                where)
            return reader
    shown = repr(name if len(name) <= 40 else name[:37] + "...")
    raise SpecError(f"unknown format {shown}; expected one of {', '.join(names())}", where)


def choose(data: dict[str, Any], source: str, from_: str | None = None) -> Reader:
    """The reader of ``data``: the one named by ``from_``, else the surest by content."""
    if from_ is not None:
        return find(from_)
    scores = [(reader.detect(data), reader) for reader in READERS]
    best = max(score for score, _ in scores)
    if best <= 0:
        raise SpecError(f"not a spec lrviz reads: expected {_either(READERS)}", source)
    tied = [reader for score, reader in scores if score == best]
    if len(tied) > 1:
        raise SpecError(f"ambiguous: it reads as {_either(tied, 'and as')} alike; choose one "
                        f"with {' or '.join(f'--from {r.NAME}' for r in tied)}", source)
    return tied[0]


def read(
    path: str | Path, text: str | None = None, from_: str | None = None,
    allow_paths: tuple[str | Path, ...] = (),
) -> tuple[dict[str, Any], dict[str, str]]:
    """The spec file at ``path`` (or its ``text``, already read) as a raw lrviz spec, and
    where its keys came from when the file spells them another way.

    ``from_`` names the reader (:func:`names`), or ``mmengine:NAME`` one optimizer of an
    mmengine config with several; by default the file's content decides. ``allow_paths``
    are folders the files it names (``_base_``) may be in besides its own and the current
    folder.
    """
    part = None
    if from_ is not None:
        find(from_)  # an unknown name is refused before the file is read
        from_, _, part = from_.partition(":")
    data = parse(path, text, allow_paths)
    reader = choose(data, str(path), from_)
    if part:
        return reader.read_part(data, str(path), part.strip())  # type: ignore[attr-defined]
    return reader.read(data, str(path))


def parse(path: str | Path, text: str | None = None,
          allow_paths: tuple[str | Path, ...] = ()) -> dict[str, Any]:
    """The file at ``path`` parsed as plain data (the path policy and size caps applied),
    before any reader reads it: YAML or JSON, or an mmengine Python config (whose
    ``_base_`` files may also be in ``allow_paths``)."""
    from lrviz.readers.safe_yaml import load_yaml  # here: importing the registry stays light

    # an mmengine config is Python: parsed, never run (lrviz.readers.mmengine)
    return (mmengine.load_python(path, text, allow_paths=allow_paths)
            if str(path).endswith(".py") else load_yaml(path, text))


def claims(data: dict[str, Any]) -> list[Reader]:
    """The readers that take the parsed file ``data`` for theirs (detect above 0), the
    surest first."""
    scored = [(reader.detect(data), i, reader) for i, reader in enumerate(READERS)]
    return [reader for score, _, reader in sorted(scored, key=lambda t: (-t[0], t[1]))
            if score > 0]


def _either(readers: tuple[Reader, ...] | list[Reader], word: str = "or") -> str:
    """``a, b or c``: the descriptions of ``readers``."""
    described = [r.DESCRIPTION for r in readers]
    if len(described) == 1:
        return described[0]
    return f"{', '.join(described[:-1])} {word} {described[-1]}"
