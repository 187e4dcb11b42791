"""Views and widgets: what they draw, their still fallbacks, their errors."""

import dataclasses
import json
import re
import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import packing_lite as pl  # noqa: E402
from packing_lite import views, widgets  # noqa: E402

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture
def pair_and_loner():
    """Spheres 0 and 1 overlap, sphere 2 is alone; box 10."""
    return pl.Packing([[1.0, 1.0, 1.0], [1.8, 1.0, 1.0], [5.0, 5.0, 5.0]],
                      box=10.0)


@pytest.fixture
def mixture():
    """A 3D 50:50 mixture: radii 0.5 and 0.7, some overlapping."""
    rng = np.random.default_rng(3)
    positions = rng.uniform(0, 6.0, size=(40, 3))
    radius = np.r_[np.full(20, 0.5), np.full(20, 0.7)]
    return pl.Packing(positions, box=6.0, radius=radius)


def model_lines(view):
    """Atom lines of every XYZ model added to a py3Dmol view."""
    lines = []
    for text in re.findall(r'addModel\((".*?(?<!\\)")', view.view.startjs):
        body = json.loads(text).splitlines()
        lines.extend(body[2:])
    return lines


def model_colors(view):
    """The sphere colour set for each model, in order."""
    return [json.loads(m)["sphere"]["color"] for m in
            re.findall(r'setStyle\(\{"model": -1\},(\{.*?\}\})\)', view.view.startjs)]


# ---------------------------------------------------------------- scene


def test_scene_splits_active_and_inactive(pair_and_loner):
    scene = views.packing_scene(pair_and_loner)
    assert [g.active for g in scene] == [True, False]
    assert scene[0].indices.tolist() == [0, 1]
    assert scene[1].indices.tolist() == [2]
    assert scene[0].color == views.ACTIVE_COLOR
    assert scene[1].color == views.INACTIVE_COLOR
    assert scene[0].radius == 0.5 and scene[1].radius == pytest.approx(0.3)


def test_scene_groups_by_radius(mixture):
    scene = views.packing_scene(mixture, inactive_scale=1.0)
    indices = np.sort(np.concatenate([g.indices for g in scene]))
    assert indices.tolist() == list(range(mixture.n))
    for group in scene:
        assert np.allclose(mixture.radii[group.indices], group.radius)
        assert np.array_equal(group.positions, mixture.positions[group.indices])


def test_view_has_one_sphere_per_particle_with_its_colour():
    packing = pl.random_packing(60, phi=0.3, dim=3, seed=5)
    active = pl.active_mask(packing)
    view = views.packing_view(packing, fallback=False)
    lines = model_lines(view)
    assert len(lines) == packing.n
    assert sum(line.startswith("A ") for line in lines) == active.sum()
    colors = model_colors(view)
    assert colors == [g.color for g in view.scene]
    # every listed position is one of the packing's centres
    listed = np.array([[float(v) for v in line.split()[1:]] for line in lines])
    expected = np.concatenate([packing.positions[active],
                               packing.positions[~active]])
    assert np.allclose(listed, expected, atol=1e-4)
    assert '"wireframe": true' in view.view.startjs


def test_view_embeds_still_picture_in_place_of_the_warning(pair_and_loner):
    view = views.packing_view(pair_and_loner, width=200, height=150)
    assert view.fallback_png.startswith(PNG_MAGIC)
    page = view._repr_html_()
    assert page.count("data:image/png;base64,") == 1
    assert "failed to load" not in page
    # the still picture sits beside py3Dmol's warning (which its script
    # removes at once), and is removed only once the viewer has loaded
    still = page.index('id="packing-still-')
    assert page.index("</p>", page.index('id="3dmolwarning_')) < still
    assert "$3Dmolpromise.then" in page[still:]
    # ... and has drawn: where the browser gives no WebGL it stays
    hide = page[page.index("$3Dmolpromise.then"):]
    assert hide.index("getContext('webgl')") < hide.index("if (!gl) return;") \
        < hide.index(".remove()")
    bundle = view._repr_mimebundle_()
    assert bundle["image/png"] == view.fallback_png
    assert "2 active" in repr(view) and "3 spheres" in repr(view)


def test_active_mask_can_be_given(pair_and_loner):
    scene = views.packing_scene(pair_and_loner,
                                active=np.array([False, False, True]))
    assert scene[0].indices.tolist() == [2]


@pytest.mark.parametrize("bad, match", [
    (dict(active=np.array([True, False])), "active must be a bool array"),
    (dict(active=np.array([1, 0, 1])), "active must be a bool array"),
    (dict(inactive_scale=0.0), "inactive_scale"),
    (dict(inactive_opacity=1.5), "inactive_opacity"),
    (dict(active_color=3), "active_color"),
    (dict(inactive_color="not-a-colour"), "inactive_color must be a colour"),
])
def test_scene_rejects_bad_input(pair_and_loner, bad, match):
    with pytest.raises((ValueError, TypeError), match=match):
        views.packing_scene(pair_and_loner, **bad)


def test_view_rejects_2d_and_non_packings():
    flat = pl.random_packing(10, phi=0.3, dim=2, seed=1)
    with pytest.raises(ValueError, match="packing must be 3-dimensional"):
        views.packing_view(flat)
    with pytest.raises(TypeError, match="packing must be a packing_lite.Packing"):
        views.packing_view(np.zeros((3, 3)))
    small = pl.random_packing(5, 0.1, seed=1)
    with pytest.raises(ValueError, match="width"):
        views.packing_view(small, width=10)
    with pytest.raises(ValueError, match="width must be pixels"):
        views.packing_view(small, width="wide")
    for bad in ("5_0%", " 50%", "1e2%", "0%", "101%", "\uff15\uff10%"):
        with pytest.raises(ValueError, match="percentage such as '100%'"):
            views.packing_view(small, width=bad)
    view = views.packing_view(small, width="80%", fallback=False)
    assert "width: 80%" in view._repr_html_()


# ---------------------------------------------------------------- figures


def test_plot_packing_3d_has_labelled_axes(pair_and_loner):
    ax = views.plot_packing_3d(pair_and_loner)
    assert "diameters" in ax.get_xlabel() and "diameters" in ax.get_zlabel()
    with pytest.raises(ValueError, match="3D Axes"):
        views.plot_packing_3d(pair_and_loner, ax=plt.subplots()[1])


def test_plot_packing_2d_draws_every_disc_and_its_copies():
    packing = pl.Packing([[0.2, 2.0], [2.0, 2.0]], box=4.0)
    ax = views.plot_packing(packing)
    (collection,) = ax.collections
    # the disc at x = 0.2 reaches past the left edge: one periodic copy
    assert len(collection.get_paths()) == 3
    ax = views.plot_packing(packing, periodic=False)
    assert len(ax.collections[-1].get_paths()) == 2
    assert ax.get_xlabel() == "$x$ [diameters]"


def test_plot_packing_slice_draws_cross_sections(pair_and_loner):
    ax = views.plot_packing(pair_and_loner, z=1.0)
    # the plane z = 1 cuts spheres 0 and 1 through their centres
    assert len(ax.collections[0].get_paths()) == 2
    with pytest.raises(ValueError, match="z must be in"):
        views.plot_packing(pair_and_loner, z=11.0)
    flat = pl.random_packing(5, phi=0.2, dim=2, seed=1)
    with pytest.raises(ValueError, match="z is the height"):
        views.plot_packing(flat, z=1.0)
    with pytest.raises(ValueError, match="colors must have one entry"):
        views.plot_packing(flat, colors=["red"])


def test_plot_activity_labels_and_curves():
    start = pl.random_packing(40, phi=0.3, dim=3, seed=2)
    runs = {"BRO": pl.run_bro(start, eps=0.1, steps=50, seed=1),
            "GD": pl.run_gd(start, lr=0.1, steps=50, seed=1)}
    ax = views.plot_activity(runs, linestyles=["-", "--"])
    assert ax.get_xlabel() == "step $t + 1$"
    assert ax.get_ylabel() == "active fraction $f_a$"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["BRO", "GD"]
    line = ax.get_lines()[0]
    assert np.array_equal(line.get_xdata(), runs["BRO"].times + 1)
    ax = views.plot_activity(runs["GD"], time_factor=0.1, log_time=False,
                             xlabel="drift [diameters]")
    assert np.allclose(ax.get_lines()[0].get_xdata(), 0.1 * runs["GD"].times)
    assert ax.get_legend() is None


def test_plot_activity_rejects_bad_input():
    run = pl.run_gd(pl.random_packing(10, phi=0.2, seed=1), lr=0.1, steps=5)
    with pytest.raises(ValueError, match="at least one"):
        views.plot_activity([])
    with pytest.raises(TypeError, match=r"runs\[1\] must be a RunResult"):
        views.plot_activity([run, "run"])
    with pytest.raises(ValueError, match="labels must have one entry"):
        views.plot_activity([run, run], labels=["a"])
    with pytest.raises(ValueError, match="time_factor"):
        views.plot_activity(run, time_factor=-1.0)
    with pytest.raises(ValueError, match=r"colors\[1\] must be a colour"):
        views.plot_activity([run, run], colors=["black", "blakc"])
    with pytest.raises(TypeError, match="ax must be a matplotlib Axes, got int"):
        views.plot_activity(run, ax=5)
    # a hand-made run whose records disagree with its steps
    broken = dataclasses.replace(run, steps=run.steps + 3)
    with pytest.raises(ValueError, match=r"times must .* end at steps"):
        views.plot_activity({"a": run, "b": broken})


def test_plot_activity_takes_one_colour_tuple_and_checks_styles_and_flags():
    run = pl.run_gd(pl.random_packing(10, phi=0.2, seed=1), lr=0.1, steps=5)
    ax = views.plot_activity([run, run], colors=(0.0, 0.45, 0.7))
    assert [tuple(line.get_color()) for line in ax.get_lines()] == [(0.0, 0.45, 0.7)] * 2
    ax = views.plot_activity(run, linestyles=(0, (1, 1)))
    assert len(ax.get_lines()) == 1
    ax = views.plot_activity([run, run], linestyles=("-", "--"), figsize=None,
                             linewidth=1)
    assert [line.get_linestyle() for line in ax.get_lines()] == ["-", "--"]
    assert [line.get_linewidth() for line in ax.get_lines()] == [1, 1]
    # a run whose params could not be continued can still be drawn
    views.plot_activity(dataclasses.replace(run, params={}))
    for bad, error, match in [
            (dict(linestyles="bogus"), ValueError, "linestyles must be a matplotlib line style"),
            (dict(color="red"), TypeError, r"with colors=.*\['color'\]"),
            (dict(labels="ab"), TypeError, "labels must be a sequence of strings"),
            (dict(legend="no"), TypeError, "legend must be True or False"),
            (dict(log_time=1), TypeError, "log_time must be True or False"),
            (dict(figsize=(0, 3)), ValueError, r"figsize\[0\] must be in \(0, 100\]"),
            (dict(figsize="big"), ValueError, r"figsize must be \(width, height\)")]:
        with pytest.raises(error, match=match):
            views.plot_activity(run, **bad)
    for runs in (None, 5, pl.random_packing(10, phi=0.2, seed=1)):
        with pytest.raises(TypeError, match="runs must be a RunResult, a sequence"):
            views.plot_activity(runs)
    backwards = dataclasses.replace(run, times=run.times[::-1].copy())
    with pytest.raises(ValueError, match=r"runs\[1\]\.times must increase"):
        views.plot_activity([run, backwards])
    # unsigned times that go back (a difference of them would wrap round)
    active = pl.run_bro(pl.random_packing(40, phi=0.6, seed=1), eps=0.01,
                        steps=50, seed=1, record_every=10)
    assert not active.absorbed
    zigzag = dataclasses.replace(
        active, times=np.array([0, 30, 10, 50], dtype=np.uint64),
        active_fraction=np.array([1.0, 0.5, 0.4, 0.3]),
        loss=np.array([1.0, 0.5, 0.4, 0.3]))
    with pytest.raises(ValueError, match=r"runs\[0\]\.times must increase"):
        views.plot_activity(zigzag)
    for field, value, match in [
            ("times", [[0], [1, 2]], r"runs\[0\]\.times must be a 1-D array"),
            ("loss", -active.loss, r"runs\[0\]\.loss must be finite and >= 0"),
            ("active_fraction", active.active_fraction + 1,
             r"runs\[0\]\.active_fraction must lie in \[0, 1\]$"),
            ("params", dict(active.params, n=np.array([1, 2])),
             r"runs\[0\]\.params give n=array")]:
        with pytest.raises(ValueError, match=match):
            views.plot_activity(dataclasses.replace(active, **{field: value}))
    for bad in [(0, (-5, 2)), (0, (0, 0)), (0, (1e-9, 1e-9)), (0, ()),
                (float("nan"), (5,)), (0, (float("nan"), 2))]:
        with pytest.raises(ValueError, match="linestyles must be a matplotlib"):
            views.plot_activity(run, linestyles=bad)


def test_xyz_keeps_centres_apart_at_any_length_scale():
    for radius in (1e-4, 0.5, 1e3):
        p = pl.random_packing(200, 0.3, dim=3, seed=1, radius=radius)
        drawn, exact = [], []
        for group in views.packing_scene(p):
            rows = group.xyz().splitlines()[2:]
            drawn += [[float(v) for v in row.split()[1:]] for row in rows]
            exact.append(group.positions)
        error = np.abs(np.array(drawn) - np.concatenate(exact)).max()
        assert error <= 1e-4 * radius


def test_tab_ids_follow_the_figures_and_never_repeat():
    one = widgets.figure_tabs({"a": line_figure(1)})
    two = widgets.figure_tabs({"a": line_figure(2)})
    again = widgets.FigureTabs(one.images, "a")

    def group(tabs):
        return re.search(r'name="(pl-tabs-([0-9a-f]{8})-\d+)"',
                         tabs._repr_html_()).groups()

    ids = [group(one), group(two), group(again), group(one)]
    # other figures, another digest; the same figures, the same digest
    assert ids[0][1] != ids[1][1]
    assert ids[0][1] == ids[2][1] == ids[3][1]
    # a new radio group at every display, the same tabs shown twice included
    assert len({full for full, _ in ids}) == 4


def test_3d_colours_are_hex_codes_as_matplotlib_reads_them(pair_and_loner):
    scene = views.packing_scene(pair_and_loner, active_color="C1",
                                inactive_color=(0.0, 0.0, 1.0))
    assert [g.color for g in scene] == ["#ff7f0e", "#0000ff"]
    assert views.packing_scene(pair_and_loner)[0].color == views.ACTIVE_COLOR
    with pytest.raises(ValueError, match="a colour the 3D view can draw"):
        views.packing_scene(pair_and_loner, active_color="none")


def test_smallest_view_draws_its_still_picture_without_warnings(pair_and_loner):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        view = views.packing_view(pair_and_loner, width=50, height=50)
    assert view.fallback_png.startswith(PNG_MAGIC)


def test_plot_packing_rejects_bad_axes_and_colours(pair_and_loner):
    with pytest.raises(TypeError, match="ax must be a matplotlib Axes, got int"):
        views.plot_packing(pair_and_loner, ax=5)
    fig = plt.figure()
    with pytest.raises(ValueError, match="plain x-y Axes, got projection '3d'; plot_packing_3d"):
        views.plot_packing(pair_and_loner, ax=fig.add_subplot(projection="3d"))
    with pytest.raises(ValueError, match="plain x-y Axes, got projection 'polar'"):
        views.plot_packing(pair_and_loner, ax=fig.add_subplot(projection="polar"))
    with pytest.raises(ValueError, match="3D Axes .* got projection 'rectilinear'"):
        views.plot_packing_3d(pair_and_loner, ax=fig.add_subplot())
    plt.close(fig)
    n = pair_and_loner.n
    with pytest.raises(ValueError, match=r"colors\[2\] must be a colour"):
        views.plot_packing(pair_and_loner, colors=["red"] * 2 + ["rde"] * (n - 2))
    with pytest.raises(TypeError, match="one colour per sphere"):
        views.plot_packing(pair_and_loner, colors="red")
    ax = views.plot_packing(pair_and_loner, colors=["red"] * (n - 1) + [(0, 0, 1)])
    assert ax.collections
    with pytest.raises(ValueError, match="edgecolor must be a colour"):
        views.plot_packing(pair_and_loner, edgecolor=5)
    with pytest.raises(TypeError, match="periodic must be True or False"):
        views.plot_packing(pair_and_loner, periodic="no")
    with pytest.raises(TypeError, match="fallback must be True or False"):
        views.packing_view(pair_and_loner, fallback="no")
    with pytest.raises(ValueError, match="width must be <= 4000"):
        views.packing_view(pair_and_loner, width=12_000)
    with pytest.raises(ValueError, match="height must be <= 4000"):
        views.packing_view(pair_and_loner, height=12_000)


# ---------------------------------------------------------------- widgets


def line_figure(a, b=1.0):
    fig, ax = plt.subplots(figsize=(2, 1.5))
    ax.plot([0, 1], [a, b])
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    return fig


def test_figure_tabs_html_without_scripts():
    tabs = widgets.figure_tabs({"a": line_figure(1), "b <2>": line_figure(2)},
                               selected="b <2>")
    page = tabs._repr_html_()
    assert page.count('type="radio"') == 2
    assert page.count("data:image/png;base64,") == 2
    assert "<script" not in page
    assert "b &lt;2&gt;" in page
    group = re.findall(r'name="([^"]+)"', page)
    assert len(group) == 2 and group[0] == group[1]
    assert re.findall(r'id="([^"]+)" checked', page) == [group[0] + "-1"]
    assert tabs._repr_png_() == tabs.images["b <2>"]
    assert plt.get_fignums() == []  # rendered and closed
    assert re.findall(r'alt="([^"]+)"', page) == ["Figure for a",
                                                 "Figure for b &lt;2&gt;"]
    titled = widgets.figure_tabs({"φ = 0.60": line_figure(1)},
                                 title="Activity & loss")._repr_html_()
    assert re.findall(r'alt="([^"]+)"', titled) == ["Activity &amp; loss, φ = 0.60"]


def test_figure_tabs_rejects_bad_input():
    with pytest.raises(ValueError, match="non-empty mapping"):
        widgets.figure_tabs({})
    with pytest.raises(TypeError, match="matplotlib Figure or PNG"):
        widgets.figure_tabs({"a": 3})
    with pytest.raises(ValueError, match="selected must be one of"):
        widgets.figure_tabs({"a": line_figure(1)}, selected="z")
    with pytest.raises(ValueError, match="must be a PNG"):
        widgets.figure_tabs({"a": b"not a png"})


def test_slider_with_tabs_precomputes_every_setting():
    calls = []

    def make(a, b):
        calls.append((a, b))
        return line_figure(a, b)

    panel = widgets.slider_with_tabs(
        make, {"a": [0.1, 0.2, 0.3], "b": [1, 2]},
        names={"a": "α"}, formats={"a": "{:.2f}"}, value={"a": 0.2})
    assert calls == [(a, b) for a in (0.1, 0.2, 0.3) for b in (1, 2)]
    assert panel.tabs.labels[0] == "α = 0.10, b = 1"
    assert panel.tabs.selected == "α = 0.20, b = 1"
    # the live figure starts from the precomputed one, no extra call
    sliders, out = panel.widget.children[:2], panel.widget.children[2]
    assert [s.value for s in sliders] == [0.2, 1]
    assert len(out.outputs) == 1
    assert len(calls) == 6
    # moving a slider reruns the computation and redraws
    sliders[1].value = 2
    assert calls[-1] == (0.2, 2) and len(out.outputs) == 1


def test_live_values_extend_the_slider():
    panel = widgets.slider_with_tabs(
        line_figure, {"a": [1, 3]}, value={"a": 1},
        live_values={"a": [1, 2, 3, 4]})
    assert len(panel.tabs.labels) == 2
    assert len(panel.widget.children[0].options) == 4


@pytest.mark.parametrize("controls, kwargs, error, match", [
    ({}, {}, ValueError, "non-empty mapping"),
    ({"a": []}, {}, ValueError, "at least one value"),
    ({"a": "abc"}, {}, TypeError, "sequence of values"),
    ({"a b": [1]}, {}, ValueError, "valid parameter name"),
    ({"a": [1, 2]}, {"value": {"a": 5}}, ValueError, "not one of"),
    ({"a": [1, 2]}, {"value": {"c": 1}}, ValueError, "not controls"),
    ({"a": [1, 2]}, {"names": {"c": "γ"}}, ValueError, "not controls"),
    ({"a": [1, 2]}, {"live_values": {"a": [2, 3]}, "value": {"a": 1}},
     ValueError, "starting value"),
    ({"a": [1, 2, 1]}, {}, ValueError, r"holds 1 and 1, which compare equal"),
    ({"a": [0.601, 0.604]}, {"formats": {"a": "{:.2f}"}}, ValueError,
     r"0.601 and 0.604 both read '0.60'.*formats\['a'\]"),
    ({"a": [1, 2]}, {"live_values": {"a": [1, 2, 2]}, "value": {"a": 1}},
     ValueError, r"live_values\['a'\] holds 2 and 2"),
    ({"a": ["1, q = 2", "1"], "q": ["3", "2, q = 3"]}, {}, ValueError,
     "both read 'a = 1, q = 2, q = 3'"),
    ({"a": [None, 10]}, {}, ValueError, r"controls\['a'\] holds None"),
    ({"a": [1]}, {"live_values": {"a": [1, None]}}, ValueError,
     r"live_values\['a'\] holds None"),
    ({"a": [1]}, {"title": 5}, TypeError, "title must be a string, got int"),
    ({"a": [1]}, {"dpi": 100_000}, ValueError, "dpi must be <= 1000"),
    ({"a": [1]}, {"progress": "yes"}, TypeError, "progress must be True or False"),
    ({"a": [0.5, 1.0, 1, 8]}, {}, ValueError,
     r"controls\['a'\] holds 1.0 and 1, which compare equal"),
    ({"a": [0, False]}, {}, ValueError, "holds 0 and False, which compare equal"),
    ({"a": [0.1, float("nan")]}, {}, ValueError, "holds nan, which is not equal"),
    ({"a": [np.array([1, 0]), np.array([0, 1])]}, {}, ValueError,
     r"controls\['a'\] must hold single values"),
    ({"a": [1]}, {"live_values": {"a": [1, 1.0, 3]}}, ValueError,
     r"live_values\['a'\] holds 1 and 1.0"),
    ({"a": [1, 2]}, {"value": 1}, TypeError, "value must be a mapping"),
])
def test_slider_with_tabs_rejects_bad_input(controls, kwargs, error, match):
    with pytest.raises(error, match=match):
        widgets.slider_with_tabs(line_figure, controls, **kwargs)


def test_numpy_arrays_of_values_are_sliders_of_plain_numbers():
    panel = widgets.slider_with_tabs(line_figure, {"a": np.array([0.5, 0.75])})
    assert panel.tabs.labels == ["a = 0.5", "a = 0.75"]
    assert [type(s["a"]) for s in panel.settings] == [float, float]


def test_starting_value_is_taken_as_the_control_holds_it():
    # 1 == 1.0: the start is the control's own 1.0, whose tab reads "a = 1.0"
    panel = widgets.slider_with_tabs(line_figure, {"a": [0.5, 1.0]}, value={"a": 1})
    assert panel.tabs.selected == "a = 1.0"
    assert panel.widget.children[0].value == 1.0


def test_make_figure_must_return_a_figure():
    with pytest.raises(TypeError, match="matplotlib Figure"):
        widgets.slider_with_tabs(lambda a: None, {"a": [1]})
    with pytest.raises(TypeError, match="make_figure must be callable"):
        widgets.live_figure(3, {"a": [1]})


def test_import_stays_light():
    import subprocess
    import sys

    code = ("import sys, packing_lite, packing_lite.views, packing_lite.widgets; "
            "print(any(m in sys.modules for m in "
            "('matplotlib', 'py3Dmol', 'ipywidgets')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True,
                         text=True, check=True)
    assert out.stdout.strip() == "False"
