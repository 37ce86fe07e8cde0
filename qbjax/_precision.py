"""Floating-point precision of qbjax.

qbjax computes physics in float64 (complex128) by default.  Importing qbjax therefore turns on JAX's
64-bit mode (``jax_enable_x64``) unless the environment variable ``QBJAX_PRECISION=single`` is set
before the import.  ``set_precision`` switches at run time; arrays created before the switch keep
their dtype, so switch before building models.
"""

from __future__ import annotations

import os

import jax
import jax.numpy as jnp

_VALID = ("double", "single")


def set_precision(precision: str) -> None:
    """Select ``"double"`` (float64/complex128, the default) or ``"single"`` (float32/complex64)."""
    if precision not in _VALID:
        raise ValueError(f"precision must be one of {_VALID}, got {precision!r}")
    jax.config.update("jax_enable_x64", precision == "double")


def get_precision() -> str:
    """The precision in force: ``"double"`` or ``"single"``."""
    return "double" if jax.config.read("jax_enable_x64") else "single"


def real_dtype():
    return jnp.float64 if get_precision() == "double" else jnp.float32


def complex_dtype():
    return jnp.complex128 if get_precision() == "double" else jnp.complex64


def _init_from_environment() -> None:
    choice = os.environ.get("QBJAX_PRECISION", "double").strip().lower()
    set_precision(choice if choice in _VALID else "double")
