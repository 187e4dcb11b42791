"""Pictures of packings and runs: a 3D view, flat drawings and activity plots.

Three ways to look at a packing:

- :func:`packing_view`, a rotatable 3D view (py3Dmol) of every sphere at its
  radius, active spheres coloured, with the box outline; in a page whose
  viewer script cannot load or draw (no WebGL), a still picture takes its
  place;
- :func:`plot_packing_3d`, the same scene as a still Matplotlib figure;
- :func:`plot_packing`, discs in 2D or cross-sections with a plane in 3D.

:func:`plot_activity` draws the active fraction f_a of one or more runs
against the step. Lengths are in particle diameters.

Matplotlib and py3Dmol are imported inside the functions that use them, so
``import packing_lite`` stays light. Colours come from the Okabe-Ito
palette, which stays distinguishable with the common colour-vision
deficiencies; active spheres are orange and inactive ones blue throughout.
"""

import base64
import io
import math
import numbers
import re
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from .dynamics import RunResult, check_run
from .loss import active_mask
from .packing import check_packing
from ._validation import check_flag, check_int, check_real

__all__ = [
    "PALETTE", "ACTIVE_COLOR", "INACTIVE_COLOR", "SceneGroup", "PackingView",
    "packing_scene", "packing_view", "plot_packing_3d", "plot_packing",
    "plot_activity",
]

#: Okabe-Ito colours by name.
PALETTE = {
    "blue": "#0072B2", "orange": "#E69F00", "green": "#009E73",
    "vermilion": "#D55E00", "sky": "#56B4E9", "purple": "#CC79A7",
    "yellow": "#F0E442", "grey": "#999999", "black": "#000000",
}
ACTIVE_COLOR = PALETTE["orange"]
INACTIVE_COLOR = PALETTE["blue"]

# cycle for several runs in one plot: well separated hues first
_RUN_COLORS = ("blue", "orange", "vermilion", "green", "purple", "sky", "grey")
# the largest 3D view, in pixels a side (its still picture is as large)
_MAX_PIXELS = 4000


# ---------------------------------------------------------------- checks


def _check_packing(packing, name="packing", dims=None):
    check_packing(packing, name)
    if dims is not None and packing.dim not in dims:
        allowed = " or ".join(str(d) for d in dims)
        raise ValueError(f"{name} must be {allowed}-dimensional, got dim={packing.dim}")


def _resolve_active(packing, active):
    """The (n,) bool mask of active spheres: computed, or checked if given."""
    if active is None:
        return active_mask(packing)
    mask = np.asarray(active)
    if mask.shape != (packing.n,) or mask.dtype != np.bool_:
        raise ValueError(
            f"active must be a bool array of shape ({packing.n},), got "
            f"{mask.dtype} with shape {mask.shape}"
        )
    return mask


def _is_color(value):
    """Whether matplotlib reads ``value`` as one colour."""
    from matplotlib.colors import is_color_like

    try:
        return bool(is_color_like(value))
    except (TypeError, ValueError):
        return False


def _check_color(value, name):
    """A colour matplotlib knows: a name, a hex code or an RGB(A) tuple."""
    if not _is_color(value):
        raise ValueError(f"{name} must be a colour matplotlib knows (a name "
                         f"such as 'black', a hex code such as '#E69F00' or an "
                         f"RGB tuple), got {value!r}")
    return value


def _hex_color(value, name):
    """A colour as '#rrggbb', the form the 3D viewer reads as matplotlib
    does (it has its own meaning for some names); a hex code given is kept
    as written. Its alpha is not used: opacity is a parameter of its own."""
    from matplotlib.colors import to_hex

    value = _check_color(value, name)
    if isinstance(value, str) and value.strip().lower() == "none":
        raise ValueError(f"{name} must be a colour the 3D view can draw, got "
                         "'none'")
    if isinstance(value, str) and re.fullmatch(r"#[0-9a-fA-F]{6}", value):
        return value
    return to_hex(value, keep_alpha=False)


def _check_linestyle(value, name):
    """A matplotlib line style; a dash pattern (offset, (on, off, ...)) of
    finite lengths >= 0, some on and off length above 0.1 point (matplotlib
    draws others only when the figure is rendered, or fails then)."""
    from matplotlib.lines import Line2D

    message = (f"{name} must be a matplotlib line style such as '-', '--', "
               f"':', 'dashdot' or a dash pattern (offset, (on, off, ...)) in "
               f"points, got {value!r}")
    try:
        Line2D([], [], linestyle=value)
    except (TypeError, ValueError):
        raise ValueError(message) from None
    if isinstance(value, tuple):
        try:
            offset = float(value[0])
            dashes = [float(d) for d in value[1]]
        except (TypeError, ValueError, IndexError):
            raise ValueError(message) from None
        lengths = all(math.isfinite(d) and d >= 0 for d in dashes)
        # one length is on and off alike; two or more need both above 0.1
        drawn = bool(dashes) and (
            dashes[0] >= 0.1 if len(dashes) == 1
            else max(dashes) >= 0.1 and sum(dashes) - max(dashes) >= 0.1)
        if not (math.isfinite(offset) and lengths and drawn):
            raise ValueError(message)
    return value


def _check_figsize(value):
    """Width and height of a new figure in inches, each in (0, 100]; None
    is matplotlib's default size."""
    if value is None:
        return None
    if isinstance(value, (str, bytes)) or not hasattr(value, "__len__") \
            or len(value) != 2:
        raise ValueError(f"figsize must be (width, height) in inches, got "
                         f"{value!r}")
    return tuple(check_real(v, f"figsize[{k}]", low=0.0, high=100.0,
                            high_open=False) for k, v in enumerate(value))


def _check_axes(ax, three_d=False):
    """A matplotlib Axes: plain x-y Axes for the flat plots, 3D Axes for
    plot_packing_3d."""
    from matplotlib.axes import Axes

    if not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes, got {type(ax).__name__}")
    if three_d and ax.name != "3d":
        raise ValueError(f"ax must be a 3D Axes (made with projection='3d'), "
                         f"got projection {ax.name!r}")
    if not three_d and ax.name != "rectilinear":
        raise ValueError(f"ax must be plain x-y Axes, got projection {ax.name!r}"
                         + ("; plot_packing_3d draws on 3D Axes"
                            if ax.name == "3d" else ""))
    return ax


def _check_fraction(value, name):
    return check_real(value, name, low=0.0, high=1.0, high_open=False)


# ---------------------------------------------------------------- 3D view


@dataclass(frozen=True)
class SceneGroup:
    """Spheres drawn alike in the 3D view.

    Attributes
    ----------
    indices : ndarray of int, shape (m,)
        Which spheres of the packing belong to the group.
    positions : ndarray, shape (m, 3)
        Their centres, in diameters.
    radius : float
        Drawn radius of each sphere, in diameters.
    color : str
        Fill colour, as '#rrggbb'.
    opacity : float
        1 is opaque.
    active : bool
        Whether the group holds active spheres.
    """

    indices: np.ndarray
    positions: np.ndarray
    radius: float
    color: str
    opacity: float
    active: bool

    def xyz(self):
        """The group as XYZ-format text, one line per sphere, each centre
        to 1e-4 of the radius or better, at any length scale (d significant
        digits are within 5 x 10^-d of the largest coordinate)."""
        label = "A" if self.active else "I"
        lines = [str(len(self.positions)), f"{label} r={self.radius:.6g}"]
        largest = float(np.abs(self.positions).max(initial=0.0))
        ratio = max(largest, self.radius) / (2e-5 * self.radius)
        digits = min(17, max(4, math.ceil(math.log10(ratio))))
        lines += [f"{label} {x:.{digits}g} {y:.{digits}g} {z:.{digits}g}"
                  for x, y, z in self.positions]
        return "\n".join(lines)


def packing_scene(packing, active=None, active_color=ACTIVE_COLOR,
                  inactive_color=INACTIVE_COLOR, inactive_scale=0.6,
                  inactive_opacity=0.5):
    """Split a 3D packing into groups of spheres that are drawn alike.

    Spheres with the same radius and the same state (active or not) form
    one group, so a packing of equal spheres gives at most two groups and
    a 50:50 mixture at most four.

    Parameters
    ----------
    packing : Packing
        A 3D packing.
    active : ndarray of bool, shape (n,), optional
        Which spheres to colour as active; by default those that overlap
        another (:func:`packing_lite.active_mask`).
    active_color, inactive_color : colour
        Colours of the two kinds of sphere: anything matplotlib reads as a
        colour (a name, a hex code, an RGB tuple); kept as '#rrggbb'.
    inactive_scale : float, default 0.6
        Inactive spheres are drawn at this fraction of their radius, in
        (0, 1], so that the active ones stand out; 1 draws every sphere at
        its radius.
    inactive_opacity : float, default 0.5
        Opacity of the inactive spheres, in (0, 1].

    Returns
    -------
    list of SceneGroup
        Active groups first; every sphere appears in exactly one group.
    """
    _check_packing(packing, dims=(3,))
    mask = _resolve_active(packing, active)
    active_color = _hex_color(active_color, "active_color")
    inactive_color = _hex_color(inactive_color, "inactive_color")
    inactive_scale = check_real(inactive_scale, "inactive_scale", low=0.0,
                                high=1.0, high_open=False)
    inactive_opacity = _check_fraction(inactive_opacity, "inactive_opacity")

    groups = []
    radii = np.asarray(packing.radii)
    for state in (True, False):
        chosen = np.flatnonzero(mask == state)
        for radius in np.unique(radii[chosen]):
            idx = chosen[radii[chosen] == radius]
            drawn = float(radius) * (1.0 if state else inactive_scale)
            groups.append(SceneGroup(
                indices=idx, positions=np.asarray(packing.positions)[idx],
                radius=drawn, color=active_color if state else inactive_color,
                opacity=1.0 if state else inactive_opacity, active=state,
            ))
    return groups


class PackingView:
    """A 3D view of a packing with a still picture for pages without it.

    Displaying the object in a notebook shows the rotatable py3Dmol view.
    A still picture of the same scene fills the viewer's box until the
    viewer's script has loaded, and stays there when it cannot load or
    cannot draw: a reader whose browser runs no scripts or has no WebGL, a
    static notebook renderer, or a page without access to 3Dmol.js sees the
    picture instead of an empty box.

    Attributes
    ----------
    view : py3Dmol.view
        The underlying viewer, for further styling.
    scene : list of SceneGroup
        What is drawn.
    fallback_png : bytes or None
        The still picture, PNG encoded.
    """

    def __init__(self, view, scene, fallback_png):
        self.view = view
        self.scene = scene
        self.fallback_png = fallback_png

    def _repr_html_(self):
        page = self.view.write_html()  # the viewer's HTML and script
        if self.fallback_png is None:
            return page
        box = page.find('<div id="3dmolviewer_')
        warning = page.find('<p id="3dmolwarning_')
        warning_end = page.find("</p>", warning)
        if min(box, warning, warning_end) < 0:  # unknown py3Dmol layout
            return page + self._still("")
        uid = page[box:].split('"')[1].split("_", 1)[1]
        # py3Dmol's script removes its warning paragraph as soon as it runs,
        # loaded or not: empty it, and let the still picture beside it cover
        # the box until the viewer has actually loaded
        opening = page[warning:page.find(">", warning) + 1].split(" style=")[0]
        page = (page[:warning] + opening.rstrip(">") + "></p>"
                + self._still(uid) + page[warning_end + len("</p>"):])
        # The viewer draws only where the browser gives it WebGL; where it
        # does not, 3Dmol.js loads and then fails, and the picture stays.
        hide = (
            "<script>if (typeof $3Dmolpromise !== 'undefined') "
            "{ $3Dmolpromise.then(function () { var gl = false; try { "
            "var c = document.createElement('canvas'); gl = !!(c.getContext("
            "'webgl2') || c.getContext('webgl')); } catch (e) {} if (!gl) "
            "return; var s = document."
            f"getElementById('packing-still-{uid}'); if (s) s.remove(); }}); }}"
            "</script>"
        )
        return page + hide

    def _still(self, uid):
        data = base64.b64encode(self.fallback_png).decode("ascii")
        return (
            f'<span id="packing-still-{uid}" style="position:absolute;'
            'inset:0;display:flex;align-items:center;justify-content:center;'
            'background:white"><img src="data:image/png;base64,'
            f'{data}" style="max-width:100%;max-height:100%" alt="Still '
            'picture of the packing: active spheres full size, inactive ones '
            'smaller and translucent."></span>'
        )

    def _repr_mimebundle_(self, include=None, exclude=None):
        page = self._repr_html_()
        bundle = {"text/html": page, "application/3dmoljs_load.v0": page}
        if self.fallback_png is not None:
            bundle["image/png"] = self.fallback_png
        return bundle

    def show(self):
        """Display the view (the same as leaving it last in a cell)."""
        from IPython.display import display

        display(self)

    def __repr__(self):
        count = sum(len(g.indices) for g in self.scene)
        active = sum(len(g.indices) for g in self.scene if g.active)
        return f"PackingView({count} spheres, {active} active)"


def packing_view(packing, active=None, width="100%", height=450,
                 active_color=ACTIVE_COLOR, inactive_color=INACTIVE_COLOR,
                 inactive_scale=0.6, inactive_opacity=0.5, fallback=True):
    """A rotatable 3D view of a packing, active spheres highlighted.

    Every sphere is drawn at its radius (inactive ones scaled by
    ``inactive_scale``) inside a wireframe outline of the periodic box.
    Drag to rotate, scroll to zoom.

    Parameters
    ----------
    packing : Packing
        A 3D packing.
    active : ndarray of bool, shape (n,), optional
        Spheres to highlight; by default those that overlap another.
    width : int or str, default "100%"
        Width of the viewer: pixels (50 to 4000) or a CSS percentage such
        as "100%", which fits the page, also on a phone.
    height : int, default 450
        Height of the viewer in pixels, 50 to 4000.
    active_color, inactive_color, inactive_scale, inactive_opacity
        As in :func:`packing_scene`.
    fallback : bool, default True
        Embed a still picture (:func:`plot_packing_3d`) that is shown where
        the viewer's script cannot run.

    Returns
    -------
    PackingView
        Shows itself when it is the last expression of a cell.
    """
    import py3Dmol

    width = _check_width(width)
    height = check_int(height, "height", minimum=50, maximum=_MAX_PIXELS)
    fallback = check_flag(fallback, "fallback")
    scene = packing_scene(packing, active, active_color, inactive_color,
                          inactive_scale, inactive_opacity)

    view = py3Dmol.view(width=width, height=height)
    for group in scene:
        view.addModel(group.xyz(), "xyz")
        view.setStyle({"model": -1}, {"sphere": {
            "radius": group.radius, "color": group.color,
            "opacity": group.opacity}})
    half, side = packing.box / 2, packing.box
    view.addBox({"center": {"x": half, "y": half, "z": half},
                 "dimensions": {"w": side, "h": side, "d": side},
                 "color": "black", "wireframe": True})
    view.setBackgroundColor("white")
    view.zoomTo()

    png = None
    if fallback:
        png = _figure_png(plot_packing_3d(
            packing, active=_resolve_active(packing, active),
            active_color=active_color, inactive_color=inactive_color,
            inactive_scale=inactive_scale, inactive_opacity=inactive_opacity,
            # at least 3 x 2.5 inches: the picture scales down in the page
            figsize=(max(width / 100, 3.0) if isinstance(width, int) else 6.0,
                     max(height / 100, 2.5))).figure, dpi=100)
    return PackingView(view, scene, png)


def _check_width(width):
    """Pixels as an int >= 50, or a percentage string such as '100%'."""
    if isinstance(width, str):
        # plain digits only: the text goes into the page's CSS as it is
        ok = (re.fullmatch(r"[0-9]+(\.[0-9]+)?%", width) is not None
              and 0 < float(width[:-1]) <= 100)
        if not ok:
            raise ValueError(f"width must be pixels (an int in [50, 4000]) or a "
                             f"percentage such as '100%', got {width!r}")
        return width
    return check_int(width, "width", minimum=50, maximum=_MAX_PIXELS)


def _figure_png(fig, dpi=110):
    """Render a Matplotlib figure to PNG bytes and close it."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def plot_packing_3d(packing, ax=None, active=None, active_color=ACTIVE_COLOR,
                    inactive_color=INACTIVE_COLOR, inactive_scale=0.6,
                    inactive_opacity=0.5, elev=20.0, azim=-60.0, figsize=(6, 4.5)):
    """A still 3D picture of a packing, the counterpart of :func:`packing_view`.

    Spheres are drawn as shaded markers whose size follows their radius
    (approximately: marker sizes do not shrink with perspective), sorted by
    depth so that near spheres hide far ones.

    Parameters
    ----------
    packing : Packing
        A 3D packing.
    ax : matplotlib 3D Axes, optional
        Axes made with ``projection="3d"``; a new figure by default.
    active, active_color, inactive_color, inactive_scale, inactive_opacity
        As in :func:`packing_scene`.
    elev, azim : float
        Viewing angles in degrees.
    figsize : tuple of 2 floats
        Size in inches of a new figure.

    Returns
    -------
    matplotlib Axes
    """
    import matplotlib.pyplot as plt
    from matplotlib.colors import to_rgba

    scene = packing_scene(packing, active, active_color, inactive_color,
                          inactive_scale, inactive_opacity)
    elev = check_real(elev, "elev", low=-90.0, high=90.0, low_open=False,
                      high_open=False)
    azim = check_real(azim, "azim")
    if ax is None:
        fig = plt.figure(figsize=_check_figsize(figsize), layout="constrained")
        ax = fig.add_subplot(projection="3d")
    else:
        _check_axes(ax, three_d=True)

    positions = np.concatenate([g.positions for g in scene])
    radii = np.concatenate([np.full(len(g.positions), g.radius) for g in scene])
    colors = np.concatenate([
        np.tile(to_rgba(g.color, g.opacity), (len(g.positions), 1)) for g in scene
    ])
    # marker area in points^2 for a sphere of radius r: the box spans about
    # 60 % of the axes width once projected
    fig = ax.figure
    width_pt = fig.get_figwidth() * 72 * ax.get_position().width
    scale = 0.6 * width_pt / packing.box
    ax.scatter(positions[:, 0], positions[:, 1], positions[:, 2],
               s=(2 * radii * scale) ** 2, c=colors, edgecolors="none",
               depthshade=True)
    _box_edges(ax, packing.box)
    ax.view_init(elev=elev, azim=azim)
    ax.set_xlim(0, packing.box)
    ax.set_ylim(0, packing.box)
    ax.set_zlim(0, packing.box)
    ax.set_box_aspect((1, 1, 1))
    ax.set_xlabel("$x$ [diameters]")
    ax.set_ylabel("$y$ [diameters]")
    ax.set_zlabel("$z$ [diameters]")
    return ax


def _box_edges(ax, side):
    corners = np.array([[x, y, z] for x in (0, side) for y in (0, side)
                        for z in (0, side)], dtype=float)
    for a in range(8):
        for b in range(a + 1, 8):
            if np.count_nonzero(corners[a] != corners[b]) == 1:
                ax.plot(*corners[[a, b]].T, color="black", lw=0.6)


# ---------------------------------------------------------------- flat


def plot_packing(packing, ax=None, active=None, z=None, colors=None,
                 active_color=ACTIVE_COLOR, inactive_color=INACTIVE_COLOR,
                 alpha=0.8, periodic=True, edgecolor="black", figsize=(5, 5)):
    """Draw a packing flat: discs in 2D, cross-sections with a plane in 3D.

    In 2D every disc is drawn at its radius. In 3D every sphere that
    reaches the plane ``z`` is drawn as its circular cross-section with
    that plane (the nearest periodic copy counts). Periodic copies near
    the edges fill in the box.

    Parameters
    ----------
    packing : Packing
        A 2D or 3D packing.
    ax : matplotlib Axes, optional
        Axes to draw on; a new figure by default.
    active : ndarray of bool, shape (n,), optional
        Which spheres count as active; by default those that overlap
        another.
    z : float, optional
        Height of the cutting plane in 3D, in diameters, in [0, box];
        the middle of the box by default. Not allowed in 2D.
    colors : sequence of colour strings, length n, optional
        One fill colour per sphere, replacing the active/inactive colours.
    active_color, inactive_color : colour
        Anything matplotlib reads as a colour.
    alpha : float, default 0.8
        Fill opacity, in (0, 1].
    periodic : bool, default True
        Also draw the periodic copies that overlap the box.
    edgecolor : str, default "black"
    figsize : tuple of 2 floats
        Size in inches of a new figure.

    Returns
    -------
    matplotlib Axes
    """
    import matplotlib.pyplot as plt
    from matplotlib.collections import PatchCollection

    _check_packing(packing, dims=(2, 3))
    mask = _resolve_active(packing, active)
    alpha = _check_fraction(alpha, "alpha")
    periodic = check_flag(periodic, "periodic")
    if edgecolor is not None:  # None: matplotlib's default
        edgecolor = _check_color(edgecolor, "edgecolor")
    if colors is None:
        on = _check_color(active_color, "active_color")
        off = _check_color(inactive_color, "inactive_color")
        colors = [on if m else off for m in mask]
    else:
        if isinstance(colors, str):
            raise TypeError("colors must be a sequence of one colour per "
                            "sphere; for one colour for all, use "
                            "active_color and inactive_color")
        colors = list(colors)
        if len(colors) != packing.n:
            raise ValueError(f"colors must have one entry per sphere "
                             f"({packing.n}), got {len(colors)}")
        for k, color in enumerate(colors):
            _check_color(color, f"colors[{k}]")
    box = packing.box
    x = np.asarray(packing.positions)
    r = np.asarray(packing.radii)
    if packing.dim == 3:
        z = box / 2 if z is None else check_real(z, "z", low=0.0, high=box,
                                                 low_open=False, high_open=False)
        dz = x[:, 2] - z
        dz -= box * np.round(dz / box)
        cut = np.abs(dz) < r
        centres, drawn = x[cut, :2], np.sqrt(r[cut] ** 2 - dz[cut] ** 2)
        colors = [colors[i] for i in np.flatnonzero(cut)]
    else:
        if z is not None:
            raise ValueError("z is the height of the cutting plane in 3D; "
                             "leave it out for a 2D packing")
        centres, drawn = x, r
    if ax is None:
        _, ax = plt.subplots(figsize=_check_figsize(figsize), layout="constrained")
    else:
        _check_axes(ax)

    circles, fills = [], []
    shifts = ([(sx, sy) for sx in (-box, 0.0, box) for sy in (-box, 0.0, box)]
              if periodic else [(0.0, 0.0)])
    for (cx, cy), rad, color in zip(centres, drawn, colors):
        for sx, sy in shifts:
            px, py = cx + sx, cy + sy
            if -rad < px < box + rad and -rad < py < box + rad:
                circles.append(plt.Circle((px, py), rad))
                fills.append(color)
    ax.add_collection(PatchCollection(circles, facecolors=fills, alpha=alpha,
                                      edgecolors=edgecolor, linewidths=0.5))
    ax.set_xlim(0, box)
    ax.set_ylim(0, box)
    ax.set_aspect("equal")
    ax.set_xlabel("$x$ [diameters]")
    ax.set_ylabel("$y$ [diameters]")
    return ax


# ---------------------------------------------------------------- runs


def _as_runs(runs, labels):
    """A list of RunResult and a matching list of labels (or Nones)."""
    if isinstance(runs, RunResult):
        runs = [runs]
    if isinstance(runs, Mapping):
        if labels is not None:
            raise ValueError("labels come from the keys when runs is a mapping; "
                             "leave labels out")
        labels = [str(k) for k in runs]
        runs = list(runs.values())
    elif isinstance(runs, (str, bytes)) or not hasattr(runs, "__iter__"):
        raise TypeError(f"runs must be a RunResult, a sequence of them or a "
                        f"mapping of label to RunResult, got {type(runs).__name__}")
    else:
        runs = list(runs)
    if not runs:
        raise ValueError("runs must hold at least one RunResult")
    runs = [check_run(run, f"runs[{k}]", rule=False) for k, run in enumerate(runs)]
    if labels is None:
        labels = [None] * len(runs)
    if isinstance(labels, (str, bytes)):
        raise TypeError("labels must be a sequence of strings, one per run, "
                        f"got the string {labels!r}")
    labels = list(labels)
    if len(labels) != len(runs):
        raise ValueError(f"labels must have one entry per run ({len(runs)}), "
                         f"got {len(labels)}")
    return runs, labels


def _per_run(value, count, name, default, single=lambda v: False):
    """Broadcast one value (a string, a number, or what ``single`` says is
    one), or check a sequence of one value per run."""
    if value is None:
        return [default(k) for k in range(count)]
    if isinstance(value, (str, numbers.Real)) or single(value):
        return [value] * count
    value = list(value)
    if len(value) != count:
        raise ValueError(f"{name} must have one entry per run ({count}), "
                         f"got {len(value)}")
    return value


def plot_activity(runs, ax=None, labels=None, colors=None, linestyles=None,
                  time_factor=None, xlabel=None, log_time=True, legend=True,
                  figsize=(6.4, 3.8), **line_kwargs):
    """Plot the active fraction f_a of runs against the step.

    Runs end where they stop, so an absorbed run's curve ends at its
    absorption step.

    Parameters
    ----------
    runs : RunResult, sequence of RunResult, or mapping label -> RunResult
        Each is checked as a whole (its records against its steps, its
        seed, its packing) before anything is drawn; its params need not
        describe a run that could be continued.
    ax : matplotlib Axes, optional
        Axes to draw on; a new figure by default.
    labels : sequence of str, optional
        Legend entries, one per run (taken from the keys of a mapping).
    colors, linestyles : str or sequence, optional
        One value for all runs or one per run; colours cycle through the
        Okabe-Ito palette by default, lines are solid.
    time_factor : float or sequence of float, optional
        Multiply each run's steps by this (> 0), for example by the mean
        drift per step; give ``xlabel`` to match.
    xlabel : str, optional
        Label of the time axis; "step $t + 1$" (logarithmic) or
        "step $t$" by default.
    log_time : bool, default True
        Logarithmic time axis, plotting t + 1 so that step 0 shows.
    legend : bool, default True
        Draw a legend when labels are given.
    figsize : tuple of 2 floats
        Size in inches of a new figure.
    **line_kwargs
        Passed to ``Axes.plot`` (for example ``lw``).

    Returns
    -------
    matplotlib Axes
    """
    import matplotlib.pyplot as plt

    runs, labels = _as_runs(runs, labels)
    count = len(runs)
    taken = {"color", "c", "linestyle", "ls", "label"} & set(line_kwargs)
    if taken:
        raise TypeError(f"give colours, line styles and labels with colors=, "
                        f"linestyles= and labels=, not {sorted(taken)}")

    # an RGB tuple is one colour for all runs, a list one colour per run
    colors = _per_run(colors, count, "colors",
                      lambda k: PALETTE[_RUN_COLORS[k % len(_RUN_COLORS)]],
                      single=lambda v: not isinstance(v, list) and _is_color(v))
    colors = [_check_color(c, "colors" if count == 1 else f"colors[{k}]")
              for k, c in enumerate(colors)]
    # a dash pattern (offset, (on, off, ...)) is one style for all runs
    linestyles = _per_run(linestyles, count, "linestyles", lambda k: "-",
                          single=lambda v: isinstance(v, tuple) and len(v) == 2
                          and isinstance(v[0], numbers.Real))
    linestyles = [_check_linestyle(v, "linestyles" if count == 1
                                   else f"linestyles[{k}]")
                  for k, v in enumerate(linestyles)]
    factors = _per_run(time_factor, count, "time_factor", lambda k: 1.0)
    factors = [check_real(f, "time_factor", low=0.0) for f in factors]
    log_time = check_flag(log_time, "log_time")
    legend = check_flag(legend, "legend")
    if ax is None:
        _, ax = plt.subplots(figsize=_check_figsize(figsize), layout="constrained")
    else:
        _check_axes(ax)

    if "linewidth" not in line_kwargs:
        line_kwargs.setdefault("lw", 2)
    for run, label, color, style, factor in zip(runs, labels, colors,
                                                 linestyles, factors):
        t = run.times + (1 if log_time else 0)
        ax.plot(t * factor, run.active_fraction, color=color, ls=style,
                label=label, **line_kwargs)
    if log_time:
        ax.set_xscale("log")
    ax.set_ylim(-0.02, 1.02)
    if xlabel is None:
        xlabel = "step $t + 1$" if log_time else "step $t$"
    ax.set_xlabel(xlabel)
    ax.set_ylabel("active fraction $f_a$")
    if legend and any(label is not None for label in labels):
        ax.legend(fontsize=9)
    return ax
