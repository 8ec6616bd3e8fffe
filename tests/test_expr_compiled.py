"""The compiled form of an expression computes exactly what its checked closures compute."""

from __future__ import annotations

import math
import pickle
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lrviz.errors import SpecError
from lrviz.expr import ExpressionError, closures, parse_expression
from tests.test_expr import FAILING, TOKENS, VALUES

PROBES = (0, 1, -1, 2, 3.5, 7, 1000, 1e20, 1e308, -1e308, math.inf, math.nan)


def _outcome(fn: object, value: float) -> object:
    try:
        result = fn(value)  # type: ignore[operator]
    except (ArithmeticError, ValueError) as exc:
        return type(exc)
    if result - result != 0:  # inf or NaN: what Expression refuses
        return "not finite"
    return result


def _same(text: str) -> None:
    expression = parse_expression(text, "epoch")
    reference = closures(text, "epoch")
    for value in PROBES:
        got = _outcome(expression, float(value))
        want = _outcome(reference, float(value))
        if isinstance(want, type) or want == "not finite":
            assert got is ExpressionError, (text, value, want)
        else:
            assert got == want and type(got) is float, (text, value, got, want)


@pytest.mark.parametrize("text", sorted({t for t, v, *_ in VALUES if v == "epoch"}
                                        | {t for t, *_ in FAILING}))
def test_the_examples_agree(text: str) -> None:
    _same(text)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(TOKENS), max_size=14).map("".join))
def test_random_expressions_agree(text: str) -> None:
    try:
        parse_expression(text, "epoch")
    except SpecError:
        return
    _same(text)


def test_the_compiled_function_reaches_nothing_but_its_own_names() -> None:
    expression = parse_expression("max(0.1, 0.5 * (1 + cos(pi * epoch / 10))) if epoch > 2 "
                                  "and not epoch == 7 else epoch ** 2 // 3 % 2", "epoch")
    fn = expression.func
    assert fn.__globals__["__builtins__"] == {}
    fixed = {"_float", "_OverflowError", "_message", "_errors", "_fail"}
    assert all(n in fixed or re.fullmatch(r"_f\d+", n) for n in fn.__code__.co_names)
    assert set(fn.__code__.co_varnames) == {"value", "v", "r", "exc"}
    assert "epoch" not in fn.__code__.co_names + fn.__code__.co_varnames


def test_an_expression_pickles_by_its_text() -> None:
    expression = parse_expression("0.5 ** (epoch // 3)", "epoch", "spec.yaml: x")
    again = pickle.loads(pickle.dumps(expression))
    assert (again.text, again.variable, again.where) == ("0.5 ** (epoch // 3)", "epoch",
                                                         "spec.yaml: x")
    assert again(7) == expression(7) == 0.25
