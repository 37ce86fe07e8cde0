"""Lazy public names for a package (PEP 562): ``import qbjax`` and ``qbjax --help`` load no JAX.

A package lists its public names and the submodule defining each; the submodule is imported on the
first access of a name (``qb.ergotropy``, ``from qbjax import ergotropy``), then the name is cached
in the package's namespace.  ``dir(package)`` lists every public name.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Mapping


def attach(package: str, names: Mapping[str, str]):
    """``(__getattr__, __dir__, __all__)`` for ``package``; ``names`` maps public name -> submodule
    (relative, e.g. ``"._ergotropy"``; a name equal to its submodule's name is the submodule itself)."""

    def __getattr__(name):
        if name not in names:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module = importlib.import_module(names[name], package)
        value = module if names[name].rsplit(".", 1)[-1] == name else getattr(module, name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__():
        return sorted(set(names) | set(vars(sys.modules[package])))

    return __getattr__, __dir__, sorted(names)
