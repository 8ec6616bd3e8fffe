"""A raw spec as YAML, each value with a comment saying where it came from
(``lrviz spec FILE``): the translation of a config, to check and to keep.

The YAML reads back to the same raw spec (plotting it equals plotting the original
file). Comments carry file names and keys from the user's file: they are kept on one
line, without control characters, so they cannot end the comment or forge a line.
"""

from __future__ import annotations

import re
from typing import Any

_UNSAFE = re.compile(r"[\x00-\x1f\x7f\u0085\u2028\u2029]")


def to_yaml(raw: dict[str, Any], locations: dict[str, str]) -> str:
    lines: list[str] = []
    _emit(raw, "", 0, locations, lines)
    return "\n".join(lines) + "\n"


def _emit(node: dict[str, Any], prefix: str, indent: int, locations: dict[str, str],
          lines: list[str]) -> None:
    pad = "  " * indent
    for key, value in node.items():
        path = f"{prefix}{key}"
        where = locations.get(path)
        comment = f"  # {_comment(where)}" if where else ""
        if isinstance(value, dict) and value:
            lines.append(f"{pad}{_scalar(key)}:{comment}")
            _emit(value, f"{path}.", indent + 1, locations, lines)
        else:
            lines.append(f"{pad}{_scalar(key)}: {_scalar(value)}{comment}")


def _scalar(value: Any) -> str:
    import yaml

    text = yaml.safe_dump(value, default_flow_style=True, width=float("inf"),
                          allow_unicode=False)
    return text.removesuffix("\n...\n").removesuffix("\n").strip()


def _comment(where: str) -> str:
    return _UNSAFE.sub("?", where)[:300]
