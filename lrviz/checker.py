"""The value checker: one raw value in, a typed value out, or an error naming its key path.

:class:`Checker` knows where each key came from (a file and its key path, or the flag the
user typed) so that every message points at what the user wrote. The text helpers here
show a bad value briefly and safely in a message.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

from lrviz import catalog, keys
from lrviz.catalog import ANY, BOOL, CHOICE, EXPR, FLOAT, INT, INT_LIST, Param
from lrviz.errors import SpecError
from lrviz.readers.common import NEEDED
from lrviz.spec import _BOOL_WORDS, MAX_DEPTH, MAX_INT, MAX_YAML_VALUES


class Checker:
    """Validates one raw spec, naming every bad value by its key path."""

    def __init__(
        self, source: str | None, locations: dict[str, str], allow_import: bool = False,
        allow_paths: tuple[Path, ...] = (),
    ) -> None:
        self.source = source
        self.locations = locations
        self.allow_import = allow_import
        self.allow_paths = allow_paths  # folders a spec may name files in, besides its own

    def where(self, path: str) -> str:
        if path in self.locations:
            return self.locations[path]
        if not path:
            return self.source or "spec"
        base, bracket, index = path.partition("[")
        if bracket and base in self.locations and self.locations[base].startswith("-"):
            return f"{self.locations[base]} (item {int(index.split(']')[0]) + 1})"
        return f"{self.source}: {path}" if self.source else path

    def fail(self, path: str, message: str) -> SpecError:
        where = self.where(path)
        if NEEDED in where:  # a config left it out (or "auto"): say which flag gives it
            source, _, why = where.partition(f" ({NEEDED}")
            return SpecError(f"{NEEDED}{why.removesuffix(')')}", source)
        return SpecError(message, where)

    def mapping(self, value: Any, path: str, allowed: tuple[str, ...] | None) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(path, f"expected a mapping, got {show_value(value)}")
        for key in value:
            if not isinstance(key, str):
                raise self.fail(path, f"keys must be names, got {show_value(key)}")
            if allowed is not None and key not in allowed:
                raise self.unknown(join_key(path, key), key, allowed)
        return value

    def unknown(self, path: str, key: str, allowed: tuple[str, ...] | list[str]) -> SpecError:
        hint = catalog.suggest(key, list(allowed))
        return self.fail(path, f"unknown key{hint}; expected one of: {', '.join(allowed)}")

    # ---- scalars

    def number(self, value: Any, path: str) -> float:
        if isinstance(value, bool) or value is None:
            raise self.fail(path, f"expected a number, got {show_value(value)}")
        if isinstance(value, str):
            try:
                value = float(value.strip())
            except ValueError:
                raise self.fail(path, f"expected a number, got {show_value(value)}") from None
        if not isinstance(value, (int, float)):
            raise self.fail(path, f"expected a number, got {show_value(value)}")
        if isinstance(value, int) and abs(value) > MAX_INT:
            raise self.fail(path, f"expected a finite number, got {show_value(value)}")
        number = float(value)
        if not math.isfinite(number):
            raise self.fail(path, f"expected a finite number, got {value}")
        return number

    def integer(self, value: Any, path: str) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            if abs(value) > MAX_INT:
                raise self.fail(path, f"expected an integer of at most {MAX_INT}, "
                                f"got {show_value(value)}")
            return value
        number = self.number(value, path) if not isinstance(value, bool) else None
        if number is None or not number.is_integer():
            raise self.fail(path, f"expected an integer, got {show_value(value)}")
        if abs(number) > MAX_INT:  # 1e308 is whole, and as large as an int given so
            raise self.fail(path, f"expected an integer of at most {MAX_INT}, "
                            f"got {show_value(value)}")
        return int(number)

    def keyed(self, section: str, name: str, value: Any) -> Any:
        """A value of one of the spec's own keys, checked by :mod:`lrviz.keys`' table."""
        key, path = keys.key(section, name), join_key(section, name)
        if key.kind == keys.BOOLEAN:
            return self.boolean(value, path)
        if key.kind == keys.CHOICE:
            word = value.strip().lower() if isinstance(value, str) else value
            if word not in key.choices:
                near = catalog.suggest(str(value), key.choices)
                raise self.fail(path, f"expected one of {', '.join(key.choices)}, got "
                                      f"{show_value(value)}{near}")
            return word
        if key.kind == keys.INTEGER:
            number: float = self.integer(value, path)
            what = "an integer"
        elif key.kind == keys.NUMBER:
            number, what = self.number(value, path), "a number"
        else:
            raise AssertionError(f"{path} is a {key.kind}, not a single value")
        if not key.within(number):
            raise self.fail(path, f"expected {key.bounds_text(what)}{key.hint}, "
                            f"got {num_text(number)}")
        return number

    def boolean(self, value: Any, path: str) -> bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _BOOL_WORDS:
            return _BOOL_WORDS[value.strip().lower()]
        raise self.fail(path, f"expected true or false, got {show_value(value)}")

    def bounded(self, number: float, param: Param, path: str) -> None:
        if param.positive and number <= 0:
            raise self.fail(path, f"expected a number > 0, got {num_text(number)}")
        if param.minimum is not None and number < param.minimum:
            what = "an integer" if param.kind in (INT, INT_LIST) else "a number"
            raise self.fail(path, f"expected {what} >= {num_text(param.minimum)}, "
                            f"got {num_text(number)}")
        if param.maximum is not None and number > param.maximum:
            raise self.fail(path, f"expected a number <= {num_text(param.maximum)}, "
                            f"got {num_text(number)}")

    # ---- scheduler parameters

    def param(self, param: Param, value: Any, path: str, groups: int) -> Any:
        if value is None and param.nullable:
            return None
        if param.per_group and isinstance(value, (list, tuple)):
            if len(value) != groups:
                raise self.fail(
                    path,
                    f"expected one value per param group ({groups}), got {len(value)}",
                )
            return [self.scalar(param, v, f"{path}[{i}]") for i, v in enumerate(value)]
        if param.per_group and isinstance(value, str) and "," in value and param.kind != EXPR:
            return self.param(param, [v for v in value.split(",")], path, groups)
        return self.scalar(param, value, path)

    def scalar(self, param: Param, value: Any, path: str) -> Any:
        if param.kind in (INT, FLOAT):
            number = self.integer(value, path) if param.kind == INT else self.number(value, path)
            self.bounded(number, param, path)
            return number
        if param.kind == BOOL:
            return self.boolean(value, path)
        if param.kind == CHOICE:
            if isinstance(value, str) and value.strip().lower() in param.choices:
                return value.strip().lower()
            hint = catalog.suggest(str(value).lower(), param.choices)
            raise self.fail(
                path, f"expected one of {', '.join(param.choices)}, got {show_value(value)}{hint}"
            )
        if param.kind == INT_LIST:
            items = value.split(",") if isinstance(value, str) else value
            if isinstance(items, (int, float)) and not isinstance(items, bool):
                items = [items]
            if not isinstance(items, (list, tuple)):
                raise self.fail(path, f"expected a list of integers, got {show_value(value)}")
            out = []
            for i, item in enumerate(items):
                number = self.integer(item, f"{path}[{i}]")
                self.bounded(number, param, f"{path}[{i}]")
                out.append(number)
            return out
        if param.kind == ANY:
            return self.plain(value, path)
        if param.kind == EXPR:
            from lrviz.expr import parse_expression

            if isinstance(value, (int, float)) and not isinstance(value, bool):
                value = repr(self.number(value, path))
            if not isinstance(value, str):
                raise self.fail(
                    path, f"expected an expression in {param.variable}, got {show_value(value)}"
                )
            return parse_expression(value, param.variable, self.where(path))
        raise AssertionError(f"unhandled parameter kind {param.kind}")

    def plain(self, value: Any, path: str) -> Any:
        """A value of a custom class's untyped parameter: numbers (finite), true/false,
        text, or a list of them. Text that reads as a number (from a flag) is one."""
        if isinstance(value, list):
            return [self.plain(v, f"{path}[{i}]") for i, v in enumerate(value)]
        if value is None or isinstance(value, bool):
            return value
        if isinstance(value, str):
            try:
                number: float = int(value)
            except ValueError:
                try:
                    number = float(value)
                except ValueError:
                    return value
            value = number
        if isinstance(value, (int, float)):
            return value if isinstance(value, int) else self.number(value, path)
        raise self.fail(path, "expected a number, true/false, text or a list, "
                        f"got {show_value(value)}")


def _plain_numbers(values: list[Any] | tuple[Any, ...]) -> bool:
    """True when every item is a Python float or int (not a bool, not a subclass)."""
    return set(map(type, values)) <= {float, int}


def numbers(check: Checker, values: list[Any], path: str) -> tuple[float, ...]:
    """Every item of ``values`` as a finite float, or the error at the first bad one.

    Plain finite floats and small ints (a logged metric) pass in one vectorised check;
    anything else goes item by item, so the error names its index.
    """
    kinds = set(map(type, values))
    if kinds <= {float, int}:
        import numpy as np

        array = np.asarray(values, dtype=float)
        if np.isfinite(array).all() and (int not in kinds or all(
                type(v) is float or abs(v) <= MAX_INT for v in values)):
            return tuple(array.tolist())
    return tuple(check.number(v, f"{path}[{i}]") for i, v in enumerate(values))


def plain_data(check: Checker, raw: Any) -> Any:
    """A copy of a raw spec as plain data, as YAML would give it: numpy numbers become
    Python numbers and tuples lists; nesting and size are bounded (which also stops a
    mapping that contains itself); any other object is refused at its key path."""
    count = 0

    def walk(value: Any, path: str, depth: int) -> Any:
        nonlocal count
        count += 1
        if count > MAX_YAML_VALUES:
            raise check.fail(path, f"holds more than {MAX_YAML_VALUES} values; a spec is "
                             "much smaller")
        if depth > MAX_DEPTH:
            raise check.fail(top_key(path), f"nested more than {MAX_DEPTH} levels deep; a spec "
                             "is much flatter")
        if value is None or isinstance(value, (str, bool, int, float)):
            return value
        if isinstance(value, dict):
            return {k: walk(v, join_key(path, str(k)), depth + 1) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            if _plain_numbers(value) and count + len(value) <= MAX_YAML_VALUES:
                count += len(value)  # a long list of numbers (a metric): one pass
                return list(value)
            return [walk(v, f"{path}[{i}]", depth + 1) for i, v in enumerate(value)]
        if type(value).__module__ == "numpy" and getattr(value, "ndim", None) == 0:
            return walk(value.item(), path, depth)  # numpy.float32(0.1), numpy.int64(100)
        if isinstance(value, Path):
            return str(value)
        raise check.fail(path, "expected numbers, text, true/false, lists or mappings, "
                         f"got {show_value(value)}")

    return walk(raw, "", 0)


def join_key(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def top_key(path: str) -> str:
    """The top-level key of a key path (a deep path is too long to be read in a message)."""
    return re.split(r"[.\[]", path, maxsplit=1)[0]


def kind_of(value: Any) -> str:
    return {list: "list", str: "string", int: "number", float: "number", bool: "boolean"}.get(
        type(value), type(value).__name__
    )


def show_value(value: Any) -> str:
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return repr(shown)
    if value is None:
        return "nothing"
    if isinstance(value, int) and abs(value) > MAX_INT:  # str() of a huge int is slow
        return f"an integer of about {int(value.bit_length() * 0.30103) + 1} digits"
    if isinstance(value, bool):
        return str(value).lower()  # as YAML writes it
    if isinstance(value, (dict, list)):
        return f"a {kind_of(value) if isinstance(value, list) else 'mapping'}"
    return repr(value)


def names_excerpt(names: list[str], most: int = 8) -> str:
    """A short list of names from a file, each shown as an escaped excerpt."""
    shown = [show_value(n) for n in names[:most]]
    more = f" and {len(names) - most} more" if len(names) > most else ""
    return ", ".join(shown) + more


def num_text(number: float) -> str:
    return repr(int(number)) if float(number).is_integer() else repr(float(number))
