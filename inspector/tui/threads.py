"""One thread for the math of interactive steps.

A step of a small model gains nothing from more BLAS threads, but after every call OpenBLAS's idle
threads spin on the other core and slow down the frame being drawn. Measured here on two cores, a
2x512 LSTM at 120x40: ~40 ms a key with numpy's default OpenBLAS threads, ~24 ms with one.
(torch gets `set_num_threads(1)` where it is imported, in the loading worker.)
"""

from __future__ import annotations

import ctypes
import os
from pathlib import Path

THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
OPENBLAS_SETTERS = ("scipy_openblas_set_num_threads64_", "scipy_openblas_set_num_threads",
                    "openblas_set_num_threads64_", "openblas_set_num_threads")


def limit_math_threads() -> None:
    """Ask for one thread: through the environment for libraries not loaded yet, and directly
    from numpy's bundled OpenBLAS, which has already read the environment if numpy is loaded."""
    for variable in THREAD_VARIABLES:
        os.environ.setdefault(variable, "1")
    import numpy

    package = Path(numpy.__file__).parent
    for library in [*package.parent.glob("numpy.libs/*openblas*"),
                    *package.glob(".dylibs/*openblas*")]:
        try:
            handle = ctypes.CDLL(str(library))
        except OSError:
            continue
        for name in OPENBLAS_SETTERS:
            setter = getattr(handle, name, None)
            if setter is not None:
                setter(1)
                break
