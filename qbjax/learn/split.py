"""Group-aware DEV/TEST split (paper 000 Sec. III B).

Rows that share a group key (by default the six non-energy grid parameters (p_h, T_c, T_h, T_l,
tau, p_c)) are one "experimental configuration" and go to the same side, so no group is in both.
The split draws whole groups at random (seeded) until the TEST side holds ``test_size`` of the rows.
"""

from __future__ import annotations

import numpy as np

__all__ = ["GROUP_KEYS", "assert_no_leak", "group_ids", "group_split"]

#: the paper's group keys (energies excluded)
GROUP_KEYS = ("p_h", "T_c", "T_h", "T_l", "tau", "p_c")


def group_ids(cols: dict, keys=GROUP_KEYS) -> np.ndarray:
    """Integer group label of every row: rows with equal values of all ``keys`` share a label."""
    missing = [k for k in keys if k not in cols]
    if missing:
        raise ValueError(f"group keys {missing} are not dataset columns")
    stacked = np.stack([np.asarray(cols[k], np.float64) for k in keys], axis=1)
    _, inverse = np.unique(stacked, axis=0, return_inverse=True)
    return inverse.reshape(-1).astype(np.int64)


def group_split(groups, test_size: float = 0.3, seed: int = 0, min_rows: int = 10):
    """``(dev_idx, test_idx)``: a random group-aware split with about ``test_size`` of the rows in TEST.

    Groups are shuffled (seeded) and taken into TEST until their row count reaches
    ``round(test_size * n)``.  Raises ``ValueError`` with too few rows or groups to split.
    """
    groups = np.asarray(groups)
    n = groups.size
    if not 0.0 < test_size < 1.0:
        raise ValueError(f"test_size must be in (0, 1); got {test_size}")
    if n < min_rows:
        raise ValueError(f"too few rows for a DEV/TEST split: {n} < {min_rows}")
    uniq, inverse, counts = np.unique(groups, return_inverse=True, return_counts=True)
    if uniq.size < 2:
        raise ValueError(f"too few groups for a DEV/TEST split: {uniq.size} group(s) in {n} rows")
    order = np.random.default_rng(seed).permutation(uniq.size)
    cum = np.cumsum(counts[order])
    n_test_groups = int(np.searchsorted(cum, round(test_size * n))) + 1
    n_test_groups = min(max(n_test_groups, 1), uniq.size - 1)
    is_test_group = np.zeros(uniq.size, bool)
    is_test_group[order[:n_test_groups]] = True
    in_test = is_test_group[inverse.reshape(-1)]
    dev_idx, test_idx = np.flatnonzero(~in_test), np.flatnonzero(in_test)
    assert_no_leak(groups, dev_idx, test_idx)
    return dev_idx, test_idx


def assert_no_leak(groups, idx_a, idx_b) -> None:
    """Raise ``AssertionError`` if any group has rows in both index sets."""
    groups = np.asarray(groups)
    shared = np.intersect1d(groups[idx_a], groups[idx_b])
    if shared.size:
        raise AssertionError(f"group leakage: {shared.size} group(s) in both sides of the split")
