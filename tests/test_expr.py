"""The safe expression evaluator: values, rejections, injection attempts and limits."""

from __future__ import annotations

import math
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lrviz.errors import SpecError
from lrviz.expr import Expression, ExpressionError, parse_expression

WHERE = "spec.yaml: scheduler.lr_lambda"

# (text, variable, value, the same computed directly in Python)
VALUES = [
    ("0.95 ** epoch", "epoch", 7, 0.95**7),
    ("min(1.0, (epoch + 1) / 100)", "epoch", 5, min(1.0, (5 + 1) / 100)),
    ("min(1.0, (epoch + 1) / 100)", "epoch", 500, 1.0),
    ("0.5 * (1 + math.cos(math.pi * epoch / 100))", "epoch", 30,
     0.5 * (1 + math.cos(math.pi * 30 / 100))),
    ("1 / (2.0 ** (x - 1))", "x", 3, 1 / (2.0 ** (3 - 1))),
    ("  0.95 ** epoch\n", "epoch", 2, 0.95**2),
    ("(0.5\n * epoch)", "epoch", 3, 0.5 * 3),
    ("epoch", "epoch", 4, 4.0),
    ("42", "epoch", 4, 42.0),
    ("-epoch ** 2 + +epoch", "epoch", 3, -(3**2) + 3),
    ("2 ** -1 + 10 ** 9 + 0x10 + 1_000", "epoch", 0, 2**-1 + 10**9 + 16 + 1000),
    ("epoch % 7 - epoch // 4 * 1.5", "epoch", 10, 10 % 7 - 10 // 4 * 1.5),
    ("epoch / 3 * 3 - epoch", "epoch", 7, 7 / 3 * 3 - 7),
    ("epoch < 5", "epoch", 3, 1.0),
    ("epoch >= 5", "epoch", 3, 0.0),
    ("epoch == 3 != 4", "epoch", 3, 1.0),
    ("1 < epoch <= 5", "epoch", 5, 1.0),
    ("1 < epoch <= 5", "epoch", 6, 0.0),
    ("1 < epoch <= 5 < 2", "epoch", 3, 0.0),
    ("epoch and 2", "epoch", 0, 0.0),
    ("epoch and 2", "epoch", 3, 2.0),
    ("epoch or 2", "epoch", 0, 2.0),
    ("epoch or 2 and 0", "epoch", 0, 0.0),
    ("not epoch", "epoch", 0, 1.0),
    ("not epoch", "epoch", 2, 0.0),
    ("1.0 if epoch < 10 else 0.1 ** (epoch // 10)", "epoch", 25, 0.1 ** (25 // 10)),
    ("1.0 if epoch < 10 else 0.1 ** (epoch // 10)", "epoch", 5, 1.0),
    ("1 if 1 else 1 / 0", "epoch", 0, 1.0),
    ("0 and 1 / 0", "epoch", 0, 0.0),
    ("1 / 0 if epoch > 100 else epoch", "epoch", 3, 3.0),
    ("round(epoch / 3) + round(2.5)", "epoch", 10, round(10 / 3) + round(2.5)),
    ("floor(epoch / 3) + math.ceil(epoch / 3) + trunc(-epoch / 3)", "epoch", 10,
     math.floor(10 / 3) + math.ceil(10 / 3) + math.trunc(-10 / 3)),
    ("floor(1e308)", "epoch", 0, 1e308),
    ("log(epoch, 2) + math.log(epoch) + log2(epoch) + log10(epoch) + log1p(epoch)", "epoch", 8,
     math.log(8, 2) + math.log(8) + math.log2(8) + math.log10(8) + math.log1p(8)),
    ("max(0.0, 1 - epoch / 10, 0.05)", "epoch", 12, max(0.0, 1 - 12 / 10, 0.05)),
    ("min(epoch, 3, 2.5, 7)", "epoch", 4, 2.5),
    ("max(epoch, 0.5)", "epoch", 0, 0.5),
    ("abs(-epoch) + fabs(epoch) + sqrt(epoch)", "epoch", 2,
     abs(-2) + math.fabs(2) + math.sqrt(2)),
    ("atan2(epoch, 2) + hypot(epoch, 3) + copysign(2, -epoch) + fmod(epoch, 3)", "epoch", 5,
     math.atan2(5, 2) + math.hypot(5, 3) + math.copysign(2, -5) + math.fmod(5, 3)),
    ("pow(epoch, 0.5) + math.pow(2, epoch)", "epoch", 5, math.pow(5, 0.5) + math.pow(2, 5)),
    ("exp(-epoch) + expm1(epoch / 10) + sin(epoch) + tan(epoch) + tanh(epoch)", "epoch", 2,
     math.exp(-2) + math.expm1(2 / 10) + math.sin(2) + math.tan(2) + math.tanh(2)),
    ("cosh(1) + sinh(epoch) + acos(epoch / 10) + asin(epoch / 10) + atan(epoch)", "epoch", 3,
     math.cosh(1) + math.sinh(3) + math.acos(3 / 10) + math.asin(3 / 10) + math.atan(3)),
    ("degrees(pi) + radians(180) + e + tau + math.tau + math.e + math.pi", "epoch", 0,
     math.degrees(math.pi) + math.radians(180) + math.e + math.tau + math.tau + math.e
     + math.pi),
    ("x", "x", 2.5, 2.5),
]


@pytest.mark.parametrize(("text", "variable", "value", "expected"), VALUES)
def test_values_match_python(text: str, variable: str, value: float, expected: float) -> None:
    result = parse_expression(text, variable)(value)
    assert result == expected
    assert type(result) is float


def test_attributes_and_repr() -> None:
    expression = parse_expression("0.95 ** epoch", "epoch", WHERE)
    assert isinstance(expression, Expression)
    assert expression.text == "0.95 ** epoch"
    assert expression.variable == "epoch"
    assert repr(expression) == "Expression('0.95 ** epoch')"


def test_accepts_numpy_and_int_values() -> None:
    np = pytest.importorskip("numpy")
    expression = parse_expression("epoch / 2", "epoch")
    assert expression(np.int64(3)) == 1.5
    assert type(expression(np.float32(3))) is float


# (text, a word the message must contain); the variable is epoch
REJECTED = [
    ("", "empty"),
    ("   ", "empty"),
    ("1 +", "syntax error at column 4"),
    ("  1 +", "syntax error at column 6"),
    ("(1 +\n 2 +)", "syntax error at line 2"),
    ("epoch epoch", "syntax error"),
    ("1\x00", "syntax error"),
    ("os", "unknown name 'os'"),
    ("x", "unknown name 'x' in expression; allowed: epoch, pi, e, tau"),
    ("inf", "unknown name 'inf'"),
    ("nan", "unknown name 'nan'"),
    ("math.inf", "unknown name 'math.inf'"),
    ("math.nan", "unknown name 'math.nan'"),
    ("__builtins__", "unknown name"),
    ("cos", "'cos' is a function"),
    ("math.cos", "'math.cos' is a function"),
    ("math", "math.<name>"),
    ("True", "booleans"),
    ("False + epoch", "booleans"),
    ("None", "None"),
    ("'a'", "strings"),
    ("'a' * 10**9", "strings"),
    ("b'a'", "bytes"),
    ("1j", "complex"),
    ("...", "'...'"),
    ("1e999", "number too large"),
    ("1" * 400, "number too large"),
    ("epoch[0]", "subscripts"),
    ("epoch[1:2]", "subscripts"),
    ("lambda: 1", "lambdas"),
    ("(lambda: 1)()", "function calls are limited"),
    ("[x for x in range(10**9)]", "comprehensions"),
    ("{x: 1 for x in epoch}", "comprehensions"),
    ("sum(x for x in epoch)", "function calls are limited"),
    ("(y := 1)", "':='"),
    ("f'{epoch}'", "f-strings"),
    ("[1, 2]", "lists"),
    ("(1, 2)", "tuples"),
    ("{1: 2}", "dicts"),
    ("{1}", "sets"),
    ("await epoch", "'Await'"),
    ("(yield)", "'Yield'"),
    ("epoch @ 2", "operator '@'"),
    ("epoch << 1", "operator '<<'"),
    ("epoch ^ 1", "operator '^'"),
    ("~epoch", "operator '~'"),
    ("epoch is 1", "operator 'is'"),
    ("1 < epoch in 2", "operator 'in'"),
    ("open('x')", "function calls are limited to min, max, abs, round and math functions"),
    ("__import__('os').system('echo hi')", "function calls are limited"),
    ("getattr(math, 'cos')", "function calls are limited"),
    ("math.isclose(1, 2)", "(got 'math.isclose')"),
    ("math.factorial(10 ** 9)", "(got 'math.factorial')"),
    ("math.min(1, 2)", "(got 'math.min')"),
    ("globals()", "(got 'globals')"),
    ("().__class__.__bases__", "attribute access other than math.<name> is not allowed"),
    ("epoch.__class__", "attribute access"),
    ("epoch.real", "attribute access"),
    ("math.pi.__class__", "attribute access"),
    ("math.__dict__", "unknown name 'math.__dict__'"),
    ("math.__loader__.load_module('os')", "function calls are limited"),
    ("min(epoch)", "min() takes at least 2 arguments (got 1)"),
    ("max()", "max() takes at least 2 arguments (got 0)"),
    ("cos(1, 2)", "cos() takes 1 argument (got 2)"),
    ("math.atan2(1)", "math.atan2() takes 2 arguments (got 1)"),
    ("log(1, 2, 3)", "log() takes 1 or 2 arguments (got 3)"),
    ("round(epoch, 2)", "round() takes 1 argument (got 2)"),
    ("min(*epoch)", "'*' arguments"),
    ("min(epoch, key=abs)", "keyword arguments"),
    ("1" + "+1" * 300, "too complex (601 nodes, at most 200)"),
    ("+".join(["epoch"] * 150), "too complex"),
    ("-" * 999 + "1", "expression"),
    ("not " * 249 + "1", "too complex"),
    ("(" * 499 + "1" + ")" * 499, "nested parentheses"),
    ("[" * 300 + "]" * 300, "syntax error"),
    ("1 +" * 400, "too long (1200 characters, at most 1000)"),
    ("(" * 500 + "1" + ")" * 500, "too long"),
]


@pytest.mark.parametrize(("text", "word"), REJECTED)
def test_rejected_with_where_and_reason(text: str, word: str) -> None:
    with pytest.raises(SpecError) as info:
        parse_expression(text, "epoch", WHERE)
    assert info.value.where == WHERE
    assert str(info.value).startswith(WHERE + ": ")
    assert word in str(info.value)
    assert "\n" not in str(info.value)


def test_other_variable_is_unknown() -> None:
    with pytest.raises(SpecError, match=r"unknown name .epoch.*allowed: x, pi"):
        parse_expression("epoch", "x")


def test_where_is_optional() -> None:
    with pytest.raises(SpecError) as info:
        parse_expression("os", "epoch")
    assert info.value.where is None
    assert str(info.value).startswith("unknown name 'os'")


def test_non_string_is_rejected() -> None:
    with pytest.raises(SpecError, match="expected an expression string, got int"):
        parse_expression(3, "epoch", WHERE)  # type: ignore[arg-type]


@pytest.mark.parametrize("variable", ["pi", "math", "cos", "min", "not a name"])
def test_bad_variable_is_a_bug(variable: str) -> None:
    with pytest.raises(ValueError, match="invalid expression variable"):
        parse_expression("1", variable)


def test_nesting_within_limits_is_fine() -> None:
    assert parse_expression("(" * 150 + "epoch" + ")" * 150, "epoch")(2) == 2.0
    assert parse_expression("-" * 150 + "epoch", "epoch")(2) == 2.0
    assert parse_expression("+".join(["epoch"] * 100), "epoch")(1) == 100.0
    expected = 0.5
    for _ in range(99):
        expected = math.cos(expected)
    assert parse_expression("cos(" * 99 + "epoch" + ")" * 99, "epoch")(0.5) == expected
    assert parse_expression("min(" * 66 + "epoch" + ", 1)" * 66, "epoch")(0.5) == 0.5


# (text, value, the message at call time)
FAILING = [
    ("1 / (epoch - 3)", 3, "expression '1 / (epoch - 3)': division by zero at epoch = 3"),
    ("epoch % 0", 2.5, "division by zero at epoch = 2.5"),
    ("epoch // 0", 1, "division by zero"),
    ("0 ** -epoch", 1, "math domain error"),
    ("log(epoch)", 0, "math domain error at epoch = 0"),
    ("log(epoch, 1)", 2, "division by zero"),
    ("sqrt(-epoch)", 1e20, "math domain error at epoch = 1e+20"),
    ("(-epoch) ** 0.5", 8, "math domain error"),
    ("exp(epoch)", 1000, "numeric overflow at epoch = 1000"),
    ("epoch ** epoch", 1000, "numeric overflow"),
    ("9 ** 9 ** 9 ** 9", 0, "numeric overflow"),
    ("1e308 * epoch", 10, "the result is inf at epoch = 10"),  # no lr can be inf
    ("1e308 * epoch - 1e308 * epoch", 10, "the result is"),  # inf - inf: overflow or nan
    ("floor(1e308 * epoch)", 10, "cannot convert float infinity to integer"),
    ("round(epoch)", math.nan, "at epoch = nan"),
    ("fmod(epoch, 0)", 1, "math domain error"),
]


@pytest.mark.parametrize(("text", "value", "message"), FAILING)
def test_arithmetic_errors_at_call_time(text: str, value: float, message: str) -> None:
    expression = parse_expression(text, "epoch", WHERE)
    with pytest.raises(ExpressionError) as info:
        expression(value)
    assert message in str(info.value)
    assert isinstance(info.value, ArithmeticError)


def test_power_tower_is_quick() -> None:
    start = time.perf_counter()
    with pytest.raises(ExpressionError):
        parse_expression("9 ** 9 ** 9 ** 9", "epoch")(0)
    with pytest.raises(ExpressionError):
        parse_expression("epoch ** 9 ** 9 ** 9", "epoch")(9)
    assert time.perf_counter() - start < 0.5


TOKENS = ["epoch", "x", "0", "1", "2.5", "1e308", "-1", "+", "-", "*", "/", "//", "%", "**",
          "(", ")", ",", "<", "==", " and ", " or ", "not ", " if ", " else ", "min", "max",
          "log", "sqrt", "floor", "round", "atan2", "math", ".", "pi", "exp", "cos", "[", "'"]


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.text(alphabet="epochx0123456789.+-*/%<=>!()[], '", max_size=24),
                 st.lists(st.sampled_from(TOKENS), max_size=12).map("".join)))
def test_random_text_fails_only_with_our_errors(text: str) -> None:
    try:
        expression = parse_expression(text, "epoch", WHERE)
    except SpecError as error:
        assert error.where == WHERE
        return
    for value in (0, 1, -1, 3.5, 1e308, -1e308, math.inf, math.nan):
        try:
            result = expression(value)
        except ExpressionError:
            continue
        assert type(result) is float
