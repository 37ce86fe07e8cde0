"""Run environment: versions, devices, precision (for `qbjax info`, reports and manifests)."""

from __future__ import annotations

import importlib.metadata as md
import platform
import sys

from ._precision import get_precision

_PACKAGES = ("qbjax", "jax", "jaxlib", "equinox", "diffrax", "optax", "flax", "numpy", "scipy",
             "qutip", "matplotlib", "pyarrow", "scikit-learn")


def versions() -> dict:
    out = {"python": sys.version.split()[0]}
    for name in _PACKAGES:
        try:
            out[name] = md.version(name)
        except md.PackageNotFoundError:
            out[name] = None
    return out


def devices() -> list[str]:
    import jax

    return [f"{d.platform}:{d.id} ({getattr(d, 'device_kind', d.platform)})" for d in jax.devices()]


def environment() -> dict:
    """Versions, JAX backend and devices, precision, machine."""
    import jax

    return {
        "versions": versions(),
        "backend": jax.default_backend(),
        "devices": devices(),
        "precision": get_precision(),
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
        "platform": platform.platform(),
    }
