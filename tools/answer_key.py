"""The answer key of the book's self-checks, for maintainers only.

    python tools/answer_key.py           # are the digests in book/_checks.py current?
    python tools/answer_key.py --write   # write them again

``book/_checks.py`` ships to students, so it holds no expected value, only
a digest of each (its module docstring explains the scheme). This tool
computes the values with packing_lite, from the exercises' own set-ups,
and writes their digests into the block between ``_KEY = {`` and
``# End of the answer key.``. Without ``--write`` it exits non-zero when a
digest there differs from the one it computes, for instance after a change
of the package. Never copy this file into the student edition.
"""

import argparse
import importlib.util
import re
import sys
from pathlib import Path

import numpy as np

import packing_lite as pl

ROOT = Path(__file__).resolve().parent.parent
CHECKS = ROOT / "book" / "_checks.py"
BLOCK = re.compile(r"(?ms)^_KEY = \{\n.*?^\}\n# End of the answer key\.$")

# Grid steps: absolute for exact answers, relative where the chapter lets
# students round to two or three significant figures.
EXACT, POWER, ROUNDED = (1e-6, False), (6e-3, False), (1.5e-2, True)


def answers():
    """Every stored answer: name -> (value or vector, grid, parameters).

    Lengths are divided by the exercise's ``eps`` or ``lr``, as the
    checkers do; the parameters are those the chapters use.
    """
    key = {}

    # hinge_loss: three spheres on a line, 0.8 apart
    line = pl.Packing(np.array([[0.0, 0, 0], [0.8, 0, 0], [1.6, 0, 0]]),
                      box=10.0)
    gradient = pl.loss_gradient(line)
    key["line_of_three.loss"] = (pl.hinge_loss(line), EXACT, "")
    key["line_of_three.middle_gradient"] = (gradient[1], EXACT, "")
    key["line_of_three.end_gradient"] = (gradient[0], EXACT, "")

    # why_packing: class balls of radius 0.5 and 0.7, centres 1 apart
    two = pl.Packing(np.array([[0.0, 0.0], [1.0, 0.0]]), box=10.0,
                     radius=np.array([0.5, 0.7]))
    loss = pl.hinge_loss(two)
    key["two_classes.loss"] = (loss, EXACT, "")
    key["two_classes.whole_overlap"] = (2 * loss, EXACT, "")
    key["two_classes.safe_distance"] = (float(np.sum(two.radii)), EXACT, "")

    # bro: one sphere with two perpendicular partners; a kick is u times the
    # sum of the unit pushes (twice the gradient), u uniform on [0, eps]
    corner = pl.Packing(np.array([[0.0, 0.0], [0.8, 0.0], [0.0, 0.8]]),
                        box=10.0)
    push = 2 * float(np.linalg.norm(pl.loss_gradient(corner)[0]))
    key["bro_kick.largest"] = (push, ROUNDED, "")
    key["bro_kick.mean"] = (push / 2, ROUNDED, "")
    key["bro_kick.one_push"] = (1.0, ROUNDED, "")
    key["bro_kick.pushes_in_line"] = (2.0, ROUNDED, "")

    # bro_sgd: SGD moves lr / 2 times the push with probability b, BRO u
    # times the push with u uniform on [0, eps]; equal means give lr b = eps,
    # equal variances lr**2 b (1 - b) = eps**2 / 3, so (1 - b) / b = 1 / 3
    fraction = 1 / (1 + 1 / 3)
    key["moment_matching.batch_fraction"] = (fraction, ROUNDED, "")
    key["moment_matching.lr"] = (1 / fraction, ROUNDED, "")

    # batches: the middle disc of Case B, q = 0.5, steps of lr / 2 times
    # S_1 = (0, sqrt 2) (particle-wise) or each unit push (pair-wise)
    q = 0.5
    coin = q * (1 - q) / 4
    params = repr(q)
    key["case_b.particle_var_y"] = (2 * coin, ROUNDED, params)
    key["case_b.pair_var_x"] = (coin, ROUNDED, params)
    key["case_b.pair_var_y"] = (coin, ROUNDED, params)

    # stochastic_approximation: the step is a coin of probability b times
    # a fixed length
    b = 0.75
    third = b * (1 - b) * (1 - 2 * b)
    key["sgd_skewness.skewness"] = (third / (b * (1 - b)) ** 1.5, POWER,
                                    "book")
    key["sgd_skewness.third_moment"] = (third, POWER, "book")
    key["sgd_skewness.batch_fraction"] = (b, EXACT, "")  # the chapter's

    # critical_scaling: 3D Manna class
    powers = pl.analysis.scaling_powers("manna-3d")
    for name in ("activity", "distance", "time"):
        key[f"scaling_powers.{name}"] = (getattr(powers, name), POWER, "")

    # beyond: S(q) ~ q**alpha with alpha = 0.25 in 3D
    alpha, dim = 0.25, 3
    params = f"{alpha!r},{dim}"
    key["number_variance.exponent"] = (dim - alpha, POWER, params)
    key["number_variance.ideal_gas"] = (float(dim), POWER, params)
    key["number_variance.surface"] = (float(dim - 1), POWER, params)
    return key


def _checks_module():
    spec = importlib.util.spec_from_file_location("_checks_for_key", CHECKS)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def key_block():
    """The ``_KEY`` block of book/_checks.py, as it should read."""
    checks = _checks_module()
    lines = ["_KEY = {"]
    for name, (value, (step, relative), params) in answers().items():
        point = checks._point(value, step, relative)
        digest = checks._digest(name, params, point)
        lines.append(f'    "{name}": ({step!r}, {relative}, "{digest}"),')
    lines += ["}", "# End of the answer key."]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true",
                        help="write the digests into book/_checks.py")
    args = parser.parse_args(argv)

    text = CHECKS.read_text()
    if not BLOCK.search(text):
        print(f"no answer-key block in {CHECKS}", file=sys.stderr)
        return 1
    wanted = key_block()
    current = BLOCK.search(text)[0]
    if current == wanted:
        print("the answer key in book/_checks.py is current")
        return 0
    if args.write:
        CHECKS.write_text(text.replace(current, wanted))
        print("wrote the answer key into book/_checks.py")
        return 0
    print("the answer key in book/_checks.py is stale; run "
          "python tools/answer_key.py --write", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
