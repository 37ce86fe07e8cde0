"""Input validation shared by the core and the models: one policy, written once.

Concrete values are checked eagerly and raise ``ValueError`` naming the argument and the violated
property (a NaN is called NaN, an infinity inf).  Traced values (inside ``jit``/``vmap``/``grad``)
cannot be inspected in Python, so all the checks of one call become ONE ``equinox.branched_error_if``,
which raises at run time with the message of the first property that fails.

What is checked (``tol`` = :func:`state_tolerance`: 1e-6 in float64, 1e-3 in float32):

* states ``rho`` (:func:`check_state`): square, finite, Hermitian (max|rho - rho^dag| <= tol), unit
  trace (|Tr rho - 1| <= tol) and positive (smallest eigenvalue >= -tol); kets ``psi``
  (:func:`check_ket`): finite and normalised (|<psi|psi> - 1| <= tol);
* Hamiltonians (:func:`check_hamiltonian`): square, finite, Hermitian to sqrt(eps) max(1, max|H|);
* generators (:func:`check_generator`): square, finite, trace preserving, max|t^T L| <= tol max|L|
  for the trace functional t;
* times (:func:`check_times`): one-dimensional, non-empty, finite, strictly increasing (and not
  before the start time where there is one);
* integers (:func:`as_int`): integer-valued and within bounds.

``qb.set_validation(False)`` switches every check off (eager and traced), for hot loops whose inputs
are known to be valid; it can be used as a context manager (``with qb.set_validation(False): ...``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np


_ENABLED = [True]


def _trace_key_state():
    """A JAX configuration flag mirroring the setting, part of JAX's trace context: a function traced
    (and cached by ``jax.jit``/``eqx.filter_jit``) with validation on is traced again, not reused,
    when called with validation off, and vice versa.  None if this JAX has no such hook."""
    try:
        from jax._src import config as _config

        return _config.bool_state("qbjax_validation", True, "qbjax's input validation (qb.set_validation)",
                                  include_in_jit_key=True, include_in_trace_context=True)
    except Exception:  # noqa: BLE001 - a private API: without it the setting is read at trace time only
        return None


_TRACE_KEY = _trace_key_state()


def _set(enabled: bool) -> None:
    _ENABLED[0] = bool(enabled)
    if _TRACE_KEY is not None:
        jax.config.update("qbjax_validation", bool(enabled))


class set_validation:
    """Switch qbjax's input validation on (default) or off; also a context manager.

    ``qb.set_validation(False)`` turns off every eager check and every traced ``eqx.error_if`` of the
    core functions and the model methods (their compiled programs then carry no host callback).  Used
    as ``with qb.set_validation(False): ...`` it restores the previous setting on exit.  The setting
    is read when a function is traced, so a function compiled with validation on keeps its checks.
    """

    def __init__(self, enabled: bool):
        self.previous = _ENABLED[0]
        _set(enabled)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _set(self.previous)
        return False


def validation_enabled() -> bool:
    """Whether qbjax checks its inputs (True by default; :class:`set_validation` switches it).

    With validation on, bad input raises ``ValueError`` naming the argument on concrete values and
    ``eqx.error_if`` under ``jit``; with it off, compiled programs carry no host callback (a sweep's
    hot loop, whose grid was checked up front) and a singular steady state comes back as NaN.
    """
    return _ENABLED[0]


def is_concrete(x) -> bool:
    """True when ``x`` holds values Python can inspect (not a JAX tracer)."""
    leaves = jax.tree_util.tree_leaves(x)
    return not any(isinstance(leaf, jax.core.Tracer) for leaf in leaves)


def _arrays(*xs):
    """``(xp, *arrays)``: NumPy and NumPy views when every ``x`` is concrete, else ``jax.numpy`` and
    JAX arrays.

    Eager checks compute with NumPy: they then compile nothing (a ``jnp`` reduction on a concrete
    array compiles one small XLA program per shape and dtype, seconds in total for a first call),
    and the traced checks build the same tests from ``jax.numpy``.
    """
    if is_concrete(xs):
        return (np, *(np.asarray(x) for x in xs))
    return (jnp, *(jnp.asarray(x) for x in xs))


def check(x, ok, message: str):
    """Return ``x``; raise ``ValueError(message)`` where ``ok`` is False.

    ``ok`` is a boolean array (or a callable of ``x`` returning one).  With concrete inputs the error
    is raised immediately; with traced inputs it is raised by ``eqx.error_if`` when the compiled
    computation runs.
    """
    if not _ENABLED[0]:
        return x
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

    def not_nan(a):
        xp, v = _arrays(a)
        return ~xp.isnan(v)

    return check(arr, not_nan, f"{name} contains NaN")


def check_square(x, name: str, size: int | None = None):
    """Require ``x.shape[-2:] == (n, n)`` (and ``n == size`` when given)."""
    shape = jnp.shape(x)
    if len(shape) < 2 or shape[-1] != shape[-2]:
        raise ValueError(f"{name} must be a square matrix (..., n, n); got shape {shape}")
    if size is not None and shape[-1] != size:
        raise ValueError(f"{name} must have shape (..., {size}, {size}); got shape {shape}")
    return x


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
    if not _ENABLED[0]:
        return out
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


# ---------------------------------------------------------------------------------------------
# arrays of the core: states, Hamiltonians, generators, times, integers
# ---------------------------------------------------------------------------------------------


def state_tolerance(dtype=None) -> float:
    """Tolerance of the state checks: 1e-6 in double precision, 1e-3 in single precision.

    Loose enough for states produced by an ODE solve (rtol 1e-8) or a round-off-level negative
    eigenvalue, tight enough to reject a state that is off by a physically meaningful amount.
    """
    real = jnp.finfo(jnp.result_type(dtype if dtype is not None else float, float)).dtype
    return 1e-6 if real == jnp.float64 else 1e-3


def checks(x, tests, *, name_for_errors=None):
    """Apply a list of ``(ok, message)`` rules to ``x`` and return ``x``.

    Rules are tried in order.  A concrete ``ok`` that is not all True raises ``ValueError(message)``
    at once; the traced ones are gathered into ONE ``eqx.branched_error_if`` on ``x`` that raises the
    message of the first failing rule when the computation runs.  ``ok`` may be a zero-argument
    callable, evaluated only while no earlier concrete rule failed (so that an expensive test, an
    eigenvalue for instance, never runs on NaN input).
    """
    if not _ENABLED[0]:
        return x
    oks, messages = [], []
    for ok, message in tests:
        ok = ok() if callable(ok) else ok
        if is_concrete(ok):
            if not bool(np.all(np.asarray(ok))):
                raise ValueError(message)
        else:
            oks.append(jnp.all(ok))
            messages.append(message)
    if oks:
        oks = jnp.stack(oks)
        x = eqx.branched_error_if(x, ~jnp.all(oks), jnp.argmin(oks), messages)
    return x


def finite_rules(x, name: str):
    """The rules "``name`` contains NaN" and "``name`` contains inf" for :func:`checks`."""
    xp, a = _arrays(x)
    return [(~xp.any(xp.isnan(a)), f"{name} contains NaN"),
            (~xp.any(xp.isinf(a)), f"{name} contains inf")]


def check_finite(x, name: str):
    """Return ``x`` as an array; raise where it contains NaN or inf (named)."""
    x = jnp.asarray(x)
    return checks(x, finite_rules(x, name))


def _numpy_min_eigenvalue(x):
    return np.linalg.eigvalsh(np.asarray(x)).min()


def state_rules(rho, name: str = "rho", *, spectrum=None, positivity: bool = True):
    """The density-matrix rules for :func:`checks`: finite, Hermitian, unit trace, positive.

    Tolerance :func:`state_tolerance`.  ``spectrum``: the eigenvalues of ``rho`` when the caller
    computes them anyway (a traced positivity test then costs nothing extra); without it a traced
    positivity test costs one ``eigvalsh``, a concrete one a NumPy ``eigvalsh``.
    """
    tol = state_tolerance(rho.dtype)
    xp, r = _arrays(rho)
    rules = finite_rules(rho, name)
    rules.append((lambda: xp.abs(r - xp.conj(xp.swapaxes(r, -1, -2))).max() <= tol,
                  f"{name} is not Hermitian (max|{name} - {name}^dagger| > {tol:g})"))
    rules.append((lambda: xp.abs(xp.trace(r, axis1=-2, axis2=-1) - 1).max() <= tol,
                  f"{name} does not have unit trace (|Tr {name} - 1| > {tol:g})"))
    if positivity:
        def positive():
            if is_concrete(rho):
                return _numpy_min_eigenvalue(rho) >= -tol
            r = jnp.linalg.eigvalsh(rho) if spectrum is None else spectrum
            return jnp.min(r) >= -tol
        rules.append((positive, f"{name} is not positive semidefinite (an eigenvalue < -{tol:g})"))
    return rules


def check_state(rho, name: str = "rho", *, positivity: bool = True, size: int | None = None):
    """Return ``rho`` (..., d, d) after checking that it is a density matrix (:func:`state_rules`)."""
    rho = check_square(jnp.asarray(rho), name, size=size)
    if not _ENABLED[0]:
        return rho
    return checks(rho, state_rules(rho, name, positivity=positivity))


def state_and_spectrum(rho, name: str = "rho", *, size: int | None = None, eig=None):
    """``(rho, eig(rho))`` after the density-matrix checks, both carrying the traced check.

    ``eig`` (default ``jnp.linalg.eigvalsh``) may return a tuple whose first entry is the eigenvalues
    (``jnp.linalg.eigh``).  Traced, the spectrum needed by the positivity test is the one returned, so
    validation adds no eigensolver; concrete, the checks run first and NaN never reaches LAPACK.
    """
    eig = jnp.linalg.eigvalsh if eig is None else eig
    rho = check_square(jnp.asarray(rho), name, size=size)
    if not _ENABLED[0]:
        return rho, eig(rho)
    if is_concrete(rho):
        rho = checks(rho, state_rules(rho, name))
        return rho, eig(rho)
    spec = eig(rho)
    values = spec[0] if isinstance(spec, tuple) else spec
    return checks((rho, spec), state_rules(rho, name, spectrum=values))


def check_ket(psi, name: str = "psi0", *, size: int | None = None):
    """Return ``psi`` (..., d) after checking it is a finite, normalised ket (| <psi|psi> - 1 | <= tol,
    tol = :func:`state_tolerance`)."""
    psi = jnp.asarray(psi)
    if psi.ndim < 1 or (size is not None and psi.shape[-1] != size):
        want = "(..., d)" if size is None else f"(..., {size})"
        raise ValueError(f"{name} must be a ket of shape {want}; got shape {psi.shape}")
    if not _ENABLED[0]:
        return psi
    tol = state_tolerance(psi.dtype)
    # |psi|^2 as re^2 + im^2: XLA's simplifier rewrites abs(iota) as the iota itself, a complex
    # array for a complex constant ket such as (0, 1) under jit, and then fails to compile
    xp, p = _arrays(psi)
    norm = lambda: xp.abs(xp.sum(xp.real(p) ** 2 + xp.imag(p) ** 2, axis=-1) - 1).max() <= tol  # noqa: E731
    return checks(psi, finite_rules(psi, name) + [(norm, f"{name} is not normalised (|<{name}|{name}> - 1| > {tol:g})")])


def check_hamiltonian(H, name: str = "H", size: int | None = None):
    """Return ``H`` (..., d, d) after checking it is square, finite and Hermitian (see module text)."""
    H = check_square(jnp.asarray(H), name, size=size)
    if not _ENABLED[0]:
        return H
    eps = jnp.finfo(jnp.result_type(H.dtype, float)).eps
    xp, h = _arrays(H)

    def hermitian():
        scale = xp.maximum(1.0, xp.abs(h).max(axis=(-1, -2)))
        dev = xp.abs(h - xp.conj(xp.swapaxes(h, -1, -2))).max(axis=(-1, -2))
        return dev <= eps**0.5 * scale

    return checks(H, finite_rules(H, name) + [(hermitian, f"{name} is not Hermitian")])


def check_generator(L, name: str = "L", trace=None, *, what: str = "vec(identity)"):
    """Return ``L`` (..., n, n) after checking it is square, finite and trace preserving.

    Trace preserving: max|t^T L| <= tol max|L| for the trace functional ``t`` (default vec(identity)
    of a (d^2, d^2) superoperator), tol = :func:`state_tolerance`.  ``what`` names ``t`` in the message;
    for t = vec(identity) the message also points to ``qb.from_qutip`` (a QuTiP Choi matrix fails this
    test; a QuTiP "super" generator in its column-stacking convention passes it, t being invariant
    under the permutation between the two conventions, so it cannot be detected here).
    """
    L = check_square(jnp.asarray(L), name)
    if not _ENABLED[0]:
        return L
    n = L.shape[-1]
    if trace is None:
        d = int(round(n**0.5))
        if d * d != n:
            raise ValueError(f"{name} of shape {L.shape} is not a (d^2, d^2) superoperator")
        trace = np.eye(d, dtype=L.dtype).reshape(n)
    tol = state_tolerance(L.dtype)
    xp, a, t = _arrays(L, trace)

    def preserving():
        leak = xp.abs(xp.einsum("i,...ij->...j", t.astype(xp.result_type(t, a)), a)).max(axis=-1)
        return leak <= tol * xp.abs(a).max(axis=(-1, -2))

    hint = "; QuTiP's column-stacking convention or a Choi matrix? use qb.from_qutip" if what.startswith(
        "vec(identity)") else ""
    return checks(L, finite_rules(L, name)
                  + [(preserving, f"{name} is not trace preserving (t^T {name} != 0 for the trace functional t = {what})"
                      + hint)])


def check_times(ts, name: str = "ts", *, start=None, start_name: str = "t0", dtype=None):
    """Return ``ts`` as a 1-D float array after checking it is non-empty, finite and strictly increasing.

    With ``start`` (a scalar), also ``ts[0] >= start``: the solvers integrate forward from it.
    """
    ts = jnp.asarray(ts, dtype=dtype if dtype is not None else jnp.result_type(float))
    if ts.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional; got shape {ts.shape}")
    if ts.shape[0] == 0:
        raise ValueError(f"{name} is empty; give at least one time")
    if not _ENABLED[0]:
        return ts
    xp, t, *s0 = _arrays(ts, *(() if start is None else (start,)))
    rules = finite_rules(ts, name)
    rules.append((lambda: xp.all(xp.diff(t) > 0), f"{name} must be strictly increasing"))
    if s0:
        rules.append((lambda: t[0] >= s0[0], f"{name} must not start before {start_name}"))
    return checks(ts, rules)


def as_int(x, name: str, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """``x`` as a Python int; raises unless it is an integer value (20.0 is, 20.7 and NaN are not)."""
    try:
        v = float(x)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an integer; got {x!r}") from None
    if np.isnan(v):
        raise ValueError(f"{name} is NaN; it must be an integer")
    if not np.isfinite(v) or v != int(v):
        raise ValueError(f"{name} must be an integer; got {x!r}")
    v = int(v)
    if minimum is not None and v < minimum:
        raise ValueError(f"{name} must be >= {minimum}; got {v}")
    if maximum is not None and v > maximum:
        raise ValueError(f"{name} must be <= {maximum}; got {v}")
    return v
