"""Static tables and graph helpers of the multi-cell battery (paper 001): the spin basis, the transition
pairs of each bath, the parameter rules of the coupling matrix, the messages of the degenerate points and
the closed-class count of the rate network.  The physics is documented in :mod:`qbjax.models.multi_cell`.
"""

from __future__ import annotations

import itertools

import jax.numpy as jnp
import numpy as np

_LABELS3 = ("L", "M", "R")

_CROSSING_MSG = (
    "MultiCellBattery: level crossing - a bath transition has Bohr frequency 0 (|E_up - E_down| <= "
    "secular_tol; e.g. two cells at lam_LR = omega, three equal cells at omega = 2 lam); the global "
    "secular master equation drops it and its steady state is not unique there. Move off the crossing "
    "or use degenerate='nan'."
)
_CLASSES_MSG = (
    "MultiCellBattery: no unique steady state - the transition network has several closed classes "
    "(e.g. all baths at T = 0 with a degenerate ground state, as for two cells with |lam_LR| > omega, or "
    "rates that underflow to 0 for omega / T > 700). Use degenerate='nan' to get NaN at such points."
)


def _cell_names(n: int):
    return _LABELS3 if n == 3 else (("L", "R") if n == 2 else tuple(f"cell{i}" for i in range(n)))


def _structure(n: int):
    """Static integer tables for n cells (NumPy, built once per n).

    Returns ``z`` (d, n) with z[k, i] = +1 (spin up) or -1, and ``up``, ``down`` (n, P): for bath i the
    P = 2^(n-1) pairs of basis states differing only in spin i, spin i up in ``up[i, p]``.
    """
    d = 2**n
    bits = np.array(list(itertools.product((0, 1), repeat=n)), dtype=np.int64)  # cell 0 most significant
    z = 1 - 2 * bits  # bit 0 = up = +1
    up = np.zeros((n, d // 2), dtype=np.int64)
    down = np.zeros((n, d // 2), dtype=np.int64)
    for i in range(n):
        flip = 1 << (n - 1 - i)
        ups = [k for k in range(d) if bits[k, i] == 0]
        up[i] = ups
        down[i] = [k | flip for k in ups]
    return z.astype(np.float64), up, down


def _basis_label(k: int, n: int) -> str:
    return "".join("u" if ((k >> (n - 1 - i)) & 1) == 0 else "d" for i in range(n))


def _symmetric(c):
    c = c.astype(float) if hasattr(c, "astype") else c
    scale = abs(c).max(axis=(-1, -2)) if c.ndim >= 2 else abs(c)
    return abs(c - c.swapaxes(-1, -2)).max(axis=(-1, -2)) <= 1e-12 * (1.0 + scale)


def _zero_diagonal(c):
    return (c.diagonal(axis1=-2, axis2=-1) == 0).all(axis=-1)


def _closed_classes(L, d: int):
    """Number of closed communicating classes of the population (rate) network of L (static shapes).

    The rate b -> a is L[(a, a), (b, b)] (row-major vec); the steady state is unique iff there is exactly
    one closed class (coherences here are never fed by populations, see the module docstring)."""
    idx = jnp.arange(d) * (d + 1)
    P = jnp.real(L[idx][:, idx])
    adj = (jnp.abs(P.T) > 0) | jnp.eye(d, dtype=bool)  # adj[b, a]: b -> a
    reach = adj.astype(L.real.dtype)
    for _ in range(max(1, int(np.ceil(np.log2(d))))):
        reach = jnp.minimum(reach @ reach, 1.0)
    R = reach > 0
    closed = jnp.all(~R | R.T, axis=1)  # every state reachable from k reaches k back
    mutual = R & R.T
    first = jnp.argmax(mutual, axis=1)  # smallest member of k's class
    return jnp.sum(closed & (first == jnp.arange(d)))
