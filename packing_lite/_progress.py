"""Progress bars of runs, sweeps and precomputed sliders.

The bars are tqdm's (a widget in Jupyter, text elsewhere). tqdm's own
switch, the environment variable ``TQDM_DISABLE``, turns them all off; its
notebook bars ignore that variable, so every bar here reads it itself.
"""

import os

# TQDM_DISABLE values that leave the bars on
_ON = ("", "0", "false", "no", "off")


def bars_switched_off():
    """Whether the environment asks for no progress bars (TQDM_DISABLE)."""
    return os.environ.get("TQDM_DISABLE", "").strip().lower() not in _ON


def progress_bar(iterable=None, show=True, **options):
    """A tqdm bar over ``iterable`` (or one updated by hand), silent when
    ``show`` is false or TQDM_DISABLE is set; ``options`` go to tqdm."""
    from tqdm.auto import tqdm

    return tqdm(iterable, disable=not show or bars_switched_off(), **options)
