"""Safe arithmetic expressions for ``lr_lambda`` and ``scale_fn`` given as text.

Specs come from untrusted files, so user text never reaches eval/exec/compile: it is
parsed with :func:`ast.parse`, checked against a whitelist and turned once into a tree
of small closures, each a function of the value of the one variable (which also folds
every constant part).

Called once per scheduler step, a tree of closures costs a Python call per node, about
a fifth of torch's own step. So the checked expression is then written out once more as
a function: a new syntax tree that lrviz builds itself, node by node, from the checked
pieces only (float constants, the one variable, arithmetic, comparisons, and/or/not,
``a if c else b``, and calls of the whitelisted functions, each by a reference lrviz
binds), with no builtins in its namespace. Nothing of the user's tree or text is in it
(not a name, not a string), and it computes exactly what the closures compute; a test
holds the two against each other.
"""

from __future__ import annotations

import ast
import functools
import math
import operator
import warnings
from collections.abc import Callable
from typing import Any, NoReturn

from lrviz.errors import SpecError

MAX_CHARS = 1000
MAX_NODES = 200

Fn = Callable[[float], float]
Node = float | Fn  # a compiled subexpression: a folded constant or a function of the variable
Table = dict[str, tuple[Callable[..., float], int, int | None]]  # name: fn, least, most args


class ExpressionError(ArithmeticError):
    """Evaluating an expression failed: division by zero, overflow or a math domain error."""

    where: str | None = None  # where the expression was written


class _Reject(Exception):
    """An invalid expression; becomes a SpecError with its ``where`` at the boundary."""


def _to_float(f: Callable[[float], Any]) -> Fn:
    # floor/ceil/trunc/round return ints, which can be huge: back to float at once
    return lambda a: float(f(a))


_CONSTANTS = {"pi": math.pi, "e": math.e, "tau": math.tau}
_UNARY = ["cos", "sin", "tan", "acos", "asin", "atan", "cosh", "sinh", "tanh", "exp",
          "expm1", "log2", "log10", "log1p", "sqrt", "fabs", "degrees", "radians"]
_MATH: Table = {
    **{n: (getattr(math, n), 1, 1) for n in _UNARY},
    **{n: (getattr(math, n), 2, 2) for n in ["atan2", "pow", "hypot", "copysign", "fmod"]},
    **{n: (_to_float(getattr(math, n)), 1, 1) for n in ["floor", "ceil", "trunc"]},
    "log": (math.log, 1, 2),
}
_FUNCS: Table = {**_MATH, "min": (min, 2, None), "max": (max, 2, None),
                 "abs": (abs, 1, 1), "round": (_to_float(round), 1, 1)}
# math.pow, not **: it raises ValueError where float ** would return a complex number
_BINOPS: dict[type[ast.operator], Callable[[float, float], float]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.Div: operator.truediv, ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod,
    ast.Pow: math.pow}
_COMPARE: dict[type[ast.cmpop], Callable[[float, float], bool]] = {
    ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge,
    ast.Eq: operator.eq, ast.NotEq: operator.ne}
_SYMBOLS = {ast.MatMult: "@", ast.BitAnd: "&", ast.BitOr: "|", ast.BitXor: "^",
            ast.LShift: "<<", ast.RShift: ">>", ast.Invert: "~", ast.Is: "is",
            ast.IsNot: "is not", ast.In: "in", ast.NotIn: "not in"}
_KINDS = {bool: "booleans", str: "strings", bytes: "bytes", complex: "complex numbers",
          type(None): "None", type(...): "'...'", ast.Subscript: "subscripts",
          ast.Slice: "slices", ast.Lambda: "lambdas", ast.JoinedStr: "f-strings",
          ast.NamedExpr: "':=' assignments", ast.List: "lists", ast.Tuple: "tuples",
          ast.Dict: "dicts", ast.Set: "sets", ast.Starred: "'*' unpacking",
          **dict.fromkeys([ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp],
                          "comprehensions")}
_FUNCTIONS = "min, max, abs, round and math functions"


def _ident(v: float) -> float:
    return v


def _lift(n: Node) -> Fn:
    return (lambda v: n) if isinstance(n, float) else n


def _fold(fn: Fn, *parts: Node) -> Node:
    """If all ``parts`` are constants, evaluate ``fn`` now; if that fails, fail at call time."""
    if all(isinstance(p, float) for p in parts):
        try:
            return fn(0.0)
        except (ArithmeticError, ValueError):
            pass
    return fn


def _combine(op: Callable[[float, float], float], f: Node, g: Node) -> Node:
    """``op(f, g)``, specialised so constants and the bare variable cost no extra call."""
    if isinstance(f, float):
        if isinstance(g, float):
            return _fold(lambda v: op(f, g), f, g)
        return (lambda v: op(f, v)) if g is _ident else (lambda v: op(f, g(v)))
    if isinstance(g, float):
        return (lambda v: op(v, g)) if f is _ident else (lambda v: op(f(v), g))
    return lambda v: op(f(v), g(v))


def _bool(is_and: bool, f: Fn, g: Fn) -> Fn:
    return (lambda v: f(v) and g(v)) if is_and else (lambda v: f(v) or g(v))


def _compare(ops: list[Callable[[float, float], bool]], fs: list[Fn]) -> Fn:
    if len(ops) == 1:
        op, f, g = ops[0], fs[0], fs[1]
        return lambda v: 1.0 if op(f(v), g(v)) else 0.0
    first, rest = fs[0], list(zip(ops, fs[1:], strict=True))

    def chain(v: float) -> float:
        a = first(v)
        for op, g in rest:
            b = g(v)
            if not op(a, b):
                return 0.0
            a = b
        return 1.0

    return chain


def _build(node: ast.AST, var: str) -> Node:
    """Validate a node and compile it; the node count is limited, so recursion is safe."""
    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, bool) or not isinstance(value, int | float):
            kind = _KINDS.get(type(value), type(value).__name__)
            raise _Reject(f"{kind} not allowed in expression; only int and float numbers")
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        if not math.isfinite(number):
            raise _Reject(f"number too large in expression: {ast.unparse(node)[:40]}")
        return number
    if isinstance(node, ast.Name):
        if node.id == var:
            return _ident
        if node.id in _CONSTANTS:
            return _CONSTANTS[node.id]
        if node.id in _FUNCS:
            raise _Reject(f"'{node.id}' is a function; call it, e.g. {node.id}({var})")
        if node.id == "math":
            raise _Reject("'math' can only be used as math.<name>, e.g. math.pi")
        raise _Reject(f"unknown name '{node.id}' in expression; allowed: {var}, pi, e, tau")
    if isinstance(node, ast.Attribute):
        if not (isinstance(node.value, ast.Name) and node.value.id == "math"):
            raise _Reject("attribute access other than math.<name> is not allowed")
        if node.attr in _CONSTANTS:
            return _CONSTANTS[node.attr]
        if node.attr in _MATH:
            raise _Reject(f"'math.{node.attr}' is a function; call it, e.g. "
                          f"math.{node.attr}({var})")
        raise _Reject(f"unknown name 'math.{node.attr}'; allowed: math.pi, math.e, "
                      "math.tau and calls to math functions")
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
        left, right = _build(node.left, var), _build(node.right, var)
        return _combine(_BINOPS[type(node.op)], left, right)
    if isinstance(node, ast.UnaryOp) and not isinstance(node.op, ast.Invert):
        f = _build(node.operand, var)
        if isinstance(node.op, ast.UAdd):
            return f
        if isinstance(f, float):
            return -f if isinstance(node.op, ast.USub) else 0.0 if f else 1.0
        if isinstance(node.op, ast.USub):
            return operator.neg if f is _ident else (lambda v: -f(v))
        return lambda v: 0.0 if f(v) else 1.0
    if isinstance(node, ast.Compare) and all(type(o) in _COMPARE for o in node.ops):
        parts = [_build(p, var) for p in (node.left, *node.comparators)]
        ops = [_COMPARE[type(o)] for o in node.ops]
        return _fold(_compare(ops, [_lift(p) for p in parts]), *parts)
    if isinstance(node, ast.BoolOp):
        parts = [_build(p, var) for p in node.values]
        fn = _lift(parts[-1])
        for p in reversed(parts[:-1]):
            fn = _bool(isinstance(node.op, ast.And), _lift(p), fn)
        return _fold(fn, *parts)
    if isinstance(node, ast.IfExp):
        test, body, orelse = (_build(p, var) for p in (node.test, node.body, node.orelse))
        if isinstance(test, float):
            return body if test else orelse
        b, o = _lift(body), _lift(orelse)
        return lambda v: b(v) if test(v) else o(v)
    if isinstance(node, ast.Call):
        return _call(node, var)
    bad = getattr(node, "op", None)
    if isinstance(node, ast.Compare):
        bad = next(o for o in node.ops if type(o) not in _COMPARE)
    what = (f"operator '{_SYMBOLS.get(type(bad), type(bad).__name__)}'" if bad
            else _KINDS.get(type(node), f"'{type(node).__name__}' nodes"))
    raise _Reject(f"{what} not allowed in expression; allowed: numbers, {var}, pi, e, tau, "
                  "+ - * / // % **, comparisons, and/or/not, 'a if cond else b' and calls "
                  f"to {_FUNCTIONS}")


def _call(node: ast.Call, var: str) -> Node:
    func = node.func
    if isinstance(func, ast.Name) and func.id in _FUNCS:
        name, (fn, lo, hi) = func.id, _FUNCS[func.id]
    elif (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)
          and func.value.id == "math" and func.attr in _MATH):
        name, (fn, lo, hi) = f"math.{func.attr}", _MATH[func.attr]
    else:
        got = ast.unparse(func)[:40]
        raise _Reject(f"function calls are limited to {_FUNCTIONS} (got '{got}')")
    if node.keywords:
        raise _Reject(f"keyword arguments are not allowed (in {name}())")
    if any(isinstance(a, ast.Starred) for a in node.args):
        raise _Reject(f"'*' arguments are not allowed (in {name}())")
    n = len(node.args)
    if n < lo or (hi is not None and n > hi):
        takes = f"at least {lo}" if hi is None else f"{lo} or {hi}" if lo != hi else f"{lo}"
        s = "" if takes == "1" else "s"
        raise _Reject(f"{name}() takes {takes} argument{s} (got {n})")
    args = [_build(a, var) for a in node.args]
    if n == 2:
        return _combine(fn, args[0], args[1])
    if n == 1:
        a = args[0]
        if isinstance(a, float):
            return _fold(lambda v: fn(a), a)
        return fn if a is _ident else (lambda v: fn(a(v)))
    fs = [_lift(a) for a in args]
    return _fold(lambda v: fn(*[f(v) for f in fs]), *args)


# The function each expression becomes; _BODY is replaced by the expression's own tree.
# Its text is lrviz's, fixed here: only the tree put in place of _BODY varies.
_FUNCTION = """
def expression(value):
    v = _float(value)
    try:
        r = _BODY
        if r - r == 0:  # neither inf nor NaN, without a function call
            return r
        raise _OverflowError(_message(r))
    except _errors as exc:
        _fail(v, exc)
"""
_ARG = "v"  # the variable, whatever the spec called it


def _emit(node: ast.AST, var: str, refs: dict[str, object]) -> ast.expr:
    """A new tree computing what ``_build(node, var)`` computes, for a node ``_build``
    has accepted. ``refs`` collects the functions it calls, by the names it gives them."""
    built = _build(node, var)  # cheap: at most MAX_NODES nodes
    if isinstance(built, float):  # folded, as the closures fold it
        return ast.Constant(built)
    if built is _ident:
        return ast.Name(_ARG, ast.Load())

    def ref(fn: object) -> ast.Name:
        name = f"_f{len(refs)}"
        refs[name] = fn
        return ast.Name(name, ast.Load())

    if isinstance(node, ast.BinOp):
        left, right = _emit(node.left, var, refs), _emit(node.right, var, refs)
        if isinstance(node.op, ast.Pow):  # math.pow, as _BINOPS has it
            return ast.Call(ref(math.pow), [left, right], [])
        return ast.BinOp(left, type(node.op)(), right)
    if isinstance(node, ast.UnaryOp):
        operand = _emit(node.operand, var, refs)
        if isinstance(node.op, ast.UAdd):
            return operand
        if isinstance(node.op, ast.USub):
            return ast.UnaryOp(ast.USub(), operand)
        return ast.IfExp(operand, ast.Constant(0.0), ast.Constant(1.0))  # not
    if isinstance(node, ast.Compare):
        test = ast.Compare(_emit(node.left, var, refs), [type(o)() for o in node.ops],
                           [_emit(c, var, refs) for c in node.comparators])
        return ast.IfExp(test, ast.Constant(1.0), ast.Constant(0.0))
    if isinstance(node, ast.BoolOp):
        return ast.BoolOp(type(node.op)(), [_emit(p, var, refs) for p in node.values])
    if isinstance(node, ast.IfExp):
        cond = _build(node.test, var)
        if isinstance(cond, float):
            return _emit(node.body if cond else node.orelse, var, refs)
        return ast.IfExp(_emit(node.test, var, refs), _emit(node.body, var, refs),
                         _emit(node.orelse, var, refs))
    if isinstance(node, ast.Call):
        func = node.func
        fn = (_FUNCS[func.id] if isinstance(func, ast.Name) else
              _MATH[func.attr] if isinstance(func, ast.Attribute) else None)
        assert fn is not None  # _build accepted the call
        return ast.Call(ref(fn[0]), [_emit(a, var, refs) for a in node.args], [])
    raise AssertionError(f"not a node _build accepts: {type(node).__name__}")  # pragma: no cover


def _function(text: str, tree: ast.expr, var: str, where: str | None) -> Fn:
    """The expression as one Python function, with Expression's checks and messages."""
    refs: dict[str, object] = {}
    body = _emit(tree, var, refs)
    module = ast.parse(_FUNCTION)
    for node in ast.walk(module):
        for name, value in ast.iter_fields(node):
            if isinstance(value, ast.Name) and value.id == "_BODY":
                setattr(node, name, body)
    ast.fix_missing_locations(module)
    namespace: dict[str, Any] = {
        "__builtins__": {}, "_float": float, "_OverflowError": OverflowError,
        "_errors": (ArithmeticError, ValueError), "_message": _result_message,
        "_fail": functools.partial(_fail, text, var, where), **refs}
    exec(compile(module, "<lrviz expression>", "exec"), namespace)
    fn: Fn = namespace["expression"]
    return fn


def _fail(text: str, variable: str, where: str | None, v: float, exc: Exception) -> NoReturn:
    """Raise the ExpressionError that names the expression, the failure and the value."""
    if isinstance(exc, ZeroDivisionError):
        reason = "division by zero"
    elif isinstance(exc, OverflowError) and "convert" not in str(exc):
        reason = "numeric overflow" if "result" not in str(exc) else str(exc)
    else:
        reason = str(exc) or type(exc).__name__
    shown = repr(int(v)) if v.is_integer() and abs(v) < 1e16 else repr(v)
    error = ExpressionError(f"expression {text!r}: {reason} at {variable} = {shown}")
    error.where = where
    raise error from exc


def _result_message(result: float) -> str:
    return f"the result is {result}"


def _parse(text: str) -> ast.Expression:
    stripped = text.strip()  # like eval(); ast.parse would take a leading space as an indent
    if not stripped:
        raise _Reject("expression is empty")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. a SyntaxWarning for '1if x else 2'
            return ast.parse(stripped, mode="eval")
    except SyntaxError as exc:
        if exc.lineno is None:
            raise _Reject(f"expression syntax error: {exc.msg}") from None
        line = stripped.split("\n")[exc.lineno - 1] if exc.lineno > 1 else stripped
        col = exc.offset if exc.offset and exc.offset > 0 else len(line) + 1
        at = (f"line {exc.lineno}, column {col}" if exc.lineno > 1
              else f"column {col + len(text) - len(text.lstrip())}")
        raise _Reject(f"expression syntax error at {at}: {exc.msg}") from None
    except (RecursionError, MemoryError):
        raise _Reject("expression too deeply nested") from None
    except (ValueError, OverflowError) as exc:
        raise _Reject(f"expression syntax error: {exc}") from None


class Expression(functools.partial):
    """A validated expression, callable with the value of its one variable.

    Build it with :func:`parse_expression`. A call returns a ``float``; arithmetic failures
    (division by zero, overflow, math domain errors) raise :class:`ExpressionError`, as
    does an infinite or NaN result (no lr can use it).

    It is a :class:`functools.partial` of the compiled function (see the module's
    docstring), so that torch calling it per step pays for no extra Python call.
    """

    text: str
    variable: str
    where: str | None

    def __new__(cls, text: str, variable: str, fn: Fn, where: str | None = None) -> Expression:
        self = super().__new__(cls, fn)
        self.text, self.variable, self.where = text, variable, where
        return self

    def __repr__(self) -> str:
        return f"Expression({self.text!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        # The compiled function cannot be pickled; the text can, and is validated again
        # on the way in, so a spec crosses to a worker process by the same rules.
        return (parse_expression, (self.text, self.variable, self.where))


def parse_expression(text: str, variable: str, where: str | None = None) -> Expression:
    """Validate ``text``, an expression in ``variable``, and return an :class:`Expression`.

    Raises :class:`SpecError` (with ``where`` unchanged) if ``text`` is not a string, is
    too long or too complex, or uses anything outside the whitelist.
    """
    if not variable.isidentifier() or variable in {*_CONSTANTS, *_FUNCS, "math"}:
        raise ValueError(f"invalid expression variable name {variable!r}")
    if not isinstance(text, str):
        raise SpecError(f"expected an expression string, got {type(text).__name__}", where)
    if len(text) > MAX_CHARS:
        raise SpecError(f"expression too long ({len(text)} characters, at most {MAX_CHARS})",
                        where)
    try:
        tree = _parse(text)
        count = sum(isinstance(n, ast.expr) for n in ast.walk(tree))
        if count > MAX_NODES:
            raise _Reject(f"expression too complex ({count} nodes, at most {MAX_NODES})")
        _build(tree.body, variable)  # validates: _Reject on anything outside the whitelist
    except _Reject as exc:
        raise SpecError(str(exc), where) from None
    return Expression(text, variable, _function(text, tree.body, variable, where), where)


def closures(text: str, variable: str) -> Fn:
    """The same expression as the tree of closures it is checked with (no Expression's
    checks): what the compiled function is tested against."""
    return _lift(_build(_parse(text).body, variable))
