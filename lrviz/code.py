"""``lrviz code``: the Python that builds the optimizer and scheduler lrviz simulated.

The snippet is meant to be pasted into training code, so it reads like hand-written
torch, and it is also exact: run with the stepping loop of README "What a row means" it yields the
very floats lrviz reports. Two things need care for that. Optimizer keywords are
resolved the way the engine resolves them (``momentum`` becomes ``betas[0]`` for
Adam-like optimizers), which needs the optimizer's signature and so torch, imported
only when the code is generated. Expressions (``lr_lambda``, ``scale_fn``) become
lambdas that compute what :mod:`lrviz.expr` computes, float for float: see
:func:`python_lambda`.
"""

from __future__ import annotations

import ast
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

from lrviz import __version__, catalog
from lrviz.expr import Expression
from lrviz.spec import SchedulerSpec, Spec

LINE_LENGTH = 99
_INDENT = "    "
_ROUND_TO_FLOAT = ("floor", "ceil", "trunc")  # lrviz's evaluator turns their ints into floats


def python_code(spec: Spec) -> str:
    """Python source that builds the optimizer and scheduler lrviz builds for ``spec``.

    The module-level names are ``optimizer`` and ``scheduler``; the parameters are
    placeholders to replace with the model's, and the training loop that steps the
    scheduler the way lrviz did is written as a comment at the end. Raises
    :class:`~lrviz.errors.SpecError` if torch rejects the optimizer, as ``lrviz plot``
    would.
    """
    out = _Writer()
    _optimizer(spec, out)
    out.lines.append("")
    _plateau_warmup(spec, out)
    _scheduler(spec.scheduler, spec, out, top=True)
    out.lines.append("")
    out.lines.extend(_loop(spec, out.warmup))
    # Fixed first lines: no spec text near where Python looks for a coding declaration.
    header = [f"# The optimizer and scheduler lrviz {__version__} simulated.", ""]
    return "\n".join([*header, *out.imports(), "", *out.lines]) + "\n"


def python_lambda(expression: Expression) -> str:
    """A Python lambda that returns, for every input, the float ``expression`` returns.

    lrviz evaluates in floats: the variable and every number become floats, ``**`` is
    ``math.pow``, comparisons and ``not`` give 1.0 or 0.0, and ``round``/``floor``/
    ``ceil``/``trunc`` return floats. Written literally, ``0.95 ** epoch`` or ``-epoch``
    with torch's int ``epoch`` could differ in the last bit or in the sign of a zero,
    so the expression is rewritten node by node: numbers as float literals,
    ``math.pow`` for ``**``, ``float(...)`` where Python would otherwise compute in ints
    or booleans. The variable itself stays bare wherever Python converts it the same way.
    """
    return _lambda(expression)[0]


# ----------------------------------------------------------------------------- writer


@dataclass
class _Writer:
    """The statements written so far and what they need imported."""

    lines: list[str] = field(default_factory=list)
    modules: set[str] = field(default_factory=set)  # plain ``import x``
    names: dict[str, set[str]] = field(default_factory=dict)  # ``from module import names``
    taken: set[str] = field(default_factory=lambda: {"model", "params", "optimizer",
                                                     "scheduler", "torch", "math"})
    # lrviz's `warmup:` key: a LinearLR child of a SequentialLR, or stepped before
    # ReduceLROnPlateau, which cannot be nested
    warmup: str | None = None

    def name(self, base: str) -> str:
        """A fresh variable name: ``base``, else ``base_2``, ``base_3``, ..."""
        candidate, n = base, 1
        while candidate in self.taken:
            n += 1
            candidate = f"{base}_{n}"
        self.taken.add(candidate)
        return candidate

    def imports(self) -> list[str]:
        """isort order: the standard library, then torch; ``import`` before ``from``."""
        std = [f"import {m}" for m in sorted(self.modules) if m == "math"]
        third = [f"import {m}" for m in sorted(self.modules) if m != "math"]
        third += [f"from {mod} import {', '.join(sorted(names))}"
                  for mod, names in sorted(self.names.items())]
        return [*std, *([""] if std and third else []), *third]


Arg = str | tuple[str, list[str]]  # ``key=value``, or ``key=[items]`` to split if too long


def _call(func: str, args: list[Arg], prefix: str = "") -> list[str]:
    """``prefix + func(args)`` on one line if it fits, else one argument per line."""
    flat = [a if isinstance(a, str) else f"{a[0]}=[{', '.join(a[1])}]" for a in args]
    line = f"{prefix}{func}({', '.join(flat)})"
    if len(line) <= LINE_LENGTH:
        return [line]
    lines = [f"{prefix}{func}("]
    for arg, text in zip(args, flat, strict=True):
        if isinstance(arg, tuple) and len(_INDENT + text) >= LINE_LENGTH:
            lines += [f"{_INDENT}{arg[0]}=[", *(f"{_INDENT * 2}{item}," for item in arg[1]),
                      f"{_INDENT}],"]
        else:
            lines.append(f"{_INDENT}{text},")
    return [*lines, ")"]


def _literal(value: Any, out: _Writer) -> str:
    """Python source for a spec value: numbers that read back to the same float."""
    if isinstance(value, Expression):
        text, uses_math = _lambda(value)
        if uses_math:
            out.modules.add("math")
        return text
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else f'float("{value}")'
    if isinstance(value, int):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a valid Python string literal, in double quotes
    if isinstance(value, tuple):
        items = [_literal(v, out) for v in value]
        return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"
    if isinstance(value, list):
        return f"[{', '.join(_literal(v, out) for v in value)}]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)}: {_literal(v, out)}"
                               for k, v in value.items()) + "}"
    raise TypeError(f"cannot write {type(value).__name__} as Python source")


# -------------------------------------------------------------------------- optimizer


def _optimizer(spec: Spec, out: _Writer) -> None:
    """``optimizer = torch.optim.X(...)``, one param group per spec group."""
    import inspect

    from lrviz.engine import build_optimizer

    # The engine both validates the keywords and decides whether momentum means beta1.
    built, uses_betas = build_optimizer(spec)
    cls = type(built)
    beta2 = inspect.signature(cls).parameters["betas"].default[1] if uses_betas else None

    def keywords(values: dict[str, Any]) -> dict[str, Any]:
        # Mirrors engine.build_optimizer, so the snippet passes torch the same values.
        kw: dict[str, Any] = {}
        for key, value in values.items():
            if key == "momentum" and uses_betas:
                kw["betas"] = (value, beta2)
            else:
                kw[key] = tuple(value) if isinstance(value, list) else value
        return kw

    out.modules.add("torch")
    base: list[Arg] = [f"{k}={_literal(v, out)}"
                       for k, v in keywords(spec.optimizer.params).items()]
    func = f"torch.optim.{cls.__name__}"
    groups = spec.optimizer.param_groups
    if not groups:
        out.lines.append("model = torch.nn.Linear(1, 1)  # replace with your model")
        out.lines.extend(_call(func, ["model.parameters()", *base], "optimizer = "))
        return
    out.lines += [
        "# One parameter per param group, as lrviz simulates them: replace them with your",
        "# model's parameters, keeping the groups.",
        f"params = [torch.nn.Parameter(torch.zeros(1)) for _ in range({len(groups)})]",
    ]
    entries = []
    for i, group in enumerate(groups):
        items = [f'"params": [params[{i}]]',
                 *(f"{json.dumps(k)}: {_literal(v, out)}" for k, v in keywords(group).items())]
        entries.append("{" + ", ".join(items) + "}")
    one_line = _call(func, [f"[{', '.join(entries)}]", *base], "optimizer = ")
    if len(one_line) == 1:
        out.lines.extend(one_line)
        return
    out.lines += [f"optimizer = {func}(", f"{_INDENT}["]
    out.lines += [f"{_INDENT * 2}{entry}," for entry in entries]
    out.lines += [f"{_INDENT}],", *(f"{_INDENT}{a}," for a in base if isinstance(a, str)), ")"]


# -------------------------------------------------------------------------- scheduler


def _scheduler(sched: SchedulerSpec, spec: Spec, out: _Writer, top: bool = False) -> str:
    """Write ``sched`` (its children first, as the engine builds them); return its name."""
    children = [_scheduler(child, spec, out) for child in sched.children]
    info = sched.info
    module, func = info.factory
    args = _hf_args(sched, out) if info.by_name else _class_args(sched, children, out)
    out.names.setdefault(module, set()).add(func)
    if top:
        name = "scheduler"
    elif sched.path == "warmup":  # the LinearLR lrviz puts before the scheduler of the spec
        name = out.warmup = out.name("warmup")
    else:
        name = out.name(_snake(func))
    out.lines.extend(_call(func, args, f"{name} = "))
    return name


def _class_args(sched: SchedulerSpec, children: list[str], out: _Writer) -> list[Arg]:
    """The constructor's arguments, in its own order (which reads best)."""
    info = sched.info
    args: list[Arg] = ["optimizer"] if info.optimizer_arg else []
    if children:
        args.append(("schedulers", children))
    for param in info.params:
        if param.name in sched.params:
            value = sched.params[param.name]
            if isinstance(value, list):
                args.append((param.name, [_literal(v, out) for v in value]))
            else:
                args.append(f"{param.name}={_literal(value, out)}")
    if not info.optimizer_arg:
        args.append("optimizer=optimizer")
    return args


def _hf_args(sched: SchedulerSpec, out: _Writer) -> list[Arg]:
    """``get_scheduler``'s arguments, as :func:`lrviz.engine.hf_arguments` passes them."""
    from lrviz.engine import hf_arguments

    kwargs = hf_arguments(sched.params)
    rest = kwargs.pop("scheduler_specific_kwargs", {})
    args: list[Arg] = [json.dumps(sched.info.attr), "optimizer",
                       *(f"{k}={_literal(v, out)}" for k, v in kwargs.items())]
    if rest:
        items = ", ".join(f"{json.dumps(k)}: {_literal(v, out)}" for k, v in rest.items())
        args.append(f"scheduler_specific_kwargs={{{items}}}")
    return args


def _plateau_warmup(spec: Spec, out: _Writer) -> None:
    """The LinearLR the engine steps before ReduceLROnPlateau takes over."""
    if spec.warmup is None:
        return
    module, func = catalog.WARMUP.factory  # what spec builds a warmup from
    out.names.setdefault(module, set()).add(func)
    args: list[Arg] = ["optimizer", f"start_factor={_literal(spec.warmup.start_factor, out)}",
                       "end_factor=1.0", f"total_iters={spec.warmup.steps}"]
    out.warmup = out.name("warmup")
    out.lines.extend(_call(func, args, f"{out.warmup} = "))


def _snake(name: str) -> str:
    """``CosineAnnealingLR`` -> ``cosine_annealing_lr``, ``SWALR`` -> ``swalr``."""
    return re.sub(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()


def _metric_source(spec: Spec) -> str:
    """Where the metric came from, in words of lrviz's own: spec text stays out of comments."""
    source = spec.metric.source if spec.metric is not None else {}
    if "file" in source:
        return "the logged values of the spec's metric file"
    if "run" in source:
        return "the values a logged run of the spec holds"
    if "generator" in source:
        return "a synthetic metric"
    return "the metric values of the spec"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _loop(spec: Spec, warmup: str | None) -> list[str]:
    """The training loop of README "What a row means", as comments."""
    if not spec.plan.plain:
        return _framework_loop(spec)
    after = ["scheduler.step()"]
    if spec.scheduler.info.takes_metric:
        after = [f"val_loss = validate()  # lrviz fed {_metric_source(spec)}",
                 "scheduler.step(val_loss)"]
    counter = "step" if spec.interval == "step" else "epoch"
    if spec.warmup is not None and warmup is not None:
        after = [f"if {counter} < {spec.warmup.steps}:", f"{_INDENT}{warmup}.step()", "else:",
                 *(f"{_INDENT}{line}" for line in after)]
    if spec.interval == "step":
        train = ["train_step()  # forward, backward on the next batch", "optimizer.step()"]
        return [f"# The training loop lrviz simulated ({_count(spec.steps, 'step')}):",
                f"# for step in range({spec.steps}):",
                *(f"#     {line}" for line in [*train, *after])]
    epochs, rest = divmod(spec.steps, spec.steps_per_epoch)
    more = f" and {_count(rest, 'step')}" if rest else ""
    return [
        f"# The training loop lrviz simulated ({_count(epochs, 'epoch')} of "
        f"{_count(spec.steps_per_epoch, 'step')}{more}),",
        "# the scheduler stepped once per epoch:",
        f"# for epoch in range({epochs}):",
        f"#     for batch in train_loader:  # {_count(spec.steps_per_epoch, 'step')} per epoch",
        "#         train_step(batch)  # forward, backward",
        "#         optimizer.step()",
        *(f"#     {line}" for line in after),
    ]


def _framework_loop(spec: Spec) -> list[str]:
    """A framework's loop, as comments: what lrviz counted, in the plan's own notes."""
    from lrviz.loop import RULES

    plan = spec.plan
    title = RULES[plan.framework].title
    return [
        f"# The training loop lrviz simulated: {title}'s, "
        f"{_count(spec.steps, 'optimizer step')} and "
        f"{_count(plan.scheduler_steps, 'scheduler.step() call')}:",
        *(f"# - {note}" for note in plan.notes),
    ]


# ------------------------------------------------------------------------- expressions


def _lambda(expression: Expression) -> tuple[str, bool]:
    """The lambda's source, and whether it uses ``math``."""
    var = expression.variable
    tree = ast.parse(expression.text.strip(), mode="eval")
    body, is_float = _node(tree.body, var, truth=False)
    if not is_float:
        body = _float(body)
    source = f"lambda {var}: {ast.unparse(body)}"
    uses_math = any(isinstance(n, ast.Name) and n.id == "math" for n in ast.walk(body))
    return source, uses_math


def _float(node: ast.expr) -> ast.expr:
    return ast.Call(ast.Name("float", ast.Load()), [node], [])


def _math(name: str, args: list[ast.expr] | None = None) -> ast.expr:
    attr = ast.Attribute(ast.Name("math", ast.Load()), name, ast.Load())
    return attr if args is None else ast.Call(attr, args, [])


def _node(node: ast.AST, var: str, truth: bool) -> tuple[ast.expr, bool]:
    """Rewrite one node of a validated expression.

    Returns the new node and whether its value is surely a float. Where it may not be
    (the bare variable, which torch passes as an int, and what passes it through
    unchanged: ``abs``, ``min``, ``max``, ``+``, ``a if c else b``, ``and``/``or``), its
    value still equals the evaluator's, as an int below 2**53 converts exactly; only
    operations that would compute *in* ints get ``float(...)``. ``truth`` is set where
    only the truth of the value matters (a condition), so no ``float(...)`` is needed.
    """
    if isinstance(node, ast.Constant):
        value = node.value  # validated: an int or a float
        assert isinstance(value, (int, float))
        return ast.Constant(float(value)), True
    if isinstance(node, ast.Name):
        return (ast.Name(var, ast.Load()), False) if node.id == var else (_math(node.id), True)
    if isinstance(node, ast.Attribute):  # math.pi, math.e, math.tau
        return _math(node.attr), True
    if isinstance(node, ast.BinOp):
        left, left_float = _node(node.left, var, False)
        right, right_float = _node(node.right, var, False)
        if isinstance(node.op, ast.Pow):
            return _math("pow", [left, right]), True
        if not (left_float or right_float):
            left = _float(left)  # int op int would be exact integer arithmetic
        return ast.BinOp(left, node.op, right), True
    if isinstance(node, ast.UnaryOp):
        if isinstance(node.op, ast.Not):
            operand, _ = _node(node.operand, var, True)
            negated = ast.UnaryOp(ast.Not(), operand)
            return (negated, True) if truth else (_float(negated), True)
        operand, is_float = _node(node.operand, var, False)
        if isinstance(node.op, ast.UAdd):
            return ast.UnaryOp(ast.UAdd(), operand), is_float
        # -0 is 0 for an int but -0.0 for the evaluator, and copysign/atan2 can tell
        return ast.UnaryOp(ast.USub(), operand if is_float else _float(operand)), True
    if isinstance(node, ast.Compare):
        parts = [_node(p, var, False)[0] for p in (node.left, *node.comparators)]
        compare = ast.Compare(parts[0], list(node.ops), parts[1:])
        return (compare, True) if truth else (_float(compare), True)
    if isinstance(node, ast.BoolOp):
        values = [_node(v, var, truth) for v in node.values]
        return ast.BoolOp(node.op, [v for v, _ in values]), all(f for _, f in values)
    if isinstance(node, ast.IfExp):
        test, _ = _node(node.test, var, True)
        body, body_float = _node(node.body, var, truth)
        orelse, else_float = _node(node.orelse, var, truth)
        return ast.IfExp(test, body, orelse), body_float and else_float
    if isinstance(node, ast.Call):
        return _function(node, var)
    raise ValueError(f"unexpected {type(node).__name__} in a validated expression")


def _function(node: ast.Call, var: str) -> tuple[ast.expr, bool]:
    func = node.func
    bare = isinstance(func, ast.Name)
    name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
    args = [_node(a, var, False) for a in node.args]
    nodes = [a for a, _ in args]
    if bare and name in ("min", "max", "abs"):
        return ast.Call(ast.Name(name, ast.Load()), nodes, []), all(f for _, f in args)
    if bare and name == "round":
        return _float(ast.Call(ast.Name("round", ast.Load()), nodes, [])), True
    if name in _ROUND_TO_FLOAT:
        return _float(_math(name, nodes)), True
    return _math(name, nodes), True
