"""Turn off progress bars in the chapters while the book is built.

A progress bar tells someone who runs a cell how long it has left. In the
built page it would only show how long the build took, and the bars that
close when their run ends (the runs' bars) still leave empty space behind.
The chapters keep ``progress=True`` for readers who run them; during a
build this extension sets ``TQDM_DISABLE=1`` (tqdm's switch, which every
bar of packing_lite reads) in the environment that the kernels executing
the chapters inherit.
"""

import os


def setup(app):
    os.environ["TQDM_DISABLE"] = "1"
    return {"parallel_read_safe": True, "parallel_write_safe": True}
