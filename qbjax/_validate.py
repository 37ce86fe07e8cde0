"""Input validation shared by the core and the models.

Concrete values are checked eagerly and raise ``ValueError`` naming the parameter.  Traced values
(inside ``jit``/``vmap``/``grad``) cannot be inspected in Python, so they go through
``equinox.error_if``, which raises at run time with the same message.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np


def is_concrete(x) -> bool:
    """True when ``x`` holds values Python can inspect (not a JAX tracer)."""
    leaves = jax.tree_util.tree_leaves(x)
    return not any(isinstance(leaf, jax.core.Tracer) for leaf in leaves)


def check(x, ok, message: str):
    """Return ``x``; raise ``ValueError(message)`` where ``ok`` is False.

    ``ok`` is a boolean array (or a callable of ``x`` returning one).  With concrete inputs the error
    is raised immediately; with traced inputs it is raised by ``eqx.error_if`` when the compiled
    computation runs.
    """
    cond = ok(x) if callable(ok) else ok
    if is_concrete(cond):
        if not bool(np.all(np.asarray(cond))):
            raise ValueError(message)
        return x
    return eqx.error_if(x, ~jnp.all(cond), message)


def as_float(x, name: str):
    """``x`` as a floating JAX array (default real dtype); rejects NaN when concrete."""
    arr = jnp.asarray(x)
    if not jnp.issubdtype(arr.dtype, jnp.inexact):
        arr = arr.astype(jnp.result_type(float))
    return check(arr, lambda a: ~jnp.isnan(a), f"{name} contains NaN")


def check_square(x, name: str, size: int | None = None):
    """Require ``x.shape[-2:] == (n, n)`` (and ``n == size`` when given)."""
    shape = jnp.shape(x)
    if len(shape) < 2 or shape[-1] != shape[-2]:
        raise ValueError(f"{name} must be a square matrix (..., n, n); got shape {shape}")
    if size is not None and shape[-1] != size:
        raise ValueError(f"{name} must have shape (..., {size}, {size}); got shape {shape}")
    return x


def check_density_matrix(rho, name: str = "rho", atol: float = 1e-8):
    """Square, Hermitian and unit-trace (to ``atol``); returns ``rho`` as a JAX array."""
    rho = jnp.asarray(rho)
    check_square(rho, name)
    herm = jnp.abs(rho - jnp.conj(jnp.swapaxes(rho, -1, -2))).max(axis=(-1, -2)) <= atol
    rho = check(rho, herm, f"{name} is not Hermitian (|rho - rho^dagger| > {atol})")
    tr = jnp.trace(rho, axis1=-2, axis2=-1)
    return check(rho, jnp.abs(tr - 1) <= atol, f"{name} does not have unit trace (|Tr rho - 1| > {atol})")


def check_hermitian(x, name: str):
    """Require ``x`` Hermitian to sqrt(eps) * max(1, max|x|) (eps of its precision); returns ``x``.

    Eigenvalue routines (``eigvalsh``/``eigh``) read one triangle only, so a non-Hermitian input would
    otherwise give a silent wrong number.
    """
    x = jnp.asarray(x)
    eps = jnp.finfo(jnp.result_type(x.dtype, float)).eps
    scale = jnp.maximum(1.0, jnp.abs(x).max(axis=(-1, -2)))
    dev = jnp.abs(x - jnp.conj(jnp.swapaxes(x, -1, -2))).max(axis=(-1, -2))
    return check(x, dev <= eps**0.5 * scale, f"{name} is not Hermitian")


# ---------------------------------------------------------------------------------------------
# parameter constraints: each rule declared once, checked eagerly or traced
# ---------------------------------------------------------------------------------------------


class Constraint(NamedTuple):
    """One rule on a model's parameters, declared once and enforced by :func:`enforce`.

    ``name`` is the parameter the error names; ``test`` maps the values of ``reads`` (default: the
    parameter itself) to a boolean array that is True where the rule holds (written with operators
    that work on NumPy and JAX arrays alike); ``message`` says the rule in words.
    """

    name: str
    test: Callable
    message: str
    reads: tuple[str, ...] = ()


def positive(name: str, what: str = "") -> Constraint:
    """``name > 0``; ``what`` describes the parameter in the message (e.g. "hot-bath temperature")."""
    return Constraint(name, lambda x: x > 0, f"{name}{_what(what)} must be > 0")


def nonnegative(name: str, what: str = "") -> Constraint:
    """``name >= 0``."""
    return Constraint(name, lambda x: x >= 0, f"{name}{_what(what)} must be >= 0")


def unit_interval(name: str, what: str = "") -> Constraint:
    """``0 <= name <= 1`` (a probability or a degree of coherence)."""
    return Constraint(name, lambda x: (x >= 0) & (x <= 1), f"{name}{_what(what)} must lie in [0, 1]")


def finite(name: str, what: str = "") -> Constraint:
    """``name`` finite (no inf; NaN is rejected for every parameter anyway)."""
    return Constraint(name, lambda x: abs(x) < float("inf"), f"{name}{_what(what)} must be finite")


def above(name: str, lower: str, message: str) -> Constraint:
    """``name > lower`` for two parameters (an ordering of levels, for instance)."""
    return Constraint(name, lambda x, y: x > y, message, (name, lower))


def _what(what: str) -> str:
    return f" ({what})" if what else ""


def _first_bad(values, ok):
    """The first value where ``ok`` is False (for the message), as a Python float."""
    v, bad = np.broadcast_arrays(np.asarray(values[0], dtype=float), ~np.asarray(ok, dtype=bool))
    return float(v.reshape(-1)[np.argmax(bad.reshape(-1))]) if v.ndim else float(v)


def enforce(values: Mapping[str, Any], constraints: Sequence[Constraint], *, eager: bool = True,
            traced: bool = True) -> dict:
    """Check ``constraints`` on a dict of parameter values; return the values.

    ``eager``: a rule whose inputs are all concrete is evaluated now and raises ``ValueError`` naming
    the parameter and its first offending value (a NaN raises "``name`` is NaN" first).  ``traced``: the
    rules with a traced input (inside ``jit``, ``vmap`` or ``grad``) become ONE ``eqx.branched_error_if``
    on the returned values, which raises at run time with the message of the first rule that fails
    (a single host callback, ahead of everything computed from the parameters).  A model checks its concrete
    fields once, at construction (``eager`` only), and adds the traced checks where its methods read
    the parameters (``traced`` only).
    """
    out = dict(values)
    if eager:
        for name, v in values.items():
            if is_concrete(v) and np.any(np.isnan(np.asarray(v, dtype=complex))):
                raise ValueError(f"{name} is NaN")
    oks, messages = [], []
    for c in constraints:
        args = [values[k] for k in (c.reads or (c.name,))]
        if all(is_concrete(a) for a in args):
            if eager:
                ok = np.asarray(c.test(*(np.asarray(a) for a in args)))
                if not np.all(ok):
                    raise ValueError(f"{c.message}; got {c.name} = {_first_bad(args, ok)!r}")
        elif traced:
            oks.append(jnp.all(c.test(*(jnp.asarray(a) for a in args))))
            messages.append(c.message)
    if oks:  # one run-time check for all traced rules, with the message of the first that fails
        oks = jnp.stack(oks)
        out = eqx.branched_error_if(out, ~jnp.all(oks), jnp.argmin(oks), messages)
    return out
