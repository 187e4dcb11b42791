"""Answer checkers for the exercises of the book.

Each checker compares a student's answer with the value computed by
``packing_lite`` and prints a verdict. A wrong answer gets a hint, never the
expected value, so the functions can be used in class.
"""

import numpy as np

import packing_lite as pl


def _line_of_three():
    """Three spheres of diameter 1 on the x axis, 0.8 apart."""
    positions = np.array([[0.0, 0.0, 0.0], [0.8, 0.0, 0.0], [1.6, 0.0, 0.0]])
    return pl.Packing(positions, box=10.0)


def _as_vector(value, name):
    """Turn an answer into a float array, or explain why it cannot be."""
    try:
        vector = np.asarray(value, dtype=float).reshape(-1)
    except (TypeError, ValueError):
        print(f"{name}: could not read this answer as numbers.")
        return None
    return vector


def check_line_of_three(loss, middle_gradient, end_gradient):
    """Check the loss and two gradients of the three-sphere line.

    Parameters
    ----------
    loss : float
        Your value of the total hinge loss L.
    middle_gradient : sequence of 3 floats
        Your gradient of L with respect to the middle sphere (index 1).
    end_gradient : sequence of 3 floats
        Your gradient of L with respect to the left sphere (index 0).
    """
    if loss is None or middle_gradient is None or end_gradient is None:
        print("Fill in all three answers, then run this cell again.")
        return

    packing = _line_of_three()
    expected_loss = pl.hinge_loss(packing)
    expected_grad = pl.loss_gradient(packing)
    answers = [_as_vector(loss, "loss"),
               _as_vector(middle_gradient, "middle_gradient"),
               _as_vector(end_gradient, "end_gradient")]
    if any(a is None for a in answers):
        return
    loss_v, middle_v, end_v = answers

    if loss_v.size != 1 or not np.isclose(loss_v[0], expected_loss, atol=1e-6):
        print("loss: not yet. Hint: list the pairs whose centres are closer "
              "than one diameter; each contributes half of its overlap.")
    else:
        print("loss: right.")
    if middle_v.size != 3 or not np.allclose(middle_v, expected_grad[1],
                                             atol=1e-6):
        print("middle_gradient: not yet. Hint: the middle sphere is pushed "
              "by both neighbours; add the two unit vectors.")
    else:
        print("middle_gradient: right.")
    if end_v.size != 3 or not np.allclose(end_v, expected_grad[0], atol=1e-6):
        print("end_gradient: not yet. Hint: the gradient points the way the "
              "loss grows, so it is minus one half times the push.")
    else:
        print("end_gradient: right.")


def check_moment_matching(batch_fraction, lr, eps=0.02):
    """Check the SGD parameters that copy BRO's first two moments.

    Parameters
    ----------
    batch_fraction : float
        Your batch fraction b_f.
    lr : float
        Your learning rate, in diameters.
    eps : float, optional
        BRO's kick size, in diameters. Default 0.02.
    """
    if batch_fraction is None or lr is None:
        print("Fill in both answers, then run this cell again.")
        return
    try:
        batch_fraction, lr = float(batch_fraction), float(lr)
    except (TypeError, ValueError):
        print("Both answers should be numbers.")
        return

    # Answers rounded to two or three significant figures pass.
    # Mean: lr * b_f = eps; variance: lr**2 * b_f * (1 - b_f) = eps**2 / 3.
    mean_ok = np.isclose(lr * batch_fraction, eps, rtol=3e-2)
    var_ok = np.isclose(lr**2 * batch_fraction * (1 - batch_fraction),
                        eps**2 / 3, rtol=3e-2)
    if mean_ok and var_ok:
        print("Right: with these values SGD has BRO's mean and variance.")
        return
    if mean_ok:
        print("The mean step matches, the variance does not. Hint: divide "
              "the variance condition by the square of the mean condition; "
              "lr drops out and leaves one equation for b_f.")
    else:
        print("The mean step does not match yet. Hint: the mean of a "
              "uniform number on [0, eps] is eps / 2, and an SGD step "
              "happens with probability b_f.")


def _as_number(value, name):
    """A float from an answer, or None with a message saying why not."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        print(f"{name}: could not read this answer as a number.")
        return None
    if not np.isfinite(number):
        print(f"{name}: the answer should be a finite number.")
        return None
    return number


def check_two_point_extrapolation(phi_c_zero, table, label="bro"):
    """Check a straight line through the two smallest step sizes, at zero.

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
    if phi_c_zero is None:
        print("Fill in your answer, then run this cell again.")
        return
    value = _as_number(phi_c_zero, "phi_c_zero")
    if value is None:
        return
    part = table[table["label"] == label].sort_values("eps")
    if len(part) < 2:
        print(f"The table has fewer than two step sizes for {label!r}.")
        return
    (x1, y1), (x2, y2) = part[["eps", "phi_c"]].to_numpy()[:2]
    expected = y1 - x1 * (y2 - y1) / (x2 - x1)
    if abs(value - expected) <= 2e-3:
        print("Right: that is where the line through the two smallest step "
              "sizes meets eps = 0.")
    elif abs(value - (y1 + y2) / 2) <= 2e-3 or abs(value - y1) <= 1e-4:
        print("Not yet. Hint: the line continues past the smallest step "
              "size; phi_c at eps = 0 lies beyond both measured values.")
    else:
        print("Not yet. Hint: the slope is (phi_c2 - phi_c1) / (eps2 - "
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
    if activity is None or distance is None or time is None:
        print("Fill in all three answers, then run this cell again.")
        return
    answers = [_as_number(v, n) for v, n in ((activity, "activity"),
                                              (distance, "distance"),
                                              (time, "time"))]
    if any(a is None for a in answers):
        return
    expected = pl.analysis.scaling_powers("manna-3d")
    hints = {
        "activity": "f_a falls like L**(-beta / nu_perp); write L through N.",
        "distance": "the distance to phi_c is measured in units of "
                    "L**(-1 / nu_perp).",
        "time": "tau grows like L**z with z = nu_par / nu_perp.",
    }
    for name, mine, right in zip(("activity", "distance", "time"), answers,
                                 expected):
        if abs(mine - right) <= 5e-3:
            print(f"{name}: right.")
        elif abs(mine * 3 - right) <= 5e-3 or abs(mine - right * 3) <= 1.5e-2:
            print(f"{name}: not yet. Hint: N is proportional to L**d; "
                  "did you use the dimension d = 3?")
        else:
            print(f"{name}: not yet. Hint: {hints[name]}")


def check_number_variance_exponent(exponent, alpha=0.25, dim=3):
    """Check how the number variance in a ball grows with its radius.

    Parameters
    ----------
    exponent : float
        Your power p in sigma_N^2(R) ~ R**p for a structure factor
        S(q) ~ q**alpha at small q, with 0 < alpha < 1.
    alpha : float, optional
        The small-q power of S(q). Default 0.25.
    dim : int, optional
        The dimension. Default 3.
    """
    if exponent is None:
        print("Fill in your answer, then run this cell again.")
        return
    value = _as_number(exponent, "exponent")
    if value is None:
        return
    if not 0 < alpha < 1:
        print("This checker covers 0 < alpha < 1 only.")
        return
    if abs(value - (dim - alpha)) <= 1e-3:
        print("Right: between a Poisson gas and a perfect crystal.")
    elif abs(value - dim) <= 1e-3:
        print("Not yet: that is the ideal gas, S(0) > 0. Hint: count the "
              "wave numbers below 1 / R and weigh them by S(q).")
    elif abs(value - (dim - 1)) <= 1e-3:
        print("Not yet: that is the surface term, which wins only when "
              "S(q) vanishes faster than q. Hint: compare q**alpha with q "
              "at small q.")
    else:
        print("Not yet. Hint: the variance is R**d times the integral of "
              "S(q) over q below about 1 / R, in d dimensions.")


def _read_answer(value, name):
    """A finite float from an answer, or None after saying why not."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        print(f"{name}: could not read this answer as a number.")
        return None
    if not np.isfinite(number):
        print(f"{name}: the answer should be a finite number.")
        return None
    return number


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
    if loss is None or safe_distance is None:
        print("Fill in both answers, then run this cell again.")
        return
    loss = _read_answer(loss, "loss")
    safe_distance = _read_answer(safe_distance, "safe_distance")
    if loss is None or safe_distance is None:
        return
    centres = np.array([[0.0, 0.0], [1.0, 0.0]])
    two = pl.Packing(centres, box=10.0, radius=np.array([0.5, 0.7]))
    expected_loss = pl.hinge_loss(two)
    if abs(loss - expected_loss) <= 1e-6:
        print("loss: right.")
    elif abs(loss - 2 * expected_loss) <= 1e-6:
        print("loss: not yet. Hint: that is the whole overlap; the hinge "
              "loss charges a pair half of it.")
    else:
        print("loss: not yet. Hint: the overlap is the sum of the radii "
              "minus the distance between the centres.")
    if abs(safe_distance - float(np.sum(two.radii))) <= 1e-6:
        print("safe_distance: right.")
    else:
        print("safe_distance: not yet. Hint: examples are safe once the "
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
    if largest is None or mean is None:
        print("Fill in both answers, then run this cell again.")
        return
    largest = _read_answer(largest, "largest")
    mean = _read_answer(mean, "mean")
    if largest is None or mean is None:
        return
    # two perpendicular unit pushes: |S| = sqrt(2)
    corner = pl.Packing(np.array([[0.0, 0.0], [0.8, 0.0], [0.0, 0.8]]),
                        box=10.0)
    push = float(np.linalg.norm(pl.loss_gradient(corner)[0])) * 2
    if np.isclose(largest, eps * push, rtol=1e-2):
        print("largest: right.")
    elif np.isclose(largest, eps, rtol=1e-2) or np.isclose(largest, 2 * eps,
                                                           rtol=1e-2):
        print("largest: not yet. Hint: the two pushes are added as vectors; "
              "how long is the sum of two perpendicular unit vectors?")
    else:
        print("largest: not yet. Hint: the step is u times the sum of the "
              "unit vectors, with u at most eps.")
    if np.isclose(mean, eps * push / 2, rtol=1e-2):
        print("mean: right.")
    else:
        print("mean: not yet. Hint: only the factor u is random; what is "
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
    answers = (particle_var_y, pair_var_x, pair_var_y)
    if any(a is None for a in answers):
        print("Fill in all three answers, then run this cell again.")
        return
    names = ("particle_var_y", "pair_var_x", "pair_var_y")
    values = [_read_answer(a, n) for a, n in zip(answers, names)]
    if any(v is None for v in values):
        return
    # one coin of variance q(1 - q) per sphere or per pair, steps of lr / 2
    # times S_1 = (0, sqrt 2) or times each of two perpendicular unit vectors
    coin = batch_fraction * (1 - batch_fraction) * lr**2 / 4
    expected = (2 * coin, coin, coin)
    hints = {
        "particle_var_y": "one coin scales the whole sum S_1 = (0, sqrt 2); "
                          "the variance picks up |S_1|^2.",
        "pair_var_x": "each pair has its own coin; add the variances of the "
                      "two pushes, each (lr/2)^2 q(1-q) times n n^T.",
        "pair_var_y": "each pair has its own coin; add the variances of the "
                      "two pushes, each (lr/2)^2 q(1-q) times n n^T.",
    }
    for name, mine, right in zip(names, values, expected):
        if np.isclose(mine, right, rtol=2e-2):
            print(f"{name}: right.")
        elif np.isclose(mine, 4 * right, rtol=2e-2):
            print(f"{name}: not yet. Hint: the step is -lr times the "
                  "gradient, and the gradient is -S/2, not -S.")
        else:
            print(f"{name}: not yet. Hint: {hints[name]}")


def check_sgd_skewness(skewness, batch_fraction=0.75):
    """Check the skewness of one particle-wise SGD step.

    Parameters
    ----------
    skewness : float
        Your skewness of the step along S_i.
    batch_fraction : float, optional
        The batch fraction. Default 0.75, the value that matches BRO.
    """
    if skewness is None:
        print("Fill in your answer, then run this cell again.")
        return
    value = _read_answer(skewness, "skewness")
    if value is None:
        return
    b = batch_fraction
    expected = (1 - 2 * b) / np.sqrt(b * (1 - b))
    if abs(value - expected) <= 5e-3:
        print("Right: the lopsided coin gives a long tail towards small "
              "steps.")
    elif abs(value + expected) <= 5e-3:
        print("Not yet: the size is right, the sign is not. Hint: the rare "
              "value of the step, 0, lies below the mean.")
    elif abs(value - b * (1 - b) * (1 - 2 * b)) <= 5e-3:
        print("Not yet: that is the third central moment. Hint: the "
              "skewness divides it by the standard deviation cubed.")
    else:
        print("Not yet. Hint: use the third central moment of the coin and "
              "divide by (b_f (1 - b_f))**1.5; the step length cancels.")
