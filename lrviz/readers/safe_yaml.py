"""The hardened YAML loader every reader starts from.

A spec is untrusted (README "Specs from pull requests"), so its YAML is read as plain
data only: no Python tags, no key given twice (YAML would silently keep the last), no
alias bomb, no nesting deeper than ``MAX_DEPTH`` and no integer too long to parse
quickly. Each refusal is one :class:`~lrviz.errors.SpecError` naming the file and, where
there is one, the key. The file itself is read through :func:`lrviz.inputs.read_text`
(the path policy and the size cap).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lrviz import inputs
from lrviz.checker import join_key as _join
from lrviz.checker import kind_of as _kind
from lrviz.checker import top_key as _top
from lrviz.errors import SpecError
from lrviz.spec import MAX_DEPTH, MAX_YAML_VALUES


def load_yaml(path: str | Path, text: str | None = None) -> dict[str, Any]:
    """Read a spec file (or ``text``, already read from it) as a raw mapping; every
    problem is a one-line SpecError."""
    import yaml

    path = Path(path)
    if text is None:
        text = inputs.read_text(path, what="spec file", where=str(path),
                                limit=inputs.MAX_SPEC_BYTES)
    try:
        data = _safe_yaml(text, str(path))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        at = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise SpecError(f"invalid YAML at {at}{exc.problem}", str(path)) from None
    except yaml.YAMLError as exc:
        raise SpecError(f"invalid YAML: {' '.join(str(exc).split())}", str(path)) from None
    if data is None:
        raise SpecError("the file is empty; expected a spec with a `scheduler:` key", str(path))
    if not isinstance(data, dict):
        raise SpecError(
            f"expected a mapping of spec keys (scheduler:, steps:, ...), got a {_kind(data)}",
            str(path),
        )
    return data


def _safe_yaml(text: str, source: str) -> Any:
    """YAML's plain data (no Python tags), refusing duplicate keys and alias bombs.

    The document is composed into nodes first: a key given twice is an error (YAML
    would silently keep the last), and aliases that would expand past
    ``MAX_YAML_VALUES`` values (the "billion laughs") are refused before anything is
    built from them.
    """
    import yaml

    loader_class = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    loader = loader_class(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        sizes: dict[int, int] = {}

        def expanded(n: Any, path: str) -> int:
            if path.count(".") + path.count("[") > MAX_DEPTH:
                raise SpecError(f"nested more than {MAX_DEPTH} levels deep; a spec is much "
                                "flatter", f"{source}: {_top(path)}")
            if id(n) in sizes:
                return sizes[id(n)]
            sizes[id(n)] = 1  # a node that contains itself counts once
            total = 1
            if isinstance(n, yaml.MappingNode):
                seen: dict[Any, Any] = {}
                for key, value in n.value:
                    if isinstance(key, yaml.ScalarNode):
                        if key.value in seen:
                            mark = key.start_mark
                            raise SpecError(
                                f"line {mark.line + 1}: key {key.value!r} is given twice "
                                f"(first on line {seen[key.value].line + 1})", source)
                        seen[key.value] = key.start_mark
                    inner = _join(path, str(getattr(key, "value", "?")))
                    total += expanded(key, inner) + expanded(value, inner)
            elif isinstance(n, yaml.SequenceNode):
                total += sum(expanded(item, f"{path}[{i}]") for i, item in enumerate(n.value))
            elif n.tag.endswith(":int") and len(n.value) > 20:  # before Python parses it
                where = f"{source}: {path}" if path else source
                raise SpecError(f"expected a number, got an integer of {len(n.value)} digits",
                                where)
            sizes[id(n)] = total
            if total > MAX_YAML_VALUES:  # said at the innermost value that is too big
                where = f"{source}: {path}" if path else source
                raise SpecError(f"expands to more than {MAX_YAML_VALUES} values (through "
                                "YAML aliases?); a spec is much smaller", where)
            return total

        expanded(node, "")
        return loader.construct_document(node)
    finally:
        loader.dispose()
