"""OmegaConf's ``${...}`` interpolation, resolved against the config as plain data.

Hydra and torchtune configs write ``lr: ${optimizer.lr}`` or ``T_max: ${trainer.max_epochs}``.
lrviz resolves what it reads itself, without importing omegaconf: ``${a.b}`` (from the
config's root), ``${.b}`` / ``${..b}`` (relative to the mapping that holds the value),
``${a.0}`` (a list item), and text around them (``run_${seed}`` stays text). A resolver
(``${oc.env:HOME}``, ``${eval:...}``, any ``${name:...}``) runs code or reads the
environment: it is refused, naming the key. Only the values lrviz reads are resolved, so
a resolver in an unrelated key (``hydra.run.dir``) is left alone.
"""

from __future__ import annotations

import re
from typing import Any

from lrviz.errors import SpecError

_REF = re.compile(r"\$\{([^${}]*)\}")
_MAX_HOPS = 32
_MAX_VALUES = 100_000  # values built by one resolve: references that fan out stop here


def resolve(value: Any, root: dict[str, Any], path: str, source: str, hops: int = 0,
            budget: list[int] | None = None) -> Any:
    """``value`` (found at key ``path``) with its interpolations resolved; lists and
    mappings are resolved item by item."""
    budget = [_MAX_VALUES] if budget is None else budget
    budget[0] -= 1
    if budget[0] < 0:
        raise SpecError(f"interpolations expand to more than {_MAX_VALUES} values",
                        f"{source}: {path}")
    if isinstance(value, dict):
        return {k: resolve(v, root, f"{path}.{k}", source, hops, budget)
                for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, root, f"{path}.{i}", source, hops, budget)
                for i, v in enumerate(value)]
    if not isinstance(value, str) or "${" not in value:
        return value
    where = f"{source}: {path}"
    if hops > _MAX_HOPS:
        raise SpecError(f"interpolations nested more than {_MAX_HOPS} deep (a loop?)", where)
    whole = _REF.fullmatch(value.strip())
    if whole:
        target, at = _lookup(whole.group(1), root, path, where)
        return resolve(target, root, at, source, hops + 1, budget)

    def text(match: re.Match[str]) -> str:
        target, at = _lookup(match.group(1), root, path, where)
        resolved = resolve(target, root, at, source, hops + 1, budget)
        if isinstance(resolved, dict | list):
            raise SpecError(f"${{{match.group(1)}}} is a {type(resolved).__name__}; "
                            "expected a value to put in text", where)
        return str(resolved)

    out = _REF.sub(text, value)
    if "${" in out:
        raise SpecError("an interpolation lrviz cannot resolve (nested ${...})", where)
    return out


def _lookup(ref: str, root: dict[str, Any], path: str, where: str) -> tuple[Any, str]:
    ref = ref.strip()
    if ":" in ref:
        name = ref.split(":", 1)[0].strip()
        raise SpecError(f"the resolver ${{{name}:...}} runs code or reads the environment; "
                        "lrviz does not run it: write the value instead", where)
    if ref.startswith("."):
        dots = len(ref) - len(ref.lstrip("."))
        parts = path.split(".")[: -dots] if dots <= path.count(".") + 1 else None
        if parts is None:
            raise SpecError(f"${{{ref}}} goes above the config's root", where)
        keys = [*parts, *[k for k in ref[dots:].split(".") if k]]
    else:
        keys = [k for k in ref.split(".") if k]
    node: Any = root
    for i, key in enumerate(keys):
        if isinstance(node, dict) and key in node:
            node = node[key]
        elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
            node = node[int(key)]
        else:
            raise SpecError(f"${{{ref}}}: no key {'.'.join(keys[: i + 1])!r} in the config",
                            where)
    return node, ".".join(keys)
