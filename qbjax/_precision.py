"""Floating-point precision of qbjax.

qbjax computes physics in float64 (complex128) by default.  Importing qbjax therefore turns on JAX's
64-bit mode (``jax_enable_x64``) unless the environment variable ``QBJAX_PRECISION=single`` is set
before the import.  ``set_precision`` switches at run time; arrays created before the switch keep
their dtype, so switch before building models.
"""

from __future__ import annotations

import os
import sys

_VALID = ("double", "single")


def set_precision(precision: str) -> None:
    """Select the floating-point precision of every later computation.

    ``"double"`` (float64/complex128, the default: the physics is validated in it) or ``"single"``
    (float32/complex64: faster on GPUs; its accuracy on each workload is measured in
    ``benchmarks/RESULTS.md``, e.g. ergotropy to about 1e-6).  Also set by the environment variable
    ``QBJAX_PRECISION``.  Call it before building arrays: existing arrays keep their dtype.

    Raises:
        ValueError: naming ``precision`` when it is not ``"double"`` or ``"single"``.
    """
    if precision not in _VALID:
        raise ValueError(f"precision must be one of {_VALID}, got {precision!r}")
    import jax

    jax.config.update("jax_enable_x64", precision == "double")


def get_precision() -> str:
    """The precision in force, ``"double"`` or ``"single"`` (see :func:`set_precision`).

    Read from JAX's ``jax_enable_x64`` flag, so it reports what new arrays will use."""
    import jax

    return "double" if jax.config.read("jax_enable_x64") else "single"


def real_dtype():
    import jax.numpy as jnp

    return jnp.float64 if get_precision() == "double" else jnp.float32


def complex_dtype():
    import jax.numpy as jnp

    return jnp.complex128 if get_precision() == "double" else jnp.complex64


def _init_from_environment() -> None:
    """Apply ``QBJAX_PRECISION`` (default double) without importing JAX when it is not loaded yet.

    If JAX is already imported, its configuration is updated.  Otherwise the choice goes into the
    environment variable ``JAX_ENABLE_X64``, which JAX reads when it is first imported (so that
    ``import qbjax`` stays fast); it is inherited by child processes, as ``QBJAX_PRECISION`` is.
    """
    choice = os.environ.get("QBJAX_PRECISION", "double").strip().lower()
    choice = choice if choice in _VALID else "double"
    if "jax" in sys.modules:
        set_precision(choice)
    else:
        os.environ["JAX_ENABLE_X64"] = "1" if choice == "double" else "0"
