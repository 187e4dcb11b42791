"""The exercise checkers say right or wrong and never print the answer.

Each checker in book/_checks.py is called with empty, wrong, nearly right
and right answers; whatever it prints must not contain the expected value
in any common rounding.
"""

import contextlib
import io
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "book"))
checks = pytest.importorskip("_checks")

import packing_lite as pl  # noqa: E402


def _printed(function, *args, **kwargs):
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        function(*args, **kwargs)
    return buffer.getvalue()


def _spellings(value):
    """Ways a number may be written, skipping ones too short to be telling."""
    value = float(value)
    forms = {f"{value:.{d}f}" for d in range(1, 6)} | {repr(value), str(value)}
    forms |= {f"{value:.{d}g}" for d in range(2, 6)}
    forms = {f.rstrip("0").rstrip(".") if "." in f else f for f in forms}
    return {f for f in forms if len(f.lstrip("-")) >= 3 and f not in
            {"0.0", "1.0", "-0.0"}}


def _assert_hidden(outputs, expected):
    text = "\n".join(outputs)
    assert text.strip(), "the checker printed nothing"
    for value in np.ravel(expected):
        for form in _spellings(value):
            assert form not in text, f"{form!r} (expected value) printed"


def _answers_around(right):
    """Empty, wrong and right answers, as tuples of arguments."""
    return [tuple(None for _ in right), right,
            tuple(np.asarray(r, dtype=float) * 2 + 0.1 for r in right),
            tuple(np.asarray(r, dtype=float) * 0.5 for r in right),
            tuple("abc" for _ in right)]


def test_line_of_three():
    line = pl.Packing(np.array([[0.0, 0, 0], [0.8, 0, 0], [1.6, 0, 0]]),
                      box=10.0)
    loss, grad = pl.hinge_loss(line), pl.loss_gradient(line)
    right = (loss, list(grad[1]), list(grad[0]))
    outputs = [_printed(checks.check_line_of_three, *a)
               for a in _answers_around(right)]
    assert "loss: right." in outputs[1]
    _assert_hidden(outputs, [loss, grad[0][0]])


def test_moment_matching():
    eps = 0.02
    right = (0.75, 4 * eps / 3)
    outputs = [_printed(checks.check_moment_matching, *a, eps=eps)
               for a in _answers_around(right)]
    outputs.append(_printed(checks.check_moment_matching, 0.5, 2 * eps))
    assert outputs[1].startswith("Right")
    _assert_hidden(outputs, right)


@pytest.mark.skipif(not hasattr(checks, "check_two_point_extrapolation"),
                    reason="checker not present")
def test_two_point_extrapolation():
    table = pd.DataFrame({"label": ["bro"] * 3, "eps": [0.01, 0.02, 0.04],
                          "phi_c": [0.633, 0.627, 0.615]})
    expected = 0.633 - 0.01 * (0.627 - 0.633) / (0.02 - 0.01)
    outputs = [_printed(checks.check_two_point_extrapolation, a, table)
               for a in (None, expected, 0.630, 0.633, 0.5, "x")]
    assert outputs[1].startswith("Right")
    _assert_hidden(outputs, [expected])


@pytest.mark.skipif(not hasattr(checks, "check_scaling_powers"),
                    reason="checker not present")
def test_scaling_powers():
    expected = tuple(pl.analysis.scaling_powers("manna-3d"))
    wrong_dim = tuple(v * 3 for v in expected)
    outputs = [_printed(checks.check_scaling_powers, *a)
               for a in _answers_around(expected) + [wrong_dim]]
    assert outputs[1].count("right.") == 3
    _assert_hidden(outputs, expected)


@pytest.mark.skipif(not hasattr(checks, "check_number_variance_exponent"),
                    reason="checker not present")
def test_number_variance_exponent():
    outputs = [_printed(checks.check_number_variance_exponent, a)
               for a in (None, 2.75, 3.0, 2.0, 1.0, "x")]
    assert outputs[1].startswith("Right")
    _assert_hidden(outputs, [2.75])


COVERED = {"check_line_of_three", "check_moment_matching",
           "check_two_point_extrapolation", "check_scaling_powers",
           "check_number_variance_exponent"}
OTHERS = sorted(name for name in dir(checks)
                if name.startswith("check_") and name not in COVERED)


@pytest.mark.parametrize("name", OTHERS)
def test_other_checkers_print_no_decimal_numbers(name):
    """Checkers without a test above: no decimal number in any reply.

    Each required argument gets an empty, a plain and a three-number
    answer; a reply may repeat what was typed but shows no other decimal
    number, so it cannot be showing the expected one.
    """
    import inspect
    import re

    function = getattr(checks, name)
    required = [p for p in inspect.signature(function).parameters.values()
                if p.default is inspect.Parameter.empty]
    outputs = []
    for value in (None, 0.123, [0.123, 0.123, 0.123], "abc"):
        try:
            outputs.append(_printed(function, *[value] * len(required)))
        except (TypeError, ValueError, KeyError, IndexError):
            continue  # an argument of another kind (a table, say)
    assert outputs, f"{name} could not be called with simple answers"
    for text in outputs:
        # Powers in a hinted formula, such as x**1.5, are not answers.
        numbers = set(re.findall(r"(?<!\*\*)-?\d+\.\d+", text)) - {"0.123"}
        assert not numbers, f"{name} printed {sorted(numbers)}"
