"""The exercise checkers know the answers without showing them.

book/_checks.py ships to students. It stores digests of the expected values,
written by tools/answer_key.py from packing_lite. Here the expected values
are derived by hand (closed forms on the exercises' set-ups), and every
checker must accept them, accept them rounded as the chapter allows, reject
wrong ones, and never print them; neither the values nor their usual
roundings may be written in the file.
"""

import contextlib
import inspect
import io
import math
import re
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from _tools import load_tool

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "book"))
checks = pytest.importorskip("_checks")




SQRT2 = math.sqrt(2)
B = 0.75  # the batch fraction of the skewness exercise

# name -> (right answers, their common roundings, wrong answers, keywords).
# Right answers are derived by hand; the wrong ones include each mistake the
# checker has a hint for, with the reply it must give.
CASES = {
    "check_line_of_three": dict(
        # pairs 0-1 and 1-2 overlap by 0.2, each charged half; the end sphere
        # feels one push along -x, the middle two opposite ones
        right=(0.2, [0.0, 0.0, 0.0], [0.5, 0.0, 0.0]),
        rounded=[(0.2000001, [0.0, 0.0, 0.0], [0.4999995, 0.0, 0.0])],
        wrong=[((0.4, [1.0, 0.0, 0.0], [-0.5, 0.0, 0.0]), "not yet"),
               ((0.2002, [0.0, 0.0, 0.0], [0.5, 0.001, 0.0]), "not yet")],
        kwargs={}),
    "check_moment_matching": dict(
        # lr b = eps and lr**2 b (1 - b) = eps**2 / 3
        right=(0.75, 4 * 0.02 / 3),
        rounded=[(0.75, 0.0267), (0.75, 0.027)],
        wrong=[((0.5, 0.04), "not yet"), ((0.75, 0.02), "lr: not yet"),
               ((0.7, 4 * 0.02 / 3), "batch_fraction: not yet")],
        kwargs=dict(eps=0.02)),
    "check_scaling_powers": dict(
        # beta / (d nu_perp), 1 / (d nu_perp), nu_par / (d nu_perp) with
        # the 3D Manna exponents beta = 0.84, nu_perp = 0.59, nu_par = 1.08
        right=(0.84 / 1.77, 1 / 1.77, 1.08 / 1.77),
        rounded=[(0.475, 0.565, 0.61), (0.47, 0.56, 0.61)],
        wrong=[((3 * 0.84 / 1.77, 1 / 1.77 / 3, 1.08 / 1.77),
                "dimension d = 3"),
               ((0.84 / 0.59, 1 / 0.59, 1.08 / 0.59), "not yet"),
               ((0.45, 0.6, 0.64), "not yet")],
        kwargs={}),
    "check_number_variance_exponent": dict(
        right=(3 - 0.25,),
        rounded=[(2.75,)],
        wrong=[((3.0,), "ideal gas"), ((2.0,), "surface term"),
               ((2.5,), "Not yet"), ((3.25,), "Not yet")],
        kwargs={}),
    "check_two_classes": dict(
        # overlap 0.5 + 0.7 - 1 = 0.2, half of it charged
        right=(0.1, 1.2),
        rounded=[(0.1000004, 1.1999996)],
        wrong=[((0.2, 1.0), "whole overlap"), ((0.12, 1.3), "not yet")],
        kwargs={}),
    "check_bro_kick": dict(
        # two perpendicular unit pushes: |S| = sqrt 2, u uniform on [0, eps]
        right=(0.1 * SQRT2, 0.1 * SQRT2 / 2),
        rounded=[(0.141, 0.0707), (0.14, 0.071)],
        wrong=[((0.1, 0.05), "added as vectors"), ((0.2, 0.1), "not yet"),
               ((0.1 * SQRT2, 0.1 * SQRT2), "mean: not yet")],
        kwargs={}),
    "check_case_b_sgd": dict(
        # a coin of variance q (1 - q) times steps of lr / 2 along S_1 =
        # (0, sqrt 2), or along two perpendicular unit vectors
        right=(2 * 0.25 * 0.01, 0.25 * 0.01, 0.25 * 0.01),
        rounded=[(0.005, 0.0025, 0.0025), (0.00501, 0.00249, 0.0025)],
        wrong=[((0.02, 0.01, 0.01), "gradient is -S/2"),
               ((0.0025, 0.005, 0.0), "not yet")],
        kwargs={}),
    "check_sgd_skewness": dict(
        right=((1 - 2 * B) / math.sqrt(B * (1 - B)),),
        rounded=[(-1.155,), (-1.15,)],
        wrong=[(((2 * B - 1) / math.sqrt(B * (1 - B)),), "the sign is not"),
               ((B * (1 - B) * (1 - 2 * B),), "third central moment"),
               ((-1.0,), "Not yet")],
        kwargs={}),
}

# Numbers of the exercises' set-ups that the checkers' signatures and
# docstrings state, and that happen to equal another exercise's answer.
PROBLEM_DATA = ["eps=0.1", "Default 0.1.", "lr=0.2", "Default 0.2.",
                "batch_fraction=0.5", "Default 0.5.", "radius 0.5"]


def _printed(function, *args, **kwargs):
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        function(*args, **kwargs)
    return buffer.getvalue()


def _spellings(value):
    """Ways a number may be written: two to six significant figures and
    two to five decimals, where those keep two significant figures."""
    value = float(value)
    if value == 0:
        return set()
    forms = {repr(value), str(value)}
    forms |= {f"{value:.{d}g}" for d in range(2, 7)}
    digits = -math.floor(math.log10(abs(value)))
    forms |= {f"{value:.{d}f}" for d in range(max(1, digits + 1), 6)}
    forms = {f.rstrip("0").rstrip(".") if "." in f else f for f in forms}
    return {f for f in forms if any(c in f for c in ".e")}


def _answers(name):
    """The right answers of a checker, and the ones it divides by a length."""
    case = CASES[name]
    values = list(np.concatenate([np.ravel(v) for v in case["right"]]))
    if name == "check_bro_kick":
        values += [v / 0.1 for v in values]
    elif name == "check_moment_matching":
        values.append(4 / 3)
    elif name == "check_case_b_sgd":
        values += [v / 0.2**2 for v in values]
    return [v for v in values if v != 0]


def test_answer_key_is_current():
    """The digests in _checks.py are those packing_lite gives today."""
    key = load_tool("answer_key")
    block = key.BLOCK.search((ROOT / "book" / "_checks.py").read_text())
    assert block, "no answer-key block in book/_checks.py"
    assert block[0] == key.key_block(), \
        "stale answer key: run python tools/answer_key.py --write"


def test_every_checker_has_a_case():
    names = {n for n in dir(checks) if n.startswith("check_")}
    assert names == set(CASES) | {"check_two_point_extrapolation"}


@pytest.mark.parametrize("name", sorted(CASES))
def test_right_answers_pass(name):
    case, function = CASES[name], getattr(checks, name)
    for answer in [case["right"]] + case["rounded"]:
        text = _printed(function, *answer, **case["kwargs"])
        assert "not yet" not in text.lower(), (answer, text)
        assert text.count("ight") in (1, len(answer)), (answer, text)


@pytest.mark.parametrize("name", sorted(CASES))
def test_wrong_answers_fail_with_a_hint(name):
    case, function = CASES[name], getattr(checks, name)
    for answer, reply in case["wrong"]:
        text = _printed(function, *answer, **case["kwargs"])
        assert reply in text, (answer, text)
        assert "Hint" in text


@pytest.mark.parametrize("name", sorted(CASES))
def test_replies_never_show_the_answer(name):
    case, function = CASES[name], getattr(checks, name)
    arity = len(case["right"])
    answers = [case["right"], tuple([None] * arity), tuple(["abc"] * arity)]
    answers += [a for a, _ in case["wrong"]]
    text = "\n".join(_printed(function, *a, **case["kwargs"])
                     for a in answers)
    assert "Fill in" in text and "could not read" in text
    for value in _answers(name):
        for form in _spellings(value):
            assert form not in text, f"{name} printed {form!r}"


@pytest.mark.parametrize("name", sorted(CASES))
def test_an_answer_beyond_the_floats_is_called_not_finite(name):
    case, function = CASES[name], getattr(checks, name)
    answer = (10**400,) * len(case["right"])
    text = _printed(function, *answer, **case["kwargs"])
    assert "should be finite" in text and "Right" not in text, text


def test_checkers_file_holds_no_answer():
    text = (ROOT / "book" / "_checks.py").read_text()
    for phrase in PROBLEM_DATA:
        text = text.replace(phrase, "")
    for name in CASES:
        for value in _answers(name):
            for form in _spellings(value):
                assert not re.search(rf"(?<![\w.]){re.escape(form)}(?![\w])",
                                     text), f"{name}: {form!r} in _checks.py"


def test_other_parameters_are_flagged():
    text = _printed(checks.check_sgd_skewness, -1.15, batch_fraction=0.5)
    assert "book's batch_fraction only" in text
    text = _printed(checks.check_number_variance_exponent, 2.5, alpha=0.5)
    assert "book's alpha only" in text
    # Lengths scale with eps, so another eps is checked properly.
    text = _printed(checks.check_bro_kick, 0.2 * SQRT2, 0.1 * SQRT2, eps=0.2)
    assert text.count("right.") == 2


def test_the_books_own_parameter_counts_as_the_books_case():
    right = (1 - 2 * B) / math.sqrt(B * (1 - B))
    for given in (B, np.float32(B), "0.75"):
        text = _printed(checks.check_sgd_skewness, right, batch_fraction=given)
        assert text.startswith("Right"), (given, text)


@pytest.mark.parametrize("name, call, parameter", [
    ("check_bro_kick", dict(eps=0), "eps"),
    ("check_bro_kick", dict(eps="a lot"), "eps"),
    ("check_bro_kick", dict(eps=None), "eps"),
    ("check_moment_matching", dict(eps=-0.02), "eps"),
    ("check_moment_matching", dict(eps=float("nan")), "eps"),
    ("check_case_b_sgd", dict(lr=0), "lr"),
    ("check_case_b_sgd", dict(batch_fraction=None), "batch_fraction"),
    ("check_case_b_sgd", dict(batch_fraction=1.5), "batch_fraction"),
    ("check_case_b_sgd", dict(batch_fraction=np.array([0.5, 0.5])),
     "batch_fraction"),
    ("check_sgd_skewness", dict(batch_fraction=1.0), "batch_fraction"),
    ("check_sgd_skewness", dict(batch_fraction=True), "batch_fraction"),
    ("check_number_variance_exponent", dict(alpha=None), "alpha"),
    ("check_number_variance_exponent", dict(alpha="quarter"), "alpha"),
    ("check_number_variance_exponent", dict(dim=2.5), "dim"),
    ("check_bro_kick", dict(eps=10**400), "eps"),
])
def test_bad_parameters_are_named_not_raised(name, call, parameter):
    """A parameter out of range gets a reply naming it, not a traceback,
    and no verdict on the answer."""
    text = _printed(getattr(checks, name), *CASES[name]["right"], **call)
    assert text.startswith(f"{parameter} should be"), text
    assert "right" not in text.lower() and "not yet" not in text.lower()


@pytest.mark.parametrize("table", [None, {"label": ["bro"]}, np.zeros((3, 3)),
                                   pd.DataFrame({"eps": [0.01, 0.02]})])
def test_two_point_extrapolation_names_a_table_it_cannot_read(table):
    text = _printed(checks.check_two_point_extrapolation, 0.63, table)
    assert text.startswith("table should be"), text


@pytest.mark.parametrize("eps, phi_c, reply", [
    ([0.01, 0.02], ["a", "b"], "should hold numbers"),
    ([0.01, 0.01, 0.02], [0.63, 0.62, 0.61], "twice at eps = 0.01"),
    ([0.01, 0.01], [0.63, 0.62], "fewer than two different step sizes"),
    ([0.01], [0.63], "fewer than two different step sizes"),
])
def test_two_point_extrapolation_needs_two_numeric_step_sizes(eps, phi_c, reply):
    table = pd.DataFrame({"label": ["bro"] * len(eps), "eps": eps,
                          "phi_c": phi_c})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        text = _printed(checks.check_two_point_extrapolation, 0.63, table)
    assert reply in text and "Right" not in text, text


def test_two_point_extrapolation_checks_the_method():
    table = pd.DataFrame({"label": ["bro"] * 3, "eps": [0.01, 0.02, 0.04],
                          "phi_c": [0.633, 0.627, 0.615]})
    expected = 0.633 - 0.01 * (0.627 - 0.633) / (0.02 - 0.01)
    function = checks.check_two_point_extrapolation
    outputs = [_printed(function, a, table)
               for a in (None, expected, 0.630, 0.633, 0.5, "x")]
    assert outputs[1].startswith("Right")
    assert all("Right" not in o for o in outputs[2:])
    assert "beyond both" in outputs[2] and "beyond both" in outputs[3]
    for form in _spellings(expected):
        assert form not in "\n".join(outputs)


def test_signatures_the_chapters_use():
    """The chapters call the checkers by these names and arguments."""
    calls = re.findall(r"^(check_\w+)\((.*)\)$", "\n".join(
        path.read_text() for path in (ROOT / "book").glob("*.md")), re.M)
    assert calls
    for name, args in calls:
        signature = inspect.signature(getattr(checks, name))
        keywords = re.findall(r"(\w+)=", args)
        assert set(keywords) <= set(signature.parameters), name


def test_no_reply_line_is_wider_than_the_output_box():
    # regression: hints ran to about 110 characters, wider than the
    # code-output box of a page
    texts = []
    for name, case in CASES.items():
        function, arity = getattr(checks, name), len(case["right"])
        answers = [case["right"], tuple([None] * arity), tuple(["abc"] * arity)]
        answers += case["rounded"] + [a for a, _ in case["wrong"]]
        texts += [_printed(function, *a, **case["kwargs"]) for a in answers]
    texts.append(_printed(checks.check_sgd_skewness, -1.15, batch_fraction=0.5))
    table = pd.DataFrame({"label": ["bro"] * 2, "eps": [0.01, 0.02],
                          "phi_c": [0.633, 0.627]})
    texts += [_printed(checks.check_two_point_extrapolation, a, table)
              for a in (0.639, 0.630, 0.5, "x")]
    texts.append(_printed(checks.check_two_point_extrapolation, 0.6, table[:1]))
    lines = "\n".join(texts).splitlines()
    assert max(len(line) for line in lines) <= 72
    # long replies were wrapped, with their continuation lines indented
    assert any(line.startswith("    ") for line in lines)
