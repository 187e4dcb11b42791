"""packing_lite: how SGD and biased random organization pack spheres.

Spheres of radius R_i in a periodic box overlap when their centre distance
is below R_i + R_j. The hinge loss sums half of every overlap; SGD moves a
random batch of the active (overlapping) spheres down its gradient, and
biased random organization (BRO) kicks every active sphere away from its
partners by a random amount. Both stop in an absorbing state without
overlaps below a critical volume fraction and stay active above it.

Lengths are in particle diameters: the default radius is 0.5, and the kick
size ``eps`` and the learning rate ``lr`` are fractions of a diameter.
"""

from .dynamics import (
    RunInterrupted, RunResult, continue_run, run_bro, run_gd, run_sde, run_sgd,
    sample_displacements,
)
from .loss import active_mask, contact_numbers, hinge_loss, loss_gradient, pair_loss
from .io import load, save
from .observables import structure_factor
from .neighbors import brute_force_pairs, overlapping_pairs
from .packing import Packing, ball_volume, random_packing

from . import analysis, observables, views, widgets
from .analysis import (
    EXPONENT_SETS, collapse_quality, extrapolate_to_zero, fit_collapse,
    fit_critical_point, phi_c_half_absorbed, relaxation_time, rescale_activity,
    rescale_tau, steady_state,
)
from .sweep import load_run, load_sweep, run_sweep, summarize_sweep

__version__ = "0.1.0"

__all__ = [
    "Packing", "random_packing", "ball_volume",
    "hinge_loss", "loss_gradient", "active_mask", "contact_numbers", "pair_loss",
    "overlapping_pairs", "brute_force_pairs",
    "save", "load",
    "RunResult", "RunInterrupted", "run_bro", "run_sgd", "run_gd", "run_sde",
    "sample_displacements", "continue_run",
    "analysis", "EXPONENT_SETS", "steady_state", "relaxation_time",
    "fit_critical_point", "phi_c_half_absorbed", "extrapolate_to_zero",
    "rescale_activity", "rescale_tau", "collapse_quality", "fit_collapse",
    "run_sweep", "load_sweep", "load_run", "summarize_sweep",
    "observables", "structure_factor", "views", "widgets",
]
