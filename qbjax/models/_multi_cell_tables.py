"""Static tables and graph helpers of the multi-cell battery (paper 001): the spin basis, the transition
pairs of each bath, the parameter rules of the coupling matrix, the messages and guards of the degenerate
points and the closed-class count of the rate network.  The physics is documented in :mod:`qbjax.models.multi_cell`.
"""

from __future__ import annotations

import itertools

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._validate import is_concrete

_LABELS3 = ("L", "M", "R")
_STEADY_PATHS = ("auto", "pauli", "liouvillian")

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


def _crossing_message(m, tr) -> str:
    """The ValueError text of a level crossing of the concrete model ``m`` (transition table ``tr``)."""
    w, high, low, valid = (np.asarray(tr[k]) for k in ("w", "high", "low", "valid"))
    n = m.n_cells
    i, p = map(int, np.argwhere(~valid)[0])
    a, b = _basis_label(int(high[i, p]), n), _basis_label(int(low[i, p]), n)
    return (
        f"MultiCellBattery: level crossing at omega={np.asarray(m.omega).tolist()}, "
        f"coupling={np.asarray(m.coupling).tolist()}: the bath-{m.cell_names[i]} transition |{a}> <-> |{b}> "
        f"has Bohr frequency {w[i, p]:.3g} <= secular_tol = {m.secular_tol:g} "
        "(two cells: lam_LR = omega; three equal cells: omega = 2 lam). The secular master equation "
        "drops it and its steady state is not unique there (or jumps discontinuously). Move off the "
        "crossing, or use degenerate='nan' to get NaN at such points."
    )


def _classes_message(m, n_classes: int) -> str:
    """The ValueError text of a rate network with ``n_classes`` != 1 closed classes (concrete ``m``)."""
    return (
        f"MultiCellBattery(omega={np.asarray(m.omega).tolist()}, coupling="
        f"{np.asarray(m.coupling).tolist()}, T={np.asarray(m.T).tolist()}): no unique steady "
        f"state - the transition network has {n_classes} closed classes (e.g. every bath at "
        "T = 0 with a degenerate ground state, or rates that underflow to 0 for omega / T > 700). "
        "Use degenerate='nan' to get NaN at such points."
    )


def _degenerate_dispatch(m, degenerate: str, compute):
    """``compute(degenerate)`` -> (outputs, crossing flag, number of closed classes), with the
    ``degenerate`` policy of the steady state: "nan" returns the outputs (NaN at such points);
    "raise" on concrete parameters computes them with "nan" and raises a ``ValueError`` naming the
    crossing or the classes (traced parameters: ``compute("raise")``, an ``eqx.error_if``)."""
    if degenerate not in ("raise", "nan"):
        raise ValueError(f"degenerate must be 'raise' or 'nan'; got {degenerate!r}")
    if degenerate == "raise" and is_concrete(m):
        out, crossing, n_classes = compute("nan")
        if bool(crossing):
            raise ValueError(_crossing_message(m, m.transitions()))
        if int(n_classes) != 1:
            raise ValueError(_classes_message(m, int(n_classes)))
        return out
    return compute(degenerate)[0]


def _guard(M, crossing, n_classes, degenerate: str):
    """(M, bad): ``eqx.error_if`` on the flags ("raise"), or M replaced by the regular stand-in -identity
    where a flag is set ("nan": the solve stays finite, the outputs become NaN by :func:`_nan_where`)."""
    bad = crossing | (n_classes != 1)
    if degenerate == "raise":
        M = eqx.error_if(M, crossing, _CROSSING_MSG)
        return eqx.error_if(M, n_classes != 1, _CLASSES_MSG), bad
    return jnp.where(bad, -jnp.eye(M.shape[-1], dtype=M.dtype), M), bad


def _nan_where(out, bad, degenerate: str):
    """``out`` with every leaf NaN where ``bad`` ("nan"); unchanged for "raise"."""
    if degenerate == "nan":
        return jax.tree_util.tree_map(lambda x: jnp.where(bad, jnp.nan, x), out)
    return out


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


def _numpy_bohr(omega, coupling, n: int):
    """Signed Bohr frequencies E(up_i[p]) - E(down_i[p]) (n, P) in NumPy, for concrete parameters."""
    z, up, down = _structure(n)
    E = 0.5 * z @ omega + 0.5 * np.einsum("ki,ij,kj->k", z, np.triu(coupling, 1), z)
    return E[up] - E[down]


def _population_block(L, d: int):
    """The rate matrix W[a, b] = L[(a, a), (b, b)] of the populations (row-major vec), real (d, d)."""
    idx = jnp.arange(d) * (d + 1)
    return jnp.real(L[idx][:, idx])


def _closed_classes(W):
    """Number of closed communicating classes of the population network with rates W[a, b] (b -> a, a != b),
    static shapes.

    The steady state is unique iff there is exactly one closed class (coherences here are never fed by
    populations, see :mod:`._multi_cell_pauli`)."""
    d = W.shape[-1]
    adj = (jnp.abs(W.T) > 0) | jnp.eye(d, dtype=bool)  # adj[b, a]: b -> a
    reach = adj.astype(W.dtype)
    for _ in range(max(1, int(np.ceil(np.log2(d))))):
        reach = jnp.minimum(reach @ reach, 1.0)
    R = reach > 0
    closed = jnp.all(~R | R.T, axis=1)  # every state reachable from k reaches k back
    mutual = R & R.T
    first = jnp.argmax(mutual, axis=1)  # smallest member of k's class
    return jnp.sum(closed & (first == jnp.arange(d)))


def _check_shapes(m):
    """The shape and static-field rules of a :class:`qbjax.models.MultiCellBattery` (its ``__check_init__``)."""
    if m.omega.ndim != 1 or m.omega.shape[0] < 1:
        raise ValueError(f"omega must have shape (n,); got {m.omega.shape}")
    n = m.omega.shape[0]
    if m.coupling.shape != (n, n):
        raise ValueError(f"coupling must have shape ({n}, {n}) for n = {n} cells; got {m.coupling.shape}")
    if m.T.shape != (n,):
        raise ValueError(f"T must have shape ({n},) for n = {n} cells; got {m.T.shape}")
    if m.kappa.ndim != 0:
        raise ValueError(f"kappa must be a scalar; got shape {m.kappa.shape}")
    if not m.secular_tol > 0:
        raise ValueError(f"secular_tol must be > 0; got {m.secular_tol}")
    if m.steady not in _STEADY_PATHS:
        raise ValueError(f"steady must be one of {_STEADY_PATHS}; got {m.steady!r}")
