"""``lrviz schema``: a JSON Schema (draft 2020-12) of the YAML spec format, README "The YAML spec".

The scheduler part is generated from :data:`lrviz.catalog.SCHEDULERS_TABLE`, so every
scheduler, parameter, type, bound, default and help line comes from the one table that
drives validation too. The schema follows what :func:`lrviz.build.build_spec` accepts,
as far as JSON Schema can say it:

- Names that lrviz reads case-insensitively (scheduler ``type``, ``mode``-like choices,
  ``true``/``yes``/``on`` words) are matched by patterns that spell each letter as a
  ``[Xx]`` class, since JSON Schema regexes have no case-insensitive flag; an ``enum``
  beside the pattern gives editors the canonical spellings to complete. In scheduler
  names ``_`` and ``-`` are interchangeable, as in lrviz. Leading or trailing spaces,
  which lrviz strips, are not accepted.
- Numbers may also be strings in decimal or exponent notation (YAML 1.1 reads ``1e-4``
  as a string); per-group parameters may also be a list or a comma-separated string;
  integer lists may be a single integer or a comma-separated string. Bounds apply to
  numbers, not to numbers written as strings.
- Not expressed: relations between keys (``base_lr <= max_lr``, one milestone fewer than
  schedulers, one value per param group, enough metric values, a warmup shorter than
  the run), bounds of numbers written as strings, expression syntax, and the
  optimizer's own keywords, which depend on the torch class. lrviz itself checks all
  of it when it loads the spec (``lrviz check`` included).
"""

from __future__ import annotations

import re
from typing import Any

from lrviz import catalog, keys, spec
from lrviz.catalog import ANY, BOOL, CHOICE, EXPR, FLOAT, INT, INT_LIST, SCHEDULERS, Param
from lrviz.expr import MAX_CHARS

DRAFT = "https://json-schema.org/draft/2020-12/schema"
_NUMBER = r"[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?"
_NUMBER_STRING = rf"^{_NUMBER}$"
_NUMBER_LIST = rf"^\s*{_NUMBER}\s*(,\s*{_NUMBER}\s*)*$"
_BOOL_WORDS = ("true", "false", "yes", "no", "on", "off", "1", "0")  # as spec._BOOL_WORDS


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a YAML spec file, as a fresh JSON-able mapping.

    Every ``configs/*.yaml`` validates against it; unknown keys at the top level, in the
    scheduler (nested ones included), in ``metric`` and in ``plot`` do not.
    """
    plateau = [s for s in _TABLE if s.takes_metric]
    uses_metric = {"type": "string", "pattern": _names(_spellings(plateau), dashes=True)}
    return {
        "$schema": DRAFT,
        "title": "lrviz spec",
        "description": "A learning-rate schedule for lrviz to simulate: the optimizer, the "
                       "scheduler and how many training steps to run (the README's \"The "
                       "YAML spec\").",
        "type": "object",
        "properties": {key.name: _top(key) for key in keys.TOP},
        "required": [key.name for key in keys.TOP if key.required],
        "additionalProperties": False,
        # only a scheduler stepped on a metric (ReduceLROnPlateau) takes `metric:`
        "dependentSchemas": {
            "metric": {"properties": {"scheduler": {"properties": {"type": uses_metric}}}},
        },
        "$defs": {
            "number": _number(),
            "number_text": {"type": "string", "pattern": _NUMBER_STRING,
                            "description": "A number written as text, e.g. 1e-4."},
            "number_list_text": {"type": "string", "pattern": _NUMBER_LIST,
                                 "description": "Comma-separated numbers, e.g. 1e-4,1e-5."},
            "optimizer_value": {
                "type": ["number", "string", "boolean", "null", "array"],
                "items": {"$ref": "#/$defs/optimizer_value"},
            },
            "top_scheduler": _scheduler(top=True),
            "scheduler": _scheduler(top=False),
        },
    }


# ------------------------------------------------------------------------ top level


def _key(key: keys.Key) -> dict[str, Any]:
    """The schema of one of the spec's own keys, from :mod:`lrviz.keys`' table."""
    bounds: dict[str, Any] = {}
    if key.minimum is not None:
        bounds["exclusiveMinimum" if key.exclusive_minimum else "minimum"] = key.minimum
    if key.maximum is not None:
        bounds["maximum"] = key.maximum
    out: dict[str, Any]
    if key.kind == keys.INTEGER:
        out = _integer(**bounds)
        if not key.required:  # left empty, as not given
            out = {"anyOf": [*out["anyOf"], {"type": "null"}]}
    elif key.kind == keys.NUMBER:
        out = _number(**bounds)
    elif key.kind == keys.BOOLEAN:
        out = _boolean()
    elif key.kind == keys.NAME:
        # one line, no slashes, not starting with . or - (nor with spaces, which lrviz strips)
        out = {"type": ["string", "null"], "maxLength": key.max_length,
               "pattern": r"^[^./\\\s\x00-\x1f\x7f-\x9f-][^/\\\x00-\x1f\x7f-\x9f]*$"}
    elif key.kind == keys.TEXT:
        out = {"type": ["string", "number", "boolean", "null"], "maxLength": key.max_length,
               "pattern": r"^[^\x00-\x1f\x7f-\x9f]*$"}
    elif key.kind == keys.CHOICE:
        out = {"enum": list(key.choices)}
    elif key.kind == keys.SIZE:
        side = _SIDE_1_TO_50
        out = {"anyOf": [
            {"type": "string", "pattern": rf"^{side}[xX]{side}$"},
            {"type": "array", "minItems": 2, "maxItems": 2,
             "items": _number(**bounds)},
        ]}
    else:
        raise AssertionError(f"{key.name}: no schema for a {key.kind}")
    if key.default is not None:
        out["default"] = key.default
    return {**out, "description": key.help}


# A side of a figure written as text, 1 to 50 inches (``8x4``): the bound in a pattern.
_SIDE_1_TO_50 = r"(50(\.0*)?|[1-4]\d(\.\d*)?|[1-9](\.\d*)?)"


def _optimizer() -> dict[str, Any]:
    value = {"$ref": "#/$defs/optimizer_value"}
    return {
        "type": ["object", "null"],
        "description": "The torch.optim optimizer; default: SGD(lr=0.1, momentum=0.9). "
                       "Other keys are constructor keywords of that optimizer.",
        "properties": {
            "type": {"type": "string", "minLength": 1, "default": "SGD",
                     "description": "A torch.optim optimizer class name (any case)."},
            "lr": {"$ref": "#/$defs/number", "default": 0.1,
                   "description": "Initial learning rate."},
            "momentum": {"$ref": "#/$defs/number",
                         "description": "Momentum; for Adam-like optimizers, beta1. "
                                        "SGD defaults to 0.9."},
            "param_groups": {
                "type": "array", "minItems": 1,
                "description": "One entry per param group, overriding the keywords above.",
                "items": {"type": "object", "additionalProperties": value},
            },
        },
        "additionalProperties": value,
    }


def _metric() -> dict[str, Any]:
    from lrviz.metrics import GENERATORS  # numpy, not torch: only when the schema is made

    values = {"anyOf": [
        {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/number"}},
        {"$ref": "#/$defs/number_list_text"},
    ], "description": "The metric fed after each scheduler step, in order."}
    file = {"type": "string", "minLength": 1,
            "description": "A CSV file (relative to the spec); empty cells are skipped."}
    column = {"type": "string", "description": "The CSV column; optional with one column."}
    run = {"type": "string", "minLength": 1,
           "description": "A logged run (relative to the spec), any log lrviz verify reads."}
    tag = {"type": "string", "minLength": 1,
           "description": "The run's scalar to feed; default: the first of eval_loss, "
                          "val_loss, validation_loss, loss, train_loss it logged."}
    seed = {**_integer(minimum=0), "default": 0,
            "description": "Seed of the generator's noise: same seed, same values."}

    def knob(default: float) -> dict[str, Any]:
        return {**_number(minimum=0), "default": default}

    generators = []
    for gen in GENERATORS.values():
        generators.append({
            "if": {"required": ["generator"], "properties": {"generator": {"const": gen.name}}},
            "then": {"properties": {"generator": True, "seed": seed,
                                    **{k: knob(v) for k, v in gen.params.items()}},
                     "additionalProperties": False},
        })
    # Without `generator:`, lrviz picks one by the scheduler's mode; which knobs are
    # valid then depends on that choice, so any generator's are accepted here.
    knobs = {k: knob(v) for gen in GENERATORS.values() for k, v in gen.params.items()}
    return {
        "description": "ReduceLROnPlateau only: the values fed to scheduler.step(metric). "
                       "Default: a synthetic metric that suits the scheduler's mode.",
        "oneOf": [
            {"type": "object", "required": ["values"], "additionalProperties": False,
             "properties": {"values": values}},
            {"type": "object", "required": ["file"], "additionalProperties": False,
             "properties": {"file": file, "column": column}},
            {"type": "object", "required": ["run"], "additionalProperties": False,
             "properties": {"run": run, "tag": tag}},
            {"type": "object", "required": ["generator"], "allOf": generators,
             "properties": {"generator": {
                 "enum": list(GENERATORS),
                 "description": "A synthetic metric: "
                                + "; ".join(f"{g.name}: {g.help}" for g in GENERATORS.values()),
             }}},
            {"type": "object", "minProperties": 1, "additionalProperties": False,
             "properties": {"seed": seed, **knobs}},
            {"type": "null"},
        ],
    }


def _section(name: str, description: str) -> dict[str, Any]:
    table = keys.SECTIONS[name]
    return {"type": ["object", "null"], "description": description,
            "properties": {k.name: _section(f"{name}.{k.name}", k.help)
                           if k.kind == keys.MAPPING else _key(k) for k in table},
            "required": [k.name for k in table if k.required],
            "additionalProperties": False}


_SECTIONS = {"optimizer": _optimizer, "scheduler": lambda: {"$ref": "#/$defs/top_scheduler"},
             "metric": _metric}


def _top(key: keys.Key) -> dict[str, Any]:
    if key.kind != keys.MAPPING:
        return _key(key)
    if key.name in keys.SECTIONS:
        return _section(key.name, key.help)
    return _SECTIONS[key.name]()


# ------------------------------------------------------------------------ schedulers

_TABLE = catalog.SCHEDULERS_TABLE + catalog.HF_SCHEDULERS


def _scheduler(top: bool) -> dict[str, Any]:
    """One scheduler object; ``top`` adds ``interval``, nested ones exclude ReduceLROnPlateau.

    Each scheduler's keys are checked by an ``if`` (its type) / ``then`` (its keys, with
    ``additionalProperties: false``) pair, so an error names the scheduler's own keys.
    """
    table = [s for s in _TABLE if top or not s.takes_metric]
    names = _spellings(table)
    branches = []
    for info in table:
        properties: dict[str, Any] = {"type": {"description": f"{info.name} or an alias"}}
        if top:
            properties["interval"] = {
                "enum": list(spec.INTERVALS), "default": "step",
                "description": "When scheduler.step() runs: after every training `step`, or "
                               "once per `epoch` (every steps_per_epoch steps)."}
        properties.update({p.name: _param(p, p.name == info.length_param)
                           for p in info.params})
        required = ["type", *(p.name for p in info.params
                              if p.required and p.name != info.length_param)]
        branches.append({
            "if": {"required": ["type"], "properties": {"type": {
                "type": "string", "pattern": _names(_spellings([info]), dashes=True)}}},
            "then": {"title": info.name, "description": info.help, "properties": properties,
                     "required": required, "additionalProperties": False},
        })
    what = "" if top else " (nested: none stepped on a metric)"
    return {
        "type": "object",
        "required": ["type"],
        "properties": {"type": {
            "type": "string",
            "description": f"The scheduler: a torch class name (any case), an alias, an hf: "
                           f"schedule or package.module:ClassName (--allow-import){what}.",
            "anyOf": [{"enum": _canonical(table)}, {"pattern": _names(names, dashes=True)},
                      {"pattern": f"^{catalog.IMPORT_TARGET.pattern}$"}],
        }},
        "allOf": branches,
    }


def _param(p: Param, filled: bool = False) -> dict[str, Any]:
    """The schema of one constructor keyword, from its catalog kind."""
    bounds: dict[str, Any] = {}
    if p.minimum is not None:
        bounds["minimum"] = p.minimum
    if p.maximum is not None:
        bounds["maximum"] = p.maximum
    if p.positive:
        bounds["exclusiveMinimum"] = 0
    options: list[dict[str, Any]]
    if p.kind == INT:
        options = [_integer(**bounds)]
    elif p.kind == FLOAT:
        options = [_number(**bounds)]
    elif p.kind == BOOL:
        options = [_boolean()]
    elif p.kind == CHOICE:
        options = [{"type": "string", "anyOf": [{"enum": list(p.choices)},
                                                {"pattern": _names(p.choices)}]}]
    elif p.kind == INT_LIST:
        item = _integer(**bounds)
        options = [{"type": "array", "items": item}, item,
                   {"$ref": "#/$defs/number_list_text"}]
    elif p.kind == EXPR:
        options = [{"type": "string", "minLength": 1, "maxLength": MAX_CHARS},
                   {"type": "number"}]
    elif p.kind == ANY:
        options = [{"type": ["number", "string", "boolean", "null", "array"]}]
    elif p.kind == SCHEDULERS:
        options = [{"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/scheduler"}}]
    else:
        raise AssertionError(f"unhandled parameter kind {p.kind}")
    if p.per_group:
        scalar = options[0] if len(options) == 1 else {"anyOf": options}
        options = [*options, {"type": "array", "minItems": 1, "items": scalar}]
        if p.kind != EXPR:
            options.append({"$ref": "#/$defs/number_list_text"})
    if p.nullable:
        options.append({"type": "null"})
    out: dict[str, Any] = {"description": _describe(p, filled)}
    if not p.required and isinstance(p.default, (bool, int, float, str, type(None))):
        out["default"] = p.default
    if len(options) == 1:
        return {**out, **options[0]}
    return {**out, "anyOf": options}


def _describe(p: Param, filled: bool) -> str:
    """The catalog's help, what the key takes, and its default (``filled``: lrviz's)."""
    text = f"{p.help}. Takes: {p.describe_type()}"
    if filled:  # T_max, total_steps: the help says what lrviz fills in
        return f"{text}."
    if p.required:
        return f"{text}; required."
    return f"{text}; default: {'none' if p.default is None else p.default}."


# ------------------------------------------------------------------------ primitives


def _number(**bounds: Any) -> dict[str, Any]:
    """A number, or a string that reads as one (YAML 1.1 reads ``1e-4`` as a string)."""
    return {"anyOf": [{"type": "number", **bounds}, {"$ref": "#/$defs/number_text"}]}


def _integer(**bounds: Any) -> dict[str, Any]:
    """An integer (``100.0`` is one too), or a number written as a string."""
    return {"anyOf": [{"type": "integer", **bounds}, {"$ref": "#/$defs/number_text"}]}


def _boolean() -> dict[str, Any]:
    return {"anyOf": [{"type": "boolean"},
                      {"type": "string", "pattern": _names(_BOOL_WORDS)}]}


def _spellings(table: list[catalog.Scheduler]) -> list[str]:
    """Every name lrviz accepts for these schedulers: class names and aliases."""
    return [name for s in table for name in (s.name, *s.aliases)]


def _canonical(table: list[catalog.Scheduler]) -> list[str]:
    """The spellings editors should offer: class names, then aliases."""
    return [s.name for s in table] + [a for s in table for a in s.aliases]


def _names(words: list[str] | tuple[str, ...], dashes: bool = False) -> str:
    """A regex matching any of ``words`` in any case (``-``/``_`` alike if ``dashes``)."""

    def letter(c: str) -> str:
        if c.isalpha():
            return f"[{c.upper()}{c.lower()}]"
        if dashes and c in "-_":
            return "[-_]"
        return re.escape(c)

    return "^(" + "|".join("".join(letter(c) for c in w) for w in words) + ")$"
