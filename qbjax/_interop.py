"""QuTiP interoperability: ``from_qutip``, ``to_qutip`` and the ``Qobj`` converter of the core.

QuTiP is an optional dependency.  This module never imports it at import time: :func:`from_qutip`
only meets a ``Qobj`` when the caller has imported QuTiP already, and :func:`to_qutip` imports it
when called (an ``ImportError`` saying how to install it otherwise).

Vectorisation convention.  qbjax vectorises row by row, vec(rho) = rho.reshape(d * d), so
vec(A rho B) = (A kron B^T) vec(rho).  QuTiP stacks columns (``operator_to_vector``), so its
superoperators (``superrep == "super"``) act on vec_col(rho) = rho.T.reshape(d * d), and
vec(A rho B) = (B^T kron A) vec_col(rho).  The two vectors differ by the permutation P that swaps the
two factors of the d^2 index (P[d i + j, i + d j] = 1; P = P^T = P^{-1}), and a superoperator maps as

    L_row = P L_col P        (and back: L_col = P L_row P).

:func:`from_qutip` and :func:`to_qutip` apply P; a raw array cannot tell which convention it is in
(the transposed steady state of a wrongly vectorised generator is still a state), so convert QuTiP
superoperators with these functions, never with ``.full()``.

Every core function that takes operators or superoperators (``ergotropy``, ``steady_state``,
``evolve``, ``sesolve``, ...) is wrapped by :func:`accepts_qobj`: a ``Qobj`` argument (or a list or
tuple of them, e.g. jump operators) goes through :func:`from_qutip` before anything else, so
``qb.ergotropy(qutip.rand_dm(3), qutip.num(3))`` and ``qb.steady_state(qutip.liouvillian(H, [c]))``
work and give the same numbers as the converted arrays.
"""

from __future__ import annotations

import functools
import sys

import numpy as np

_SUPER_HINT = "QuTiP's column-stacking convention? use qb.from_qutip"


def _qobj_types():
    """(Qobj, QobjEvo) when QuTiP has been imported, else None (no QuTiP object can exist then)."""
    qutip = sys.modules.get("qutip")
    if qutip is None:
        return None
    return qutip.Qobj, getattr(qutip, "QobjEvo", ())


def is_qobj(x) -> bool:
    """True for a ``qutip.Qobj`` (without importing QuTiP)."""
    types = _qobj_types()
    return types is not None and isinstance(x, types[0])


def vec_permutation(d: int) -> np.ndarray:
    """The (d^2,) index permutation p with vec_row(rho) = vec_col(rho)[p] (an involution)."""
    d = int(d)
    return np.arange(d * d).reshape(d, d).T.reshape(-1)


def _super_to_row(L, d: int):
    """Column-stacking superoperator (..., d^2, d^2) -> row-major (P L P, P a permutation)."""
    p = vec_permutation(d)
    return L[..., p, :][..., :, p]


def from_qutip(obj):
    """A QuTiP object as a qbjax (JAX) array, in qbjax's conventions.

    * ket (d, 1) -> (d,); bra (1, d) -> (d,) (its entries, i.e. the conjugate of the ket);
    * operator or density matrix -> (m, n) (dims are dropped: keep ``obj.dims`` to go back);
    * superoperator (``superrep == "super"``, QuTiP's column-stacking vec) -> (d^2, d^2) in qbjax's
      row-major vec, L_row = P L_col P (see the module text); any other superrep (``"choi"``,
      ``"chi"``) raises: convert it with ``qutip.to_super`` first;
    * operator-ket / operator-bra (a vectorised operator, column-stacked) -> (d^2,), row-major;
    * a list or tuple of Qobj (e.g. jump operators) -> their arrays stacked on a new leading axis.

    A raw NumPy array of a QuTiP superoperator (``L.full()``) is in the column-stacking convention,
    and nothing in qbjax can detect that (``qb.steady_state`` then returns the transpose of the
    state, itself a valid state): convert superoperators with this function.  A time-dependent
    ``QobjEvo`` raises; pass a callable ``t -> qb.from_qutip(...)`` built from its parts instead.
    """
    import jax.numpy as jnp

    types = _qobj_types()
    if isinstance(obj, (list, tuple)) and obj and all(is_qobj(o) for o in obj):
        return jnp.stack([from_qutip(o) for o in obj])
    if types is not None and types[1] and isinstance(obj, types[1]):
        raise ValueError("from_qutip: a time-dependent QobjEvo cannot be converted to one array; "
                         "convert its constant parts and pass a callable t -> H(t)")
    if not is_qobj(obj):
        raise ValueError(f"from_qutip expects a qutip.Qobj (or a list of them); got {type(obj).__name__}")
    a = np.asarray(obj.full())
    kind = obj.type
    if kind in ("ket", "bra"):
        return jnp.asarray(a.reshape(-1))
    if kind in ("operator-ket", "operator-bra"):
        d = int(round(a.size**0.5))
        return jnp.asarray(a.reshape(-1)[vec_permutation(d)])
    if kind == "super":
        if obj.superrep != "super":
            raise ValueError(f"from_qutip: a superoperator with superrep {obj.superrep!r} is not a generator "
                             "or map on vec(rho); convert it with qutip.to_super(obj) first")
        d = int(round(a.shape[-1] ** 0.5))
        return jnp.asarray(_super_to_row(a, d))
    return jnp.asarray(a)


def _default_dims(kind: str, shape) -> list:
    if kind == "ket":
        return [[shape[-1]], [1]]
    if kind == "bra":
        return [[1], [shape[-1]]]
    if kind == "super":
        d = int(round(shape[-1] ** 0.5))
        return [[[d], [d]], [[d], [d]]]
    return [[shape[-2]], [shape[-1]]]


def _kind_of(dims, ndim: int) -> str:
    """The kind a ``dims`` (or the array's rank) implies, when ``kind`` is not given."""
    if dims is not None:
        if isinstance(dims[0][0], (list, tuple)):
            return "super"
        if all(int(x) == 1 for x in dims[1]):
            return "ket"
        if all(int(x) == 1 for x in dims[0]):
            return "bra"
        return "oper"
    return "ket" if ndim == 1 else "oper"


def _nested(a, batch_ndim: int, make):
    if batch_ndim == 0:
        return make(a)
    return [_nested(x, batch_ndim - 1, make) for x in a]


def to_qutip(array, dims=None, kind: str | None = None):
    """A qbjax array as a ``qutip.Qobj`` (QuTiP must be installed).

    Args:
        array: a ket (d,), an operator or density matrix (m, n), or a superoperator (d^2, d^2) in
            qbjax's row-major vec, with optional leading batch axes.
        dims: QuTiP dims of ONE element, e.g. ``[[2, 2], [2, 2]]`` for a two-qubit operator,
            ``[[2, 3], [1]]`` for a ket, ``[[[2], [2]], [[2], [2]]]`` for a qubit superoperator.
            Default: one subsystem ([[d], [d]], [[d], [1]], [[[d], [d]], [[d], [d]]]).
        kind: ``"ket"``, ``"bra"``, ``"oper"`` or ``"super"``.  Default: from ``dims`` when given,
            else ``"ket"`` for a 1-D array and ``"oper"`` otherwise.  A (d^2, d^2) superoperator
            needs ``kind="super"`` (or super dims), batched kets ``kind="ket"``.

    Returns:
        a Qobj; for a batched array (leading axes), nested lists of Qobj of the batch shape.  A
        superoperator is converted to QuTiP's column-stacking convention (L_col = P L_row P) with
        ``superrep="super"``, so ``qutip.steadystate``/``qutip.mesolve`` read it correctly.
    """
    try:
        import qutip
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError("to_qutip needs QuTiP: pip install qutip (or qbjax[test])") from None
    a = np.asarray(array)
    kind = _kind_of(dims, a.ndim) if kind is None else kind
    if kind not in ("ket", "bra", "oper", "super"):
        raise ValueError(f"kind must be 'ket', 'bra', 'oper' or 'super'; got {kind!r}")
    core = 1 if kind in ("ket", "bra") else 2
    if a.ndim < core:
        raise ValueError(f"array of shape {a.shape} is not a {kind} (needs at least {core} axes)")
    if kind == "super":
        n = a.shape[-1]
        d = int(round(n**0.5))
        if a.shape[-2] != n or d * d != n:
            raise ValueError(f"a superoperator must have shape (..., d^2, d^2); got {a.shape}")
        a = _super_to_row(a, d)  # the permutation is an involution: row -> column stacking
    dims = _default_dims(kind, a.shape) if dims is None else dims

    def make(x):
        if kind == "ket":
            x = x.reshape(-1, 1)
        elif kind == "bra":
            x = x.reshape(1, -1)
        return qutip.Qobj(x, dims=dims, superrep="super" if kind == "super" else None)

    return _nested(a, a.ndim - core, make)


def _convert(x):
    if is_qobj(x):
        return from_qutip(x)
    if isinstance(x, (list, tuple)) and any(is_qobj(o) for o in x):
        return type(x)(from_qutip(o) if is_qobj(o) else o for o in x)
    types = _qobj_types()
    if types is not None and types[1] and isinstance(x, types[1]):
        return from_qutip(x)  # raises with the explanation
    return x


def accepts_qobj(fn):
    """Wrap a core function so that ``Qobj`` arguments (and lists/tuples of them) are converted by
    :func:`from_qutip` first.  Costs one dictionary lookup per call when QuTiP is not imported."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if "qutip" in sys.modules:
            args = tuple(_convert(a) for a in args)
            kwargs = {k: _convert(v) for k, v in kwargs.items()}
        return fn(*args, **kwargs)

    return wrapper
