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
