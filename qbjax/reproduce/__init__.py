"""`qbjax reproduce`: recompute the papers' figures and tables, one module a paper."""

from __future__ import annotations

import importlib

# model name on the command line -> module in qbjax.reproduce with run(out_dir, quick, smoke) -> report path
MODELS = {
    "charger": "charger",
    "micromaser": "micromaser",
    "fourlevel": "fourlevel",
    "fourlevel-learn": "fourlevel_learn",
    "multi-cell": "multi_cell",
    "tavis-cummings": "tavis_cummings",
}


def run(model: str, out_dir, quick: bool = False, smoke: bool = False):
    """Reproduce one model into ``out_dir``; returns its report path.

    ``quick``: reduced grids (documented per model).  ``smoke``: the smallest sizes that still run every
    code path and write every figure and table (for CI; its numbers are not for comparison); it takes
    precedence over ``quick``.
    """
    if model not in MODELS:
        raise ValueError(f"unknown model {model!r}; choose from {sorted(MODELS)} or 'all'")
    module = importlib.import_module(f".{MODELS[model]}", __name__)
    if smoke:
        return module.run(out_dir, quick=True, smoke=True)
    return module.run(out_dir, quick=quick)
