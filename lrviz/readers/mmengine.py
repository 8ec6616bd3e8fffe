"""OpenMMLab/mmengine Python configs, read WITHOUT running them.

An mmengine config is a Python file, but lrviz never executes it: :func:`load_python`
parses it with :mod:`ast` and computes only literal data: numbers, strings, lists,
tuples, dicts, ``dict(...)`` calls with keywords, names bound earlier in the file,
arithmetic on numbers, ``+`` of strings or of lists, and mmengine's ``{{_base_.key}}``
references to the ``_base_`` files' values. Any other value (a call, an f-string, a
subscript) is never run: it is kept as :class:`Opaque`, and is an error, one line naming
its key and line, only where lrviz reads it (real configs compute their data pipelines;
the schedule is literal). A statement other than ``name = value`` or ``name += value``
(an import, a loop, an ``if``) is refused in one line naming the line.
``_base_`` files are read by the same rule and the path policy (under the config's
folder, the current folder or an ``--allow-path`` folder), and merged as mmengine merges
them (mappings key by key, ``_delete_=True`` replaces).

What is read: ``param_scheduler`` (a dict or a list), ``optim_wrapper.optimizer`` (or the
old ``optimizer``; several optimizers, below), ``train_cfg`` (``max_epochs`` or ``max_iters``),
``train_dataloader.batch_size`` and ``optim_wrapper.accumulative_counts``. ``max_iters``
counts iterations, which are micro-batches: lrviz's ``max_steps`` (optimizer steps) is
``max_iters / accumulative_counts``, and a ``max_iters`` that ends in a partial window is
refused. One scheduler
that torch's class of the same name runs float for float (from ``begin=0``, in one unit,
its window to the run's end) becomes that torch scheduler, ``by_epoch`` its interval
(mmengine's LinearLR runs ``end - begin - 1`` steps: torch's ``total_iters``). Anything
else (a list side by side, ``begin``/``end`` windows, ``convert_to_iter_based``, PolyLR,
``eta_min_ratio``) is ``mmengine:param_scheduler``: mmengine's own classes, stepped as its
ParamSchedulerHook steps them (lrviz.schedulers.mmengine; the ``mmengine`` extra).

Several optimizers (GANs: ``optim_wrapper = dict(constructor='MultiOptimWrapperConstructor',
generator=dict(optimizer=...), discriminator=dict(optimizer=...))``): mmengine's
``Runner.build_param_scheduler`` gives every optimizer the same ``param_scheduler``, or,
when it is a dict keyed by the optimizers' names (no ``type``), each its own list. An
lrviz spec is one schedule on one optimizer whose param groups each keep their own lr,
and an mmengine scheduler scales each group from its own initial lr: so optimizers that
share their schedulers are read as one param group each, in the config's order (the
same floats). Optimizers with different schedulers are refused in one line, unless
``--from mmengine:NAME`` (:func:`read_part`) picks one of them.
"""

from __future__ import annotations

import ast
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lrviz.errors import SpecError
from lrviz.readers.common import Translation, mapping, number, optimizer_class, text

NAME = "mmengine"
DESCRIPTION = "an mmengine Python config (param_scheduler = dict(...))"

_MAX_BASES = 16
_MAX_BYTES = 1 << 20
# mmengine schedulers with torch's formula (chainable, the same floats), and how their
# mmengine parameters become torch's.
_SAME_AS_TORCH = ("StepLR", "MultiStepLR", "ExponentialLR", "ConstantLR", "LinearLR",
                  "CosineAnnealingLR")
_WINDOW = ("begin", "end", "by_epoch", "convert_to_iter_based", "verbose")


def detect(data: dict[str, Any]) -> int:
    return 10 if "param_scheduler" in data or "optim_wrapper" in data else 0


@dataclass(frozen=True)
class Opaque:
    """A value of the config that is not literal data, so lrviz does not compute it:
    ``why`` says what it is and on which line, ``source`` the file it is in."""

    why: str
    source: str

    def error(self, key: str) -> SpecError:
        """The one-line error for reading it at ``key`` of the config ``source``."""
        return SpecError(f"{self.why}; lrviz never runs a config", f"{self.source}: {key}")


def load_python(path: str | Path, body: str | None = None, depth: int = 0,
                allow_paths: tuple[str | Path, ...] = ()) -> dict[str, Any]:
    """The literal data an mmengine config binds, its ``_base_`` files merged under it
    (values that are not literal data as :class:`Opaque`). ``allow_paths`` are folders
    ``_base_`` files may be in besides the config's own and the current one."""
    from lrviz import inputs

    path = Path(path)
    if body is None:
        body = inputs.read_text(path, what="config", where=str(path), limit=_MAX_BYTES)
    try:
        tree = ast.parse(body, filename=str(path))
    except (SyntaxError, ValueError, RecursionError) as exc:
        line = getattr(exc, "lineno", None)
        raise SpecError(f"not valid Python{f' (line {line})' if line else ''}",
                        str(path)) from None
    statements: list[tuple[str, ast.AST]] = []
    names: dict[str, Any] = {}
    for stmt in tree.body:
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
            continue  # a docstring
        if isinstance(stmt, ast.AugAssign) and isinstance(stmt.target, ast.Name):
            # `pipeline += [...]`: the name bound to its old value plus the new one
            value = ast.BinOp(ast.Name(stmt.target.id, ast.Load()), stmt.op, stmt.value)
            statements.append((stmt.target.id, ast.copy_location(value, stmt)))
            continue
        if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1
                and isinstance(stmt.targets[0], ast.Name)):
            raise SpecError(f"line {stmt.lineno}: lrviz reads only `name = literal data` "
                            "(it never runs a config)", str(path))
        statements.append((stmt.targets[0].id, stmt.value))
    # the _base_ files first: {{_base_.key}} refers to their values
    merged: dict[str, Any] = {}
    for name, node in statements:
        if name == "_base_":
            bases = _literal(node, {}, str(path))
            bases = [bases] if isinstance(bases, str) else bases
            if not isinstance(bases, list) or not all(isinstance(b, str) for b in bases):
                raise SpecError("expected a file name or a list of them", f"{path}: _base_")
            for base in bases:
                if depth >= _MAX_BASES:
                    raise SpecError(f"_base_ files nested more than {_MAX_BASES} deep",
                                    f"{path}: _base_")
                folder = path.parent
                target = folder / base
                roots = [folder.resolve(), os.getcwd(), *allow_paths]
                text_ = inputs.read_text(target, what="_base_ config", where=f"{path}: _base_",
                                         limit=_MAX_BYTES, roots=roots)
                if target.suffix != ".py":
                    raise SpecError(f"{base!r}: lrviz reads Python _base_ files only",
                                    f"{path}: _base_")
                merged = _merge(merged, load_python(target, text_, depth + 1, allow_paths))
    names["_base_"] = merged
    for name, node in statements:
        if name != "_base_":
            names[name] = _literal(node, names, str(path))
    del names["_base_"]
    return _merge(merged, names)


def _merge(base: dict[str, Any], child: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in child.items():
        if (isinstance(value, dict) and isinstance(out.get(key), dict)
                and not value.get("_delete_")):
            out[key] = _merge(out[key], value)
        elif isinstance(value, dict) and isinstance(out.get(key), Opaque) and not value.get(
                "_delete_"):
            out[key] = out[key]  # merged into a value lrviz does not compute: unknown too
        elif isinstance(value, dict):
            out[key] = {k: v for k, v in value.items() if k != "_delete_"}
        else:
            out[key] = value
    return out


_OPS = {ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b,
        ast.Mult: lambda a, b: a * b, ast.Div: lambda a, b: a / b,
        ast.FloorDiv: lambda a, b: a // b}


def _literal(node: ast.AST, names: dict[str, Any], source: str) -> Any:
    """The value of ``node``, or an :class:`Opaque` when it is not literal data."""
    def opaque(what: str) -> Opaque:
        return Opaque(f"line {getattr(node, 'lineno', '?')}: {what} is not literal data",
                      source)

    if isinstance(node, ast.Constant) and isinstance(node.value, int | float | str | bool
                                                     | type(None)):
        return node.value
    if isinstance(node, ast.List | ast.Tuple):
        return [_literal(e, names, source) for e in node.elts]
    if isinstance(node, ast.Dict):
        if any(k is None for k in node.keys):
            return opaque("`**` in a dict")
        keys = [_key(k, names, source) for k in node.keys]  # type: ignore[arg-type]
        bad = next((k for k in keys if isinstance(k, Opaque)), None)
        return bad if bad is not None else {
            k: _literal(v, names, source) for k, v in zip(keys, node.values, strict=True)}
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "dict":
        if node.args or any(k.arg is None for k in node.keywords):
            return opaque("dict() with positional or ** arguments")
        return {k.arg: _literal(k.value, names, source) for k in node.keywords}
    if isinstance(node, ast.Name):
        if node.id in names:
            return names[node.id]
        return opaque(f"the name {node.id!r} (not bound earlier in the file)")
    base = _base_reference(node)
    if base is not None:  # {{_base_.key}}: mmengine puts the _base_ files' value there
        value: Any = names.get("_base_", {})
        for part in base:
            if not isinstance(value, dict) or part not in value:
                return opaque(f"{{{{_base_.{'.'.join(base)}}}}} (not in the _base_ files)")
            value = value[part]
        return value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        value = _literal(node.operand, names, source)
        if isinstance(value, Opaque):
            return value
        if isinstance(value, int | float) and not isinstance(value, bool):
            return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
        a, b = _literal(node.left, names, source), _literal(node.right, names, source)
        for v in (a, b):
            if isinstance(v, Opaque):
                return v
        if all(isinstance(v, int | float) and not isinstance(v, bool) for v in (a, b)):
            if abs(a) > 1e300 or abs(b) > 1e300:
                return opaque("a number this large")
            try:
                return _OPS[type(node.op)](a, b)
            except ZeroDivisionError:
                return opaque("a division by zero")
        if isinstance(node.op, ast.Add) and type(a) is type(b) and isinstance(a, str | list):
            if len(a) + len(b) > _MAX_BYTES:
                return opaque("a value this long")
            return a + b  # two strs or two lists
    what = {"JoinedStr": "an f-string", "Call": "a call", "Subscript": "a subscript",
            "Attribute": "an attribute", "ListComp": "a comprehension",
            "DictComp": "a comprehension"}.get(type(node).__name__, type(node).__name__)
    return opaque(what)


def _base_reference(node: ast.AST) -> list[str] | None:
    """``[a, b]`` for mmengine's ``{{_base_.a.b}}`` (a set in a set, as Python parses it)
    or ``_base_.a.b``; else None."""
    if (isinstance(node, ast.Set) and len(node.elts) == 1 and isinstance(node.elts[0], ast.Set)
            and len(node.elts[0].elts) == 1):
        node = node.elts[0].elts[0]
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name) and node.id == "_base_" and parts:
        return parts[::-1]
    return None


def _key(node: ast.AST, names: dict[str, Any], source: str) -> Any:
    key = _literal(node, names, source)
    if not isinstance(key, str | int | Opaque):
        return Opaque(f"line {getattr(node, 'lineno', '?')}: a dict key that is not text",
                      source)
    return key


def read(data: dict[str, Any], source: str) -> tuple[dict[str, Any], dict[str, str]]:
    return _read(data, source, None)


def read_part(data: dict[str, Any], source: str, part: str) -> tuple[dict[str, Any],
                                                                      dict[str, str]]:
    """The schedule of the optimizer named ``part`` of a config with several
    (``--from mmengine:NAME``)."""
    return _read(data, source, part)


def _read(data: dict[str, Any], source: str,
          part: str | None) -> tuple[dict[str, Any], dict[str, str]]:
    t = Translation(source)
    wrapper = data.get("optim_wrapper")
    scheds, sched_key = data.get("param_scheduler"), "param_scheduler"
    several = _optimizers(wrapper)
    if part is not None and part not in several:
        raise SpecError(f"no optimizer {part!r} in optim_wrapper; expected one of "
                        f"{', '.join(several) or '(it has a single optimizer)'}", "--from")
    groups: list[tuple[str, dict[str, Any]]] = []  # (key, optimizer) per param group
    if several:
        names = [part] if part is not None else list(several)
        per_name = isinstance(scheds, dict) and "type" not in scheds
        if per_name:  # Runner.build_param_scheduler: each optimizer its own list
            for name in names:
                if name not in scheds:  # type: ignore[operator]
                    raise SpecError(f"no schedulers for the optimizer {name!r}",
                                    t.at("param_scheduler"))
            chosen = [_required(scheds[n], t, f"param_scheduler.{n}")  # type: ignore[index]
                      for n in names]
            if any(c != chosen[0] for c in chosen[1:]):
                raise SpecError(
                    f"the optimizers {' and '.join(names)} have their own schedulers and "
                    "lrviz plots one schedule per file; choose one with "
                    f"{' or '.join(f'--from mmengine:{n}' for n in names)}",
                    t.at("param_scheduler"))
            scheds, sched_key = scheds[names[0]], f"param_scheduler.{names[0]}"  # type: ignore[index]
        for name in names:
            groups.append((f"optim_wrapper.{name}.optimizer",
                           _required(several[name]["optimizer"], t,
                                     f"optim_wrapper.{name}.optimizer")))
    elif isinstance(wrapper, dict) and wrapper.get("optimizer") is not None:
        groups.append(("optim_wrapper.optimizer",
                       _required(wrapper["optimizer"], t, "optim_wrapper.optimizer")))
    elif data.get("optimizer") is not None:
        groups.append(("optimizer", _required(data["optimizer"], t, "optimizer")))
    if not groups and scheds is None:
        raise SpecError("neither param_scheduler nor an optimizer; the schedule is set in "
                        "code, not in this file", source)
    scheds = _required(scheds, t, sched_key)
    _optimizer(t, groups)
    cfg = _required_keys(data.get("train_cfg"), t, "train_cfg",
                         ("type", "by_epoch", "max_epochs", "max_iters"))
    loader = _required_keys(data.get("train_dataloader"), t, "train_dataloader", ("batch_size",))
    for name, sub in several.items():
        if sub.get("accumulative_counts", 1) != 1:
            raise SpecError("accumulation in one of several optimizers is not simulated",
                            t.at(f"optim_wrapper.{name}.accumulative_counts"))
    if scheds is None:
        t.put("scheduler.type", "constant", "(no param_scheduler: a constant lr)")
        t.put("scheduler.factor", 1.0, "(no param_scheduler: a constant lr)")
        by_epoch = True
    else:
        key = sched_key
        items = scheds if isinstance(scheds, list) else [scheds]
        if not items:
            raise SpecError("an empty list; expected at least one scheduler", t.at(key))
        keys = [f"{key}[{i}]" if isinstance(scheds, list) else key for i in range(len(items))]
        found = [mapping(s, t.at(k)) for s, k in zip(items, keys, strict=True)]
        if len(found) == 1 and _same_as_torch(found[0], cfg):
            by_epoch = _scheduler(t, found[0], keys[0])
        else:
            _mmengine_list(t, found, keys, cfg)
            by_epoch = False  # the list is stepped after every iteration
    _loop(t, {**data, "train_cfg": cfg, "train_dataloader": loader}, by_epoch)
    return t.result()


def _required_keys(value: Any, t: Translation, key: str, keys: tuple[str, ...]) -> dict[str, Any]:
    """The mapping at ``key`` (empty when absent) whose ``keys`` lrviz reads, each computed."""
    if isinstance(value, Opaque):
        raise value.error(key)
    if not isinstance(value, dict):
        return {}
    for name in keys:
        _required(value.get(name), t, f"{key}.{name}")
    return value


def _optimizers(wrapper: Any) -> dict[str, dict[str, Any]]:
    """The named optimizers of an ``optim_wrapper`` with several (each a mapping with its
    own ``optimizer``), in the config's order; empty for a single optimizer."""
    if not isinstance(wrapper, dict) or wrapper.get("optimizer") is not None:
        return {}
    return {name: value for name, value in wrapper.items()
            if isinstance(value, dict) and isinstance(value.get("optimizer"), dict | Opaque)}


def _required(value: Any, t: Translation, key: str) -> Any:
    """``value`` (read at ``key``), or the error of the first part of it lrviz did not
    compute (see :class:`Opaque`)."""
    if isinstance(value, Opaque):
        raise value.error(key)
    if isinstance(value, dict):
        for name, item in value.items():
            _required(item, t, f"{key}.{name}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _required(item, t, f"{key}[{i}]")
    return value


def _optimizer(t: Translation, groups: list[tuple[str, dict[str, Any]]]) -> None:
    """``optimizer:``: one optimizer, or one param group per optimizer of several."""
    if not groups:
        return
    first_key, first = groups[0]
    first = mapping(first, t.at(first_key))
    t.put("optimizer.type", optimizer_class(text(first.get("type", "SGD"),
                                                 t.at(f"{first_key}.type"))),
          f"{first_key}.type")
    if len(groups) == 1:
        if "lr" in first:
            t.put("optimizer.lr", number(first["lr"], t.at(f"{first_key}.lr"), minimum=0),
                  f"{first_key}.lr")
        return
    lrs = []
    for i, (key, opt) in enumerate(groups):
        opt = mapping(opt, t.at(key))
        if "lr" not in opt:
            raise SpecError("expected the optimizer's lr", t.at(key))
        lrs.append({"lr": number(opt["lr"], t.at(f"{key}.lr"), minimum=0)})
        t.locations[f"optimizer.param_groups[{i}].lr"] = t.at(
            f"{key}.lr (each optimizer is a param group: the same scheduler scales its lr)")
    t.put("optimizer.param_groups", lrs, groups[0][0].rpartition(".optimizer")[0]
          .rpartition(".")[0] or "optim_wrapper")


def _same_as_torch(s: dict[str, Any], cfg: dict[str, Any]) -> bool:
    """Whether torch's class of the same name runs this one scheduler float for float:
    from the run's start, in one unit, and (for the schedules that keep changing) with a
    window that lasts the whole run (mmengine stops stepping at ``end``; torch does not)."""
    kind = s.get("type")
    if kind not in _SAME_AS_TORCH or s.get("begin", 0) != 0 or s.get("convert_to_iter_based"):
        return False
    if kind == "CosineAnnealingLR" and s.get("eta_min_ratio") is not None:
        return False
    end = s.get("end")
    if end is None or kind in ("LinearLR", "ConstantLR"):  # these stop at end in torch too
        return True
    run_end = cfg.get("max_epochs") if s.get("by_epoch", True) else cfg.get("max_iters")
    return isinstance(run_end, int) and isinstance(end, int) and end >= run_end


def _mmengine_list(t: Translation, found: list[dict[str, Any]], keys: list[str],
                   cfg: dict[str, Any]) -> None:
    """Several schedulers (or one torch has no twin for): mmengine's own classes, stepped
    as its ParamSchedulerHook steps them (lrviz.schedulers.mmengine)."""
    from lrviz.schedulers.mmengine import MEMBERS

    known = {m.attr: m for m in MEMBERS}
    iter_loop = cfg.get("max_iters") is not None or cfg.get("type") == "IterBasedTrainLoop"
    members = []
    for i, (s, key) in enumerate(zip(found, keys, strict=True)):
        kind = text(s.get("type"), t.at(f"{key}.type"))
        if kind not in known:
            raise SpecError(f"{kind} is not a scheduler lrviz simulates in an mmengine "
                            f"config; expected one of {', '.join(known)}", t.at(f"{key}.type"))
        if iter_loop and s.get("by_epoch", True):
            raise SpecError("an epoch-based scheduler in an iteration-based run (train_cfg."
                            "max_iters) steps only once the run has ended; set by_epoch=False",
                            t.at(f"{key}.by_epoch" if "by_epoch" in s else f"{key}.type"))
        member: dict[str, Any] = {"type": f"mmengine:{kind}"}
        t.locations[f"scheduler.schedulers[{i}].type"] = t.at(f"{key}.type")
        for name, value in s.items():
            if name in ("type", "verbose"):
                continue
            member[name] = value
            t.locations[f"scheduler.schedulers[{i}].{name}"] = t.at(f"{key}.{name}")
        members.append(member)
    t.put("scheduler.type", "mmengine:param_scheduler", keys[0].partition("[")[0])
    t.put("scheduler.interval", "step",
          "(mmengine's ParamSchedulerHook: the list is stepped after every iteration)")
    t.put("scheduler.schedulers", members, keys[0].partition("[")[0])
    if not iter_loop and cfg.get("max_epochs") is not None:
        t.put("scheduler.max_epochs", number(cfg["max_epochs"], t.at("train_cfg.max_epochs"),
                                             integer=True, minimum=1), "train_cfg.max_epochs")


def _scheduler(t: Translation, s: dict[str, Any], key: str) -> bool:
    kind = text(s.get("type"), t.at(f"{key}.type"))
    t.put("scheduler.type", kind, f"{key}.type")
    by_epoch = s.get("by_epoch", True)
    t.put("scheduler.interval", "epoch" if by_epoch else "step",
          f"{key}.by_epoch" if "by_epoch" in s else f"{key} (by_epoch true, mmengine's default)")
    end = s.get("end")
    if end is not None:
        end = number(end, t.at(f"{key}.end"), integer=True, minimum=1)
        if kind == "LinearLR" or kind == "ConstantLR":
            t.put("scheduler.total_iters", end - 1, f"{key}.end (mmengine: end - begin - 1)")
        elif kind == "CosineAnnealingLR" and "T_max" not in s:
            t.put("scheduler.T_max", end, f"{key}.end (mmengine: T_max = end - begin)")
    for name, value in s.items():
        if name in ("type", *_WINDOW):
            continue
        t.put(f"scheduler.{name}", value, f"{key}.{name}")
    return bool(by_epoch)


def _loop(t: Translation, data: dict[str, Any], by_epoch: bool) -> None:
    t.put("training.framework", "mmengine", "(mmengine's runner)")
    cfg: dict[str, Any] = data["train_cfg"] if isinstance(data.get("train_cfg"), dict) else {}
    wrapper = data.get("optim_wrapper")
    accum = 1
    if isinstance(wrapper, dict) and wrapper.get("accumulative_counts") is not None:
        _required(wrapper["accumulative_counts"], t, "optim_wrapper.accumulative_counts")
        accum = int(number(wrapper["accumulative_counts"],
                           t.at("optim_wrapper.accumulative_counts"), integer=True, minimum=1))
        t.put("training.grad_accum", accum, "optim_wrapper.accumulative_counts")
    if cfg.get("max_iters") is not None:
        # mmengine's iterations are micro-batches, lrviz's max_steps optimizer steps: the
        # optimizer steps every accumulative_counts-th iteration and at the run's last one
        iters = int(number(cfg["max_iters"], t.at("train_cfg.max_iters"), integer=True,
                           minimum=1))
        if iters % accum:
            raise SpecError(f"{iters} iterations end in a partial accumulation window of "
                            f"accumulative_counts {accum}, which lrviz cannot stop at; "
                            f"expected a multiple of {accum}", t.at("train_cfg.max_iters"))
        t.put("training.max_steps", iters // accum, "train_cfg.max_iters" if accum == 1 else
              f"train_cfg.max_iters / optim_wrapper.accumulative_counts ({iters} / {accum} "
              "optimizer steps)")
    if cfg.get("max_epochs") is not None:
        t.put("training.epochs", number(cfg["max_epochs"], t.at("train_cfg.max_epochs"),
                                        integer=True, minimum=1), "train_cfg.max_epochs")
    if "epochs" not in t.raw["training"] and "max_steps" not in t.raw["training"]:
        t.missing("training.epochs", "the run's length; --epochs N gives it")
    loader = data.get("train_dataloader")
    if isinstance(loader, dict) and loader.get("batch_size") is not None:
        t.put("training.batch_size", number(loader["batch_size"],
                                            t.at("train_dataloader.batch_size"), integer=True,
                                            minimum=1), "train_dataloader.batch_size")
    else:
        t.missing("training.batch_size", "the batch size; --batch-size N gives it")
    t.assume("training.world_size", 1, "world_size 1 (one process); --world-size N sets it")
    t.missing("training.dataset_size", "the dataset's size; --dataset-size N gives it")
