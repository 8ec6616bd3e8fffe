"""lrviz's own YAML spec (README "The YAML spec"), read as it is.

The file already is a raw spec, so :func:`read` hands it on unchanged and the
validator names every key as the file spells it.
"""

from __future__ import annotations

from typing import Any

from lrviz import keys as _keys

NAME = "lrviz"
DESCRIPTION = "lrviz's YAML spec (scheduler: ...)"
TOP_KEYS = _keys.names(_keys.TOP)

# Keys that mark another format's file (LightningCLI's class_path, Hydra's _target_,
# torchtune's _component_): lrviz's spec never holds them, so a file with one at its
# first two levels is not lrviz's, whatever else it shares with it (`optimizer:`).
_FOREIGN = frozenset(("class_path", "init_args", "_target_", "_component_"))


def detect(data: dict[str, Any]) -> int:
    """10 with a top-level ``scheduler:`` and mostly lrviz keys, 5 with ``scheduler:``
    among mostly other keys; without it 2 when every key is lrviz's (a spec that forgot
    its scheduler), 1 when at least half are (a spec with a typo); else 0.

    Half and half is the line so that a file of another format that happens to hold an
    ``optimizer:`` or ``name:`` (axolotl) is not taken for a spec with many unknown keys.
    """
    if _foreign(data):
        return 0
    keys = [k for k in data if isinstance(k, str)]
    own = sum(k in TOP_KEYS for k in keys)
    mostly = 2 * own >= len(data)
    if "scheduler" in data:
        return 10 if mostly else 5
    if own and own == len(data):
        return 2
    return 1 if own and mostly else 0


def read(data: dict[str, Any], source: str) -> tuple[dict[str, Any], dict[str, str]]:
    """The spec as written; its keys are where they came from."""
    return data, {}


def _foreign(data: dict[str, Any]) -> bool:
    if _FOREIGN.intersection(data):
        return True
    sched = data.get("scheduler")
    if isinstance(sched, dict) and "params" in sched:  # DeepSpeed's {type, params}
        return True
    return any(isinstance(v, dict) and _FOREIGN.intersection(v) for v in data.values())
