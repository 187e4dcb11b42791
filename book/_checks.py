"""Answer checkers for the exercises of the book.

Each checker says whether an answer is right and, if not, gives a hint. It
never prints the expected value, and this file does not hold it either:
students get a copy of it, so it must not be possible to read an answer off
the code.

How the answers are stored
--------------------------
For every expected number the file keeps only a digest: the SHA-256 of a
fixed salt, the answer's name, the exercise's parameters and the value
rounded onto a grid. The grid step is the checker's tolerance, absolute, or
relative (a grid in the logarithm) where the answer is a small number whose
size matters. An answer is right when its own grid point, or one next to it,
has the stored digest, so a value within one step of the expected one is
always accepted and one more than two steps away never is. Common mistakes
(a factor of two, the wrong sign, ...) are stored the same way, each with its
own hint. Answers in diameters are divided by the length the exercise gives
(``eps`` or ``lr``) before they are rounded, so those checkers work for any
step size.

The digests are written by the maintainers' answer key (``answer_key.py``
in the repository's tools), which computes every value with packing_lite; a
test fails when a digest no longer matches the package. A digest only hides
a value from a reader: with enough patience one could try every grid point,
as one could with the exercise itself.

Answers and methods
-------------------
An exercise whose answer is a number fixed by the book (a loss, a power, a
variance) is checked against a digest. The exception is
:func:`check_two_point_extrapolation`: its answer depends on the measured
table the student passes in, which changes whenever the data are generated
again, so no digest could stay right. There the checker applies the method
the exercise states (a straight line through the two points with the
smallest step size, followed to zero step) to the student's table and
compares; the method is part of the question, the number is not printed.

Parameters other than the book's are accepted where the answer is a length
that scales with ``eps`` or ``lr``; for other parameters (a batch fraction,
the dimension) only the book's values are known, and the checker says so.
"""

import hashlib
import inspect
import math
import textwrap

import numpy as np

_SALT = "packing-lite checks, digest scheme 1"

# The answer key, as digests (see the module docstring): name -> (grid step,
# relative grid?, digest). Written by the maintainers' answer key; do not
# edit by hand.
_KEY = {
    "line_of_three.loss": (1e-06, False, "5c2ef09d3c7acf42de98c7a6"),
    "line_of_three.middle_gradient": (1e-06, False, "12733740b656fed516e03566"),
    "line_of_three.end_gradient": (1e-06, False, "1938334efbca1829e2daf47c"),
    "two_classes.loss": (1e-06, False, "ceb7417af6e0a3e168eb97a2"),
    "two_classes.whole_overlap": (1e-06, False, "f6e3cfead29502ba96159432"),
    "two_classes.safe_distance": (1e-06, False, "3bffda4d58638ca1334aa175"),
    "bro_kick.largest": (0.015, True, "59a3e518d6ce126c29ef5b4e"),
    "bro_kick.mean": (0.015, True, "43dd075041ec3f588bfe1d67"),
    "bro_kick.one_push": (0.015, True, "e5cf072800e358564d045b8f"),
    "bro_kick.pushes_in_line": (0.015, True, "efbbbda875b5fb7622e7edee"),
    "moment_matching.batch_fraction": (0.015, True, "126616d4be803499761630c7"),
    "moment_matching.lr": (0.015, True, "8b15f7434f2ca8c6dd0b6ba7"),
    "case_b.particle_var_y": (0.015, True, "91a986b842e81a4205f10524"),
    "case_b.pair_var_x": (0.015, True, "162e55a324a7a6268816c5e7"),
    "case_b.pair_var_y": (0.015, True, "9feb64085189f51cfa3a2ff6"),
    "sgd_skewness.skewness": (0.006, False, "40ef38e56ba95a249e6a17d2"),
    "sgd_skewness.third_moment": (0.006, False, "0ae5e4d263cc9ed4c31709a2"),
    "sgd_skewness.batch_fraction": (1e-06, False, "dab8197bd9aeadfd1614bf54"),
    "scaling_powers.activity": (0.006, False, "d39839028b7f18fc31ec9958"),
    "scaling_powers.distance": (0.006, False, "a44717dc3c5a8ac5723e7ef1"),
    "scaling_powers.time": (0.006, False, "7017ea06c884be85e357d9aa"),
    "number_variance.exponent": (0.006, False, "2917155d3273ba9059d723ea"),
    "number_variance.ideal_gas": (0.006, False, "af199666a6346b853e042936"),
    "number_variance.surface": (0.006, False, "04fcf8c20ac57660e547ed76"),
}
# End of the answer key.


# ------------------------------------------------------------ the machinery
_WIDTH = 72  # a reply fits the code-output box of a book page


def _say(reply):
    """Print ``reply`` in lines of at most ``_WIDTH`` characters.

    Continuation lines are indented so that each reply reads as one item.
    """
    print(textwrap.fill(reply, width=_WIDTH, subsequent_indent="    "))


def _read(value, name, size=1):
    """A finite float (or ``size`` of them), or None after saying why not."""
    try:
        numbers = np.asarray(value, dtype=float).reshape(-1)
    except (TypeError, ValueError):
        _say(f"{name}: could not read this answer as numbers.")
        return None
    except OverflowError:  # an integer beyond the largest float
        _say(f"{name}: the answer should be finite.")
        return None
    if numbers.size != size:
        what = "one number" if size == 1 else f"{size} numbers"
        _say(f"{name}: the answer should be {what}.")
        return None
    if not np.all(np.isfinite(numbers)):
        _say(f"{name}: the answer should be finite.")
        return None
    return float(numbers[0]) if size == 1 else numbers


def _point(values, step, relative):
    """The grid point of a number or of each entry of a vector."""
    point = []
    for value in np.ravel(values):
        value = float(value)
        if relative:
            size = 0 if value == 0 else round(
                math.log(abs(value)) / math.log1p(step))
            point.append((int(np.sign(value)), size))
        else:
            point.append(round(value / step))
    return tuple(point)


def _neighbours(point):
    """The grid point and every point next to it, entry by entry."""
    points = [()]
    for entry in point:
        if isinstance(entry, tuple):
            sign, size = entry
            near = [(sign, size + k) for k in (-1, 0, 1)]
        else:
            near = [entry + k for k in (-1, 0, 1)]
        points = [p + (n,) for p in points for n in near]
    return points


def _digest(name, params, point):
    text = f"{_SALT}|{name}|{params}|{point}"
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def _matches(name, values, params=""):
    """Whether the answer ``values`` is the stored value ``name``."""
    if name not in _KEY:
        return False
    step, relative, stored = _KEY[name]
    return any(_digest(name, params, point) == stored
               for point in _neighbours(_point(values, step, relative)))


def _answers(sizes=None, **answers):
    """The answers read as numbers (a list in the order given), or None
    after saying which are missing or unreadable. ``sizes`` maps a name to
    the length of a vector answer."""
    if any(a is None for a in answers.values()):
        _say("Fill in every answer, then run this cell again.")
        return None
    sizes = sizes or {}
    read = [_read(value, name, sizes.get(name, 1))
            for name, value in answers.items()]
    return None if any(r is None for r in read) else read


def _parameter(value, name, low, high, high_open=False):
    """An optional parameter as a float in (low, high], or None after saying
    what it should be."""
    number = None
    if not isinstance(value, (bool, np.bool_)):
        try:
            number = float(value)
        except (TypeError, ValueError, OverflowError):
            number = None
    inside = number is not None and low < number and (
        number < high if high_open else number <= high)
    if not inside:
        upper = ("" if high == math.inf else
                 f" and {'below' if high_open else 'at most'} {high}")
        _say(f"{name} should be a number above {low}{upper}, got {value!r}.")
        return None
    return number


def _only_the_books_case(function, **given):
    """Say so if parameters differ from the defaults, the book's values."""
    parameters = inspect.signature(function).parameters
    names = " and ".join(name for name, value in given.items()
                         if value != parameters[name].default)
    if names:
        _say(f"(This checker knows the answers for the book's {names} "
              f"only; call it without {names}.)")


# ---------------------------------------------------------------- checkers
def check_line_of_three(loss, middle_gradient, end_gradient):
    """Check the loss and two gradients of the three-sphere line.

    Three spheres of diameter 1 on the x axis, 0.8 apart.

    Parameters
    ----------
    loss : float
        Your value of the total hinge loss L.
    middle_gradient : sequence of 3 floats
        Your gradient of L with respect to the middle sphere (index 1).
    end_gradient : sequence of 3 floats
        Your gradient of L with respect to the left sphere (index 0).
    """
    answers = _answers(loss=loss, middle_gradient=middle_gradient,
                       end_gradient=end_gradient,
                       sizes={"middle_gradient": 3, "end_gradient": 3})
    if answers is None:
        return
    hints = {
        "loss": "list the pairs whose centres are closer than one "
                "diameter; each contributes half of its overlap.",
        "middle_gradient": "the middle sphere is pushed by both neighbours; "
                           "add the two unit vectors.",
        "end_gradient": "the gradient points the way the loss grows, so it "
                        "is minus one half times the push.",
    }
    for (name, hint), answer in zip(hints.items(), answers):
        if _matches(f"line_of_three.{name}", answer):
            _say(f"{name}: right.")
        else:
            _say(f"{name}: not yet. Hint: {hint}")


def check_moment_matching(batch_fraction, lr, eps=0.02):
    """Check the SGD parameters that copy BRO's first two moments.

    Answers rounded to two or three significant figures pass.

    Parameters
    ----------
    batch_fraction : float
        Your batch fraction b_f.
    lr : float
        Your learning rate, in diameters.
    eps : float, optional
        BRO's kick size, in diameters. Default 0.02.
    """
    answers = _answers(batch_fraction=batch_fraction, lr=lr)
    eps = _parameter(eps, "eps", 0, math.inf, high_open=True)
    if answers is None or eps is None:
        return
    batch_fraction, lr = answers
    fraction_ok = _matches("moment_matching.batch_fraction", batch_fraction)
    lr_ok = _matches("moment_matching.lr", lr / eps)
    if fraction_ok and lr_ok:
        _say("Right: with these values SGD has BRO's mean and variance.")
        return
    if not fraction_ok:
        _say("batch_fraction: not yet. Hint: divide the variance condition "
              "by the square of the mean condition; lr drops out and leaves "
              "one equation for b_f.")
    if not lr_ok:
        _say("lr: not yet. Hint: the mean of a uniform number on [0, eps] "
              "is eps / 2, and an SGD step happens with probability b_f.")


def check_two_point_extrapolation(phi_c_zero, table, label="bro"):
    """Check a straight line through the two smallest step sizes, at zero.

    The answer depends on the measured table, so this checker applies the
    method to ``table`` (see the module docstring).

    Parameters
    ----------
    phi_c_zero : float
        Your value of phi_c where the line through the two points with the
        smallest eps crosses eps = 0.
    table : pandas.DataFrame
        The table of measured phi_c (columns ``label``, ``eps``, ``phi_c``).
    label : str, optional
        Which dynamics: ``"bro"``, ``"sgd-bf0.2"``, ``"sgd-bf0.75"`` or
        ``"sgd-bf1.0"``.
    """
    answers = _answers(phi_c_zero=phi_c_zero)
    if answers is None:
        return
    [value] = answers
    columns = getattr(table, "columns", ())
    if not all(c in columns for c in ("label", "eps", "phi_c")):
        _say("table should be the chapter's data frame of phi_c, with the "
             "columns label, eps and phi_c (the variable table).")
        return
    part = table[table["label"] == label]
    try:
        points = np.asarray(part[["eps", "phi_c"]], dtype=float)
    except (TypeError, ValueError):
        _say("table: its eps and phi_c columns should hold numbers.")
        return
    points = points[np.argsort(points[:, 0], kind="stable")]
    if len(np.unique(points[:, 0])) < 2:
        _say(f"The table has fewer than two different step sizes for "
             f"{label!r}.")
        return
    (x1, y1), (x2, y2) = points[:2]
    if x1 == x2:
        _say(f"The table gives phi_c twice at eps = {x1:g} for {label!r}; "
             "keep one row per step size.")
        return
    intercept = y1 - x1 * (y2 - y1) / (x2 - x1)
    if abs(value - intercept) <= 2e-3:
        _say("Right: that is where the line through the two smallest step "
              "sizes meets eps = 0.")
    elif abs(value - (y1 + y2) / 2) <= 2e-3 or abs(value - y1) <= 1e-4:
        _say("Not yet. Hint: the line continues past the smallest step "
              "size; phi_c at eps = 0 lies beyond both measured values.")
    else:
        _say("Not yet. Hint: the slope is (phi_c2 - phi_c1) / (eps2 - "
              "eps1); go back from the first point by eps1 times the slope.")


def check_scaling_powers(activity, distance, time):
    """Check the powers of N in the 3D Manna finite-size collapse.

    Parameters
    ----------
    activity : float
        Power of N that multiplies f_a.
    distance : float
        Power of N that multiplies phi - phi_c.
    time : float
        Power of N that divides tau.
    """
    names = ("activity", "distance", "time")
    answers = _answers(activity=activity, distance=distance, time=time)
    if answers is None:
        return
    hints = {
        "activity": "f_a falls like L**(-beta / nu_perp); write L through N.",
        "distance": "the distance to phi_c is measured in units of "
                    "L**(-1 / nu_perp).",
        "time": "tau grows like L**z with z = nu_par / nu_perp.",
    }
    for name, mine in zip(names, answers):
        key = f"scaling_powers.{name}"
        if _matches(key, mine):
            _say(f"{name}: right.")
        elif _matches(key, 3 * mine) or _matches(key, mine / 3):
            _say(f"{name}: not yet. Hint: N is proportional to L**d; "
                  "did you use the dimension d = 3?")
        else:
            _say(f"{name}: not yet. Hint: {hints[name]}")


def check_number_variance_exponent(exponent, alpha=0.25, dim=3):
    """Check how the number variance in a ball grows with its radius.

    Parameters
    ----------
    exponent : float
        Your power p in sigma_N^2(R) ~ R**p for a structure factor
        S(q) ~ q**alpha at small q, with 0 < alpha < 1.
    alpha : float, optional
        The small-q power of S(q). Default 0.25, the book's.
    dim : int, optional
        The dimension. Default 3, the book's.
    """
    answers = _answers(exponent=exponent)
    alpha = _parameter(alpha, "alpha", 0, 1, high_open=True)
    if isinstance(dim, (bool, np.bool_)) or not isinstance(dim, (int, np.integer)) \
            or dim < 1:
        _say(f"dim should be a whole number of at least 1, got {dim!r}.")
        return
    if answers is None or alpha is None:
        return
    [value] = answers
    params = f"{alpha!r},{int(dim)}"
    if _matches("number_variance.exponent", value, params):
        _say("Right: between a Poisson gas and a perfect crystal.")
    elif _matches("number_variance.ideal_gas", value, params):
        _say("Not yet: that is the ideal gas, S(0) > 0. Hint: count the "
              "wave numbers below 1 / R and weigh them by S(q).")
    elif _matches("number_variance.surface", value, params):
        _say("Not yet: that is the surface term, which wins only when "
              "S(q) vanishes faster than q. Hint: compare q**alpha with q "
              "at small q.")
    else:
        _say("Not yet. Hint: the variance is R**d times the integral of "
              "S(q) over q below about 1 / R, in d dimensions.")
        _only_the_books_case(check_number_variance_exponent, alpha=alpha,
                             dim=dim)


def check_two_classes(loss, safe_distance):
    """Check the hinge loss of two class balls and their safe distance.

    Parameters
    ----------
    loss : float
        Your hinge loss of the balls of radius 0.5 at (0, 0) and 0.7 at
        (1, 0).
    safe_distance : float
        Your smallest centre distance at which no example can be confused.
    """
    answers = _answers(loss=loss, safe_distance=safe_distance)
    if answers is None:
        return
    loss, safe_distance = answers
    if _matches("two_classes.loss", loss):
        _say("loss: right.")
    elif _matches("two_classes.whole_overlap", loss):
        _say("loss: not yet. Hint: that is the whole overlap; the hinge "
              "loss charges a pair half of it.")
    else:
        _say("loss: not yet. Hint: the overlap is the sum of the radii "
              "minus the distance between the centres.")
    if _matches("two_classes.safe_distance", safe_distance):
        _say("safe_distance: right.")
    else:
        _say("safe_distance: not yet. Hint: examples are safe once the "
              "two balls no longer overlap.")


def check_bro_kick(largest, mean, eps=0.1):
    """Check the largest and mean BRO step of a sphere with two partners.

    Parameters
    ----------
    largest : float
        Your largest possible step length, in diameters.
    mean : float
        Your mean step length, in diameters.
    eps : float, optional
        The kick size, in diameters. Default 0.1.
    """
    answers = _answers(largest=largest, mean=mean)
    eps = _parameter(eps, "eps", 0, math.inf, high_open=True)
    if answers is None or eps is None:
        return
    largest, mean = answers
    if _matches("bro_kick.largest", largest / eps):
        _say("largest: right.")
    elif _matches("bro_kick.one_push", largest / eps) or \
            _matches("bro_kick.pushes_in_line", largest / eps):
        _say("largest: not yet. Hint: the two pushes are added as vectors; "
              "how long is the sum of two perpendicular unit vectors?")
    else:
        _say("largest: not yet. Hint: the step is u times the sum of the "
              "unit vectors, with u at most eps.")
    if _matches("bro_kick.mean", mean / eps):
        _say("mean: right.")
    else:
        _say("mean: not yet. Hint: only the factor u is random; what is "
              "the mean of a uniform number on [0, eps]?")


def check_case_b_sgd(particle_var_y, pair_var_x, pair_var_y, lr=0.2,
                     batch_fraction=0.5):
    """Check the step variances of the middle disc of Case B under SGD.

    Parameters
    ----------
    particle_var_y : float
        Your variance of the y component, particle-wise SGD.
    pair_var_x, pair_var_y : float
        Your variances of the x and y components, pair-wise SGD.
    lr : float, optional
        Learning rate in diameters. Default 0.2.
    batch_fraction : float, optional
        Probability of a sphere (or a pair) being selected. Default 0.5.
    """
    names = ("particle_var_y", "pair_var_x", "pair_var_y")
    answers = _answers(particle_var_y=particle_var_y, pair_var_x=pair_var_x,
                       pair_var_y=pair_var_y)
    lr = _parameter(lr, "lr", 0, math.inf, high_open=True)
    batch_fraction = _parameter(batch_fraction, "batch_fraction", 0, 1)
    if answers is None or lr is None or batch_fraction is None:
        return
    params = repr(batch_fraction)
    pair_hint = ("each pair has its own coin; add the variances of the two "
                 "pushes, each (lr/2)^2 q(1-q) times n n^T.")
    hints = {
        "particle_var_y": "one coin scales the whole sum S_1 = (0, sqrt 2); "
                          "the variance picks up |S_1|^2.",
        "pair_var_x": pair_hint,
        "pair_var_y": pair_hint,
    }
    for name, mine in zip(names, answers):
        # a variance in diameters squared, so it scales with lr**2
        scaled = mine / lr**2
        if _matches(f"case_b.{name}", scaled, params):
            _say(f"{name}: right.")
        elif _matches(f"case_b.{name}", scaled / 4, params):
            _say(f"{name}: not yet. Hint: the step is -lr times the "
                  "gradient, and the gradient is -S/2, not -S.")
        else:
            _say(f"{name}: not yet. Hint: {hints[name]}")
    _only_the_books_case(check_case_b_sgd, batch_fraction=batch_fraction)


def check_sgd_skewness(skewness, batch_fraction=None):
    """Check the skewness of one particle-wise SGD step.

    Parameters
    ----------
    skewness : float
        Your skewness of the step along S_i.
    batch_fraction : float, optional
        The batch fraction. By default the one the chapter asks about, the
        only one this checker knows.
    """
    answers = _answers(skewness=skewness)
    if batch_fraction is not None:
        batch_fraction = _parameter(batch_fraction, "batch_fraction", 0, 1,
                                    high_open=True)
        if batch_fraction is None:
            return
    if answers is None:
        return
    [value] = answers
    # the chapter's own batch fraction, given or not, is the chapter's case
    book = batch_fraction is None or _matches("sgd_skewness.batch_fraction",
                                              batch_fraction)
    params = "book" if book else repr(batch_fraction)
    if _matches("sgd_skewness.skewness", value, params):
        _say("Right: the lopsided coin gives a long tail towards small "
              "steps.")
    elif _matches("sgd_skewness.skewness", -value, params):
        _say("Not yet: the size is right, the sign is not. Hint: the rare "
              "value of the step, 0, lies below the mean.")
    elif _matches("sgd_skewness.third_moment", value, params):
        _say("Not yet: that is the third central moment. Hint: the "
              "skewness divides it by the standard deviation cubed.")
    else:
        _say("Not yet. Hint: use the third central moment of the coin and "
              "divide by (b_f (1 - b_f))**1.5; the step length cancels.")
        if not book:
            _only_the_books_case(check_sgd_skewness,
                                 batch_fraction=batch_fraction)
