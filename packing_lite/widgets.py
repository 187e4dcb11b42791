"""Sliders that rerun a computation, and still pictures for every setting.

A slider only responds while a Python kernel runs. A page read without
one (the HTML book, a notebook viewer) needs the same results as still
pictures. :func:`slider_with_tabs` builds both from one function that makes
a figure: the live controls, and a row of tabs holding the figure for every
setting, computed in advance. :func:`figure_tabs` makes such tabs from any
figures. The tabs are plain HTML and CSS, so they work without scripts and
on a phone; where HTML is not shown (a PDF), the selected figure appears.

ipywidgets and Matplotlib are imported inside the functions that use them.
"""

import base64
import hashlib
import html
import itertools
from collections.abc import Mapping, Sequence

import numpy as np

from .views import PALETTE, _figure_png
from ._progress import progress_bar
from ._validation import check_flag, check_int

__all__ = ["FigureTabs", "SliderPanel", "figure_tabs", "live_figure",
           "slider_with_tabs"]

# tab ids: a count within the process, and a digest of the tabs' labels
# and pictures, so that tabs made in different kernels (outputs of several
# notebooks can share one page) differ unless they show the same figures,
# and a rebuilt page has the same ids
_tab_ids = itertools.count()
# the largest resolution of a precomputed figure, in dots per inch
_MAX_DPI = 1000

_TAB_STYLE = """
.pl-tabs{display:flex;flex-wrap:wrap;align-items:flex-end;margin:.5em 0}
.pl-tabs>input{position:absolute;opacity:0;width:1px;height:1px}
.pl-tabs>label{order:0;padding:.25em .7em;margin:0 .15em 0 0;cursor:pointer;
 border-bottom:3px solid transparent;font-size:.9em;white-space:nowrap}
.pl-tabs>.pl-tab-panel{order:1;width:100%;display:none;padding-top:.4em;
 border-top:1px solid #bbb}
.pl-tabs>input:checked+label{border-bottom-color:ACCENT;font-weight:600}
.pl-tabs>input:focus-visible+label{outline:2px solid ACCENT}
.pl-tabs>input:checked+label+.pl-tab-panel{display:block}
.pl-tabs img{max-width:100%;height:auto}
""".replace("ACCENT", PALETTE["blue"])


class FigureTabs:
    """Still figures in tabs, one tab per setting.

    Displayed in a notebook or an HTML page, the object shows a row of
    tab labels and the figure of the selected tab; the other figures are
    one click away. No script is involved. Outputs that cannot show HTML
    get the selected figure as a PNG.

    Attributes
    ----------
    labels : list of str
        Tab labels, in order.
    images : dict
        PNG bytes by label.
    selected : str
        The label whose tab is open at first.
    """

    def __init__(self, images, selected, title=None):
        self.images = dict(images)
        self.labels = list(self.images)
        self.selected = selected
        self.title = title
        digest = hashlib.sha1()
        for label in self.labels:
            digest.update(label.encode("utf-8") + b"\0" + self.images[label])
        self._digest = digest.hexdigest()[:8]

    def _repr_html_(self):
        # ids new at every display: the same tabs shown twice in one page
        # must not form one group of radio buttons
        group = f"pl-tabs-{self._digest}-{next(_tab_ids)}"
        parts = [f"<style>{_TAB_STYLE}</style>"]
        aria = f' aria-label="{html.escape(self.title)}"' if self.title else ""
        parts.append(f'<div class="pl-tabs" role="group"{aria}>')
        for k, label in enumerate(self.labels):
            tab_id = f"{group}-{k}"
            checked = " checked" if label == self.selected else ""
            data = base64.b64encode(self.images[label]).decode("ascii")
            text = html.escape(label)
            alt = html.escape(f"{self.title}, {label}" if self.title
                              else f"Figure for {label}")
            parts.append(
                f'<input type="radio" name="{group}" id="{tab_id}"{checked}>'
                f'<label for="{tab_id}">{text}</label>'
                f'<div class="pl-tab-panel"><img src="data:image/png;base64,'
                f'{data}" alt="{alt}"></div>'
            )
        parts.append("</div>")
        return "".join(parts)

    def _repr_png_(self):
        return self.images[self.selected]

    def __repr__(self):
        return f"FigureTabs({len(self.labels)} tabs: {', '.join(self.labels)})"


def figure_tabs(figures, selected=None, title=None, dpi=110):
    """Put still figures into tabs.

    Parameters
    ----------
    figures : mapping of str to matplotlib Figure or PNG bytes
        Tab label and figure, in the order of the tabs. Figures are
        rendered to PNG and closed.
    selected : str, optional
        Label of the tab open at first; the first one by default.
    title : str, optional
        A short description of what the tabs hold, for screen readers.
    dpi : int, default 110
        Resolution of the rendered figures, in [20, 1000].

    Returns
    -------
    FigureTabs
    """
    if not isinstance(figures, Mapping) or not figures:
        raise ValueError("figures must be a non-empty mapping of tab label "
                         "to figure")
    dpi = check_int(dpi, "dpi", minimum=20, maximum=_MAX_DPI)
    title = _check_title(title)
    images = {}
    for label, figure in figures.items():
        if not isinstance(label, str) or not label:
            raise TypeError(f"figures: tab labels must be non-empty strings, "
                            f"got {label!r}")
        images[label] = _as_png(figure, f"figures[{label!r}]", dpi)
    if selected is None:
        selected = next(iter(images))
    elif selected not in images:
        raise ValueError(f"selected must be one of the labels "
                         f"{list(images)}, got {selected!r}")
    return FigureTabs(images, selected, title)


def _as_png(figure, name, dpi):
    if isinstance(figure, (bytes, bytearray)):
        if not bytes(figure[:8]) == b"\x89PNG\r\n\x1a\n":
            raise ValueError(f"{name}: bytes must be a PNG image")
        return bytes(figure)
    if not hasattr(figure, "savefig"):
        raise TypeError(f"{name} must be a matplotlib Figure or PNG bytes, "
                        f"got {type(figure).__name__}")
    return _figure_png(figure, dpi=dpi)


# ---------------------------------------------------------------- controls


def _check_controls(controls, what="controls"):
    """An ordered dict of control name to a non-empty list of values
    (``what`` names the argument in messages)."""
    if not isinstance(controls, Mapping) or not controls:
        raise ValueError(f"{what} must be a non-empty mapping of parameter "
                         "name to its values")
    checked = {}
    for name, values in controls.items():
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f"{what}: {name!r} is not a valid parameter name")
        if isinstance(values, np.ndarray) and values.ndim == 1:
            values = values.tolist()  # plain Python numbers
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
            raise TypeError(f"{what}[{name!r}] must be a sequence of values, "
                            f"got {type(values).__name__}")
        if len(values) == 0:
            raise ValueError(f"{what}[{name!r}] must hold at least one value")
        checked[name] = _check_choices(list(values), f"{what}[{name!r}]")
    return checked


def _check_choices(values, name):
    """A slider finds its value by ==: each value must be one thing that
    equals itself (not None, nan or an array), and no two may be equal
    (1 and 1.0, 0 and False)."""
    for k, v in enumerate(values):
        if v is None:
            # a selection slider reads None as "nothing selected"
            raise ValueError(f"{name} holds None, which a slider cannot "
                             "select; use a string such as 'none' and "
                             "translate it in make_figure")
        try:
            itself = v == v
            single = isinstance(itself, (bool, np.bool_))
        except (TypeError, ValueError):
            single = False
        if not single:
            raise ValueError(f"{name} must hold single values (numbers, "
                             f"strings), got {type(v).__name__}")
        if not itself:
            raise ValueError(f"{name} holds {v!r}, which is not equal to "
                             "itself; a slider cannot select it")
        for w in values[:k]:
            if bool(v == w):
                raise ValueError(f"{name} holds {w!r} and {v!r}, which compare "
                                 "equal: a slider cannot tell them apart")
    return values


def _check_names(mapping, controls, what):
    mapping = {} if mapping is None else mapping
    if not isinstance(mapping, Mapping):
        raise TypeError(f"{what} must be a mapping of parameter name to text")
    unknown = set(mapping) - set(controls)
    if unknown:
        raise ValueError(f"{what} names parameters that are not controls: "
                         f"{sorted(unknown)}")
    return mapping


class _Labeller:
    """Turns a setting into text such as 'φ = 0.60, ε = 0.05'."""

    def __init__(self, controls, names, formats):
        self.names = {n: str(names.get(n, n)) for n in controls}
        self.formats = {n: formats.get(n, "{}") for n in controls}
        for n in controls:
            self.check_values(n, controls[n], "controls")

    def check_values(self, name, values, what):
        """Every value of a control formats, and no two alike: a slider
        showing one label for two values hides which one is set."""
        fmt = self.formats[name]
        seen = {}
        for v in values:
            try:
                label = fmt.format(v)
            except (AttributeError, ValueError, IndexError, KeyError,
                    TypeError) as err:
                raise ValueError(f"formats[{name!r}] = {fmt!r} cannot format "
                                 f"{v!r}") from err
            if label in seen:
                raise ValueError(
                    f"{what}[{name!r}]: the values {seen[label]!r} and {v!r} "
                    f"both read {label!r}; give distinct values, or a "
                    f"format in formats[{name!r}] that tells them apart")
            seen[label] = v

    def value(self, name, value):
        return self.formats[name].format(value)

    def setting(self, setting):
        return ", ".join(f"{self.names[n]} = {self.value(n, v)}"
                         for n, v in setting.items())


def _initial(controls, value):
    """The starting setting: given values (as the control holds them: 1
    given for 1.0 is 1.0), else the middle of each list."""
    if value is None:
        value = {}
    if not isinstance(value, Mapping):
        raise TypeError(f"value must be a mapping of control name to its "
                        f"starting value, got {type(value).__name__}")
    unknown = set(value) - set(controls)
    if unknown:
        raise ValueError(f"value names parameters that are not controls: "
                         f"{sorted(unknown)}")
    start = {}
    for name, values in controls.items():
        if name in value:
            if value[name] not in values:
                raise ValueError(f"value[{name!r}] = {value[name]!r} is not one "
                                 f"of the control's values {values}")
            start[name] = values[values.index(value[name])]
        else:
            start[name] = values[(len(values) - 1) // 2]
    return start


def _check_title(title):
    if title is not None and not isinstance(title, str):
        raise TypeError(f"title must be a string, got {type(title).__name__}")
    return title


def live_figure(make_figure, controls, value=None, names=None, formats=None,
                initial=None):
    """Sliders that call ``make_figure`` again whenever one is moved.

    Parameters
    ----------
    make_figure : callable
        Called as ``make_figure(**setting)`` with one value per control;
        returns a matplotlib Figure (closed after it is shown).
    controls : mapping of str to sequence
        Parameter name and the values its slider offers, in order.
    value : mapping, optional
        Starting value of some or all controls (each one of its values);
        the middle value by default.
    names : mapping of str to str, optional
        Text shown next to a slider (for example ``{"phi": "φ"}``).
    formats : mapping of str to str, optional
        Format strings for the values (for example ``{"phi": "{:.2f}"}``).
    initial : matplotlib Figure or PNG bytes, optional
        Figure for the starting setting, shown instead of calling
        ``make_figure`` once more.

    Returns
    -------
    ipywidgets.VBox
        The sliders above the figure. Sliders update on release.
    """
    import ipywidgets as widgets

    if not callable(make_figure):
        raise TypeError("make_figure must be callable")
    controls = _check_controls(controls)
    labeller = _Labeller(controls, _check_names(names, controls, "names"),
                         _check_names(formats, controls, "formats"))
    start = _initial(controls, value)

    sliders = {}
    for name, values in controls.items():
        sliders[name] = widgets.SelectionSlider(
            options=[(labeller.value(name, v), v) for v in values],
            value=start[name], description=labeller.names[name],
            continuous_update=False, readout=True,
            layout=widgets.Layout(width="min(100%, 420px)"),
        )
    out = widgets.Output()

    def redraw(_change=None):
        setting = {name: s.value for name, s in sliders.items()}
        figure = make_figure(**setting)
        out.outputs = ()
        out.append_display_data(_as_image(figure, "make_figure(...)"))

    for slider in sliders.values():
        slider.observe(redraw, names="value")
    if initial is None:
        redraw()
    else:
        out.append_display_data(_as_image(initial, "initial"))
    return widgets.VBox([*sliders.values(), out])


def _as_image(figure, name):
    """An IPython Image of a Matplotlib figure (closed) or of PNG bytes."""
    from IPython.display import Image

    return Image(data=_as_png(figure, name, 110))


class SliderPanel:
    """Live sliders and their still counterpart.

    Attributes
    ----------
    widget : ipywidgets.VBox
        Sliders that rerun the computation (needs a running kernel).
    tabs : FigureTabs
        The figure of every precomputed setting, in tabs.
    settings : list of dict
        The precomputed settings, in tab order.
    """

    def __init__(self, widget, tabs, settings):
        self.widget = widget
        self.tabs = tabs
        self.settings = settings

    def __repr__(self):
        return f"SliderPanel({len(self.settings)} precomputed settings)"


def slider_with_tabs(make_figure, controls, value=None, names=None,
                     formats=None, live_values=None, title=None, progress=False,
                     dpi=110):
    """Sliders that rerun a computation, with every setting precomputed.

    ``make_figure`` is called once for every combination of the control
    values (the tabs), in order. The sliders start on ``value`` and show
    its precomputed figure; moving one calls ``make_figure`` again.

    Parameters
    ----------
    make_figure : callable
        ``make_figure(**setting)`` returns a matplotlib Figure. It should
        seed its random numbers so that a setting always gives the same
        figure.
    controls : mapping of str to sequence
        Parameter name and the values to precompute, in order. Keep the
        number of combinations small: each one is computed in advance.
    value : mapping, optional
        Starting setting (each value one of the control's values); the
        middle of each list by default.
    names, formats : mapping of str to str, optional
        Display name and format string of each parameter, as in
        :func:`live_figure`; tab labels read "name = value, ...".
    live_values : mapping of str to sequence, optional
        Values the live slider of a parameter offers, if they should be
        more than the precomputed ones (they must include the starting
        value).
    title : str, optional
        Description of the tabs for screen readers.
    progress : bool, default False
        Show a progress bar over the precomputed settings.
    dpi : int, default 110
        Resolution of the still figures, in [20, 1000].

    Returns
    -------
    SliderPanel
        Display ``panel.widget`` for the live sliders and ``panel.tabs`` for
        the still figures.
    """
    if not callable(make_figure):
        raise TypeError("make_figure must be callable")
    controls = _check_controls(controls)
    names = _check_names(names, controls, "names")
    formats = _check_names(formats, controls, "formats")
    labeller = _Labeller(controls, names, formats)
    start = _initial(controls, value)
    live = dict(controls)
    if live_values is not None:
        live_values = _check_controls(live_values, "live_values")
        unknown = set(live_values) - set(controls)
        if unknown:
            raise ValueError(f"live_values names parameters that are not "
                             f"controls: {sorted(unknown)}")
        for name, values in live_values.items():
            if start[name] not in values:
                raise ValueError(f"live_values[{name!r}] must include the "
                                 f"starting value {start[name]!r}")
            labeller.check_values(name, values, "live_values")
            live[name] = values
    title = _check_title(title)
    progress = check_flag(progress, "progress")
    dpi = check_int(dpi, "dpi", minimum=20, maximum=_MAX_DPI)

    settings = [dict(zip(controls, combo))
                for combo in itertools.product(*controls.values())]
    # a tab is found by its label: two settings must not read alike (text
    # values can, such as "1, q = 2" beside "1" and "2")
    labels = {}  # label -> setting, in tab order
    for setting in settings:
        label = labeller.setting(setting)
        if label in labels:
            raise ValueError(f"the settings {labels[label]} and {setting} both "
                             f"read {label!r}; give control values that tell "
                             "them apart")
        labels[label] = setting
    images = {}
    for label, setting in progress_bar(labels.items(), show=progress,
                                       desc="precomputing", unit="setting",
                                       leave=False):
        images[label] = _as_png(make_figure(**setting), f"make_figure({label})",
                                dpi)
    selected = labeller.setting(start)
    tabs = FigureTabs(images, selected, title)
    widget = live_figure(make_figure, live, value=start, names=names,
                         formats=formats, initial=images[selected])
    return SliderPanel(widget, tabs, settings)
