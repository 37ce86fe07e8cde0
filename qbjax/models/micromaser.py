"""Micromaser quantum battery charged by a stream of qubits (Rodriguez, Rosa & Olle, paper 002).

A cavity mode (H_F = a^dag a, omega = 1, Fock truncation ``n_levels``) starts in |0><0| and collides
with qubits prepared in (Eq. 2)

    rho_q = q |g><g| + (1 - q) |e><e| + c sqrt(q (1 - q)) (|g><e| + |e><g|),     c, q in [0, 1],

through the Jaynes-Cummings unitary U = exp(-i g (a s+ + a^dag s-)) (Eq. 4, tau = 1); the qubit is
traced out after each collision (Eq. 6).  Units: hbar = omega = 1, energies in units of omega.

The collision map, its real gauge and its checkpointed adjoint live in
:mod:`qbjax.models._micromaser_stream` (O(n_levels^2) per collision, no dense matrix products).

**Loss, Eq. (11)**: for a stream of n collisions

    L = - W_n (1 - c) (1 - q) / (W_n + (1 - c) + (1 - q))  +  lam sum_{k in eta} |E_k - E_{k-1}|,

W_n the ergotropy of the final state, E_k the energy after k collisions, eta the last
m = floor(tail n) collisions k = n - m + 1 .. n (so E_{n-m} enters), tail = 0.2 for a single stream
and 0.1 for batched protocols (the caller chooses), c and q the per-qubit means over the stream.
At c = q = 1 the first term takes its limit 0.

**Truncation guard.**  The largest population of the top Fock level |N-1> over the stream is tracked.
Above ``top_tol`` (default 1e-8) ``on_truncation`` decides: ``"warn"`` (default; a ``UserWarning``
raised through ``jax.debug.callback``, so also under jit/grad/vmap), ``"raise"`` (``eqx.error_if``)
or ``"ignore"`` (only :meth:`run` reports it).  :meth:`run` always returns the value.

**Protocol.**  The system and the battery are the cavity: states are (N, N) density matrices and
H_B = H_F.  Time is counted in collisions (the interaction time tau = 1 sets the unit), so
``evolve(ks)`` gives the states after the collision counts ``ks`` of a stream of identical qubits with
the model's fields ``c`` and ``q``; ``charge``, ``run``, ``trajectory`` and ``loss`` take explicit
(per-batch) protocols instead.

"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from functools import partial
from typing import ClassVar, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._ergotropy import ergotropy as _ergotropy
from .._states import purity as _purity
from .._validate import as_float, check, finite, unit_interval
from ._micromaser_stream import _apply, _coherence_amplitude, _stream, _vectors, from_real_gauge, to_real_gauge
from ._protocol import AbstractBattery, align

_TRUNCATION_MODES = ("warn", "raise", "ignore")


def fine_tuned_g(m, Q=1):
    """Fine-tuned coupling g = Q pi / sqrt(m) (Eq. 7); first trapping chamber n < m for Q = 1."""
    return Q * math.pi / math.sqrt(m)


def coherent_populations(q, m):
    """Eq. (8): steady-state populations p_n, n < m, of the coherent protocol (c = 1) at g = pi/sqrt(m).

    p_n = ((1 - q)/q) cot^2(pi sqrt(n) / (2 sqrt(m))) p_{n-1}, normalised to sum 1 (0 < q < 1).
    Returned as a NumPy array of length m.
    """
    n = np.arange(1, m)
    ratios = (1 - q) / q / np.tan(np.pi * np.sqrt(n) / (2 * np.sqrt(m))) ** 2
    p = np.concatenate([[1.0], np.cumprod(ratios)])
    return p / p.sum()


class ChargeResult(NamedTuple):
    """Result of :meth:`Micromaser.run`.

    rho: final physical-gauge state (N, N) complex; energies: E_0..E_n (n + 1,);
    top_population: max over the stream of <N-1|rho|N-1>; truncation_ok: top_population <= top_tol.
    """

    rho: jax.Array
    energies: jax.Array
    top_population: jax.Array
    truncation_ok: jax.Array


def _warn_truncation(top, tol, n_levels):
    top = float(top)
    if top > tol:
        warnings.warn(
            f"Micromaser truncation: population of the top Fock level |{n_levels - 1}> reached "
            f"{top:.3e} > top_tol = {tol:.1e}; increase n_levels",
            UserWarning,
            stacklevel=2,
        )


def _expand(c, q, n_collisions):
    """Per-batch (c_k, q_k) and batch sizes -> per-collision arrays (static sizes).

    ``n_collisions``: an int (c, q scalars, or arrays of B batches of equal size n/B; B = n means one
    value per collision) or a sequence of B ints (the batch sizes n_k).
    """
    c = jnp.atleast_1d(jnp.asarray(c, dtype=jnp.result_type(float)))
    q = jnp.atleast_1d(jnp.asarray(q, dtype=jnp.result_type(float)))
    if c.ndim != 1 or q.ndim != 1:
        raise ValueError(f"c and q must be scalars or 1-D arrays; got shapes {c.shape} and {q.shape}")
    if c.shape != q.shape:
        if c.shape[0] == 1:
            c = jnp.broadcast_to(c, q.shape)
        elif q.shape[0] == 1:
            q = jnp.broadcast_to(q, c.shape)
        else:
            raise ValueError(f"c and q must have the same length; got {c.shape[0]} and {q.shape[0]}")
    B = c.shape[0]
    if isinstance(n_collisions, Sequence) or np.ndim(n_collisions) == 1:
        sizes = tuple(int(s) for s in n_collisions)
        if len(sizes) != B:
            raise ValueError(f"n_collisions lists {len(sizes)} batch sizes but c, q have {B} batches")
        if min(sizes) < 0:
            raise ValueError(f"n_collisions batch sizes must be >= 0; got {sizes}")
    else:
        n = int(n_collisions)
        if n < 1:
            raise ValueError(f"n_collisions must be >= 1; got {n}")
        if n % B:
            raise ValueError(f"n_collisions = {n} is not divisible into {B} equal batches; pass the sizes")
        sizes = (n // B,) * B
    n = sum(sizes)
    if n < 1:
        raise ValueError("n_collisions must total at least 1")
    cs = jnp.repeat(c, np.array(sizes), total_repeat_length=n)
    qs = jnp.repeat(q, np.array(sizes), total_repeat_length=n)
    return c, q, sizes, cs, qs


def _check_cq(c, q):
    c = check(c, (c >= 0) & (c <= 1), "c must lie in [0, 1]")
    q = check(q, (q >= 0) & (q <= 1), "q must lie in [0, 1]")
    return c, q




class Micromaser(AbstractBattery):
    """Micromaser battery: cavity (``n_levels`` Fock states) charged by a qubit stream (paper 002).

    Fields: ``g`` (JC coupling, units of omega; JAX array), ``n_levels`` (static, >= 2),
    ``top_tol`` (static; tolerance on the top-level population, default 1e-8), ``on_truncation``
    (static; "warn", "raise" or "ignore"), and the qubits of the model's own stream, ``c`` and ``q``
    in [0, 1] (Eq. 2; default 0 and 0: incoherent, fully excited qubits), used by :meth:`evolve`,
    :meth:`ergotropy_curve` and :meth:`features`.  The stream methods (``collide``, ``charge``,
    ``run``, ``trajectory``, ``loss``) take their protocol as arguments and need an unbatched model
    (``jax.vmap`` over models for batches).  See the module docstring for equations and conventions.
    """

    g: jax.Array = eqx.field(converter=lambda x: as_float(x, "g"))
    n_levels: int = eqx.field(default=120, static=True)
    top_tol: float = eqx.field(default=1e-8, static=True)
    on_truncation: str = eqx.field(default="warn", static=True)
    c: jax.Array = eqx.field(default=0.0, converter=lambda x: as_float(x, "c"))
    q: jax.Array = eqx.field(default=0.0, converter=lambda x: as_float(x, "q"))

    constraints: ClassVar = (finite("g", "qubit-cavity coupling"), unit_interval("c", "qubit coherence"),
                             unit_interval("q", "qubit ground-state population"))

    def __check_init__(self):
        if isinstance(self.n_levels, bool) or int(self.n_levels) != self.n_levels or self.n_levels < 2:
            raise ValueError(f"n_levels must be an integer >= 2; got {self.n_levels!r}")
        if self.on_truncation not in _TRUNCATION_MODES:
            raise ValueError(f"on_truncation must be one of {_TRUNCATION_MODES}; got {self.on_truncation!r}")
        if not self.top_tol > 0:
            raise ValueError(f"top_tol must be > 0; got {self.top_tol}")

    def _g(self):
        if self.batch_shape:
            raise ValueError("this Micromaser method needs an unbatched model (g, c, q scalars); "
                             f"got batch_shape {self.batch_shape} (jax.vmap over models for batches)")
        return self.parameters()["g"]

    # -- operators ---------------------------------------------------------------------------------
    def hamiltonian(self):
        """H_F = a^dag a = diag(0, 1, ..., N-1) (units of omega), real, (N, N)."""
        return jnp.diag(jnp.arange(self.n_levels, dtype=jnp.result_type(float)))

    def battery_hamiltonian(self):
        """The battery is the cavity: H_F."""
        return self.hamiltonian()

    def ground_state(self):
        """|0><0| (N, N), real (identical in both gauges)."""
        return jnp.zeros((self.n_levels, self.n_levels), jnp.result_type(float)).at[0, 0].set(1.0)

    def initial_state(self):
        """The empty cavity |0><0| (:meth:`ground_state`)."""
        return self.ground_state()

    def battery_state(self, rho):
        """The cavity is the battery: ``rho`` itself."""
        return jnp.asarray(rho)

    def qubit_state(self, c, q):
        """rho_q of Eq. (2) in the basis (|g>, |e>), (2, 2)."""
        c, q = _check_cq(as_float(c, "c"), as_float(q, "q"))
        x = _coherence_amplitude(c, q)
        return jnp.array([[q, x], [x, 1 - q]])

    # -- dynamics ----------------------------------------------------------------------------------
    def collide(self, rho, c, q):
        """One collision rho_B(k) -> rho_B(k+1) (Eqs. 5-6) for a physical-gauge (N, N) state; O(N^2)."""
        rho = jnp.asarray(rho)
        if rho.shape[-2:] != (self.n_levels, self.n_levels):
            raise ValueError(f"rho must have shape ({self.n_levels}, {self.n_levels}); got {rho.shape}")
        c, q = _check_cq(as_float(c, "c"), as_float(q, "q"))
        M = _vectors(self._g(), self.n_levels)
        return from_real_gauge(_apply(to_real_gauge(rho), M, c, q))

    def run(self, c, q, n_collisions, rho0=None, block=None) -> ChargeResult:
        """Charge along a protocol; returns a :class:`ChargeResult` (see :meth:`charge` for inputs)."""
        c, q, sizes, cs, qs = _expand(c, q, n_collisions)
        c, q = _check_cq(c, q)
        if rho0 is None:
            R0 = self.ground_state()
        else:
            rho0 = jnp.asarray(rho0)
            if rho0.shape != (self.n_levels, self.n_levels):
                raise ValueError(f"rho0 must have shape ({self.n_levels}, {self.n_levels}); got {rho0.shape}")
            R0 = to_real_gauge(rho0)
        return self._run(R0, cs, qs, block)

    @eqx.filter_jit
    def _run(self, R0, cs, qs, block):
        M = _vectors(self._g(), self.n_levels)
        R, E, top = _stream(R0, M, cs, qs, block)
        E0 = jnp.real(jnp.trace(R0 @ self.hamiltonian().astype(R0.dtype)))
        R = self._guard(R, top)
        return ChargeResult(from_real_gauge(R), jnp.concatenate([E0[None], E]), top, top <= self.top_tol)

    def _guard(self, x, top):
        if self.on_truncation == "raise":
            return eqx.error_if(
                x, top > self.top_tol, f"Micromaser truncation: top Fock level population > top_tol={self.top_tol}"
            )
        if self.on_truncation == "warn":
            jax.debug.callback(partial(_warn_truncation, tol=self.top_tol, n_levels=self.n_levels), top)
        return x

    def charge(self, c, q, n_collisions, rho0=None, block=None):
        """Charge the cavity: returns (final physical-gauge rho (N, N), energies E_0..E_n (n + 1,)).

        c, q: scalars, or per-batch arrays of length B with ``n_collisions`` an int split into B equal
        batches (B = n: one value per collision) or a sequence of the B batch sizes n_k.
        rho0: initial cavity state (default |0><0|).  ``block``: checkpoint block length (default
        ~sqrt(n), a divisor of n when one is near).  Reverse mode holds ~2 sqrt(n) states (module docstring).
        """
        res = self.run(c, q, n_collisions, rho0=rho0, block=block)
        return res.rho, res.energies

    def trajectory(self, c, q, n_collisions, checkpoints, rho0=None):
        """States after the collision counts in ``checkpoints`` (increasing ints in [0, n]).

        Returns (states (len(checkpoints), N, N) physical gauge, energies E_0..E_n (n + 1,)).
        Forward only (a ``while_loop`` between checkpoints, one compilation for any checkpoints).
        """
        c, q, sizes, cs, qs = _expand(c, q, n_collisions)
        c, q = _check_cq(c, q)
        ks = np.asarray([int(k) for k in checkpoints])
        if np.any(np.diff(ks) < 0) or ks[0] < 0 or ks[-1] > cs.shape[0]:
            raise ValueError("checkpoints must be increasing collision counts within the stream")
        R0 = self.ground_state() if rho0 is None else to_real_gauge(jnp.asarray(rho0))
        states, E = self._trajectory(R0, cs, qs, jnp.asarray(ks))
        return from_real_gauge(states), E

    @eqx.filter_jit
    def _trajectory(self, R0, cs, qs, ks):
        M = _vectors(self._g(), self.n_levels)
        levels = jnp.arange(self.n_levels, dtype=jnp.result_type(float))
        E = jnp.zeros(cs.shape[0] + 1, jnp.result_type(float)).at[0].set(jnp.real(jnp.diagonal(R0)) @ levels)

        def segment(carry, k):
            R, E, i = carry

            def body(state):
                R, E, i = state
                R = _apply(R, M, cs[i], qs[i])
                return R, E.at[i + 1].set(jnp.real(jnp.diagonal(R)) @ levels), i + 1

            R, E, i = jax.lax.while_loop(lambda s: s[2] < k, body, (R, E, i))
            return (R, E, i), R

        (_, E, _), states = jax.lax.scan(segment, (R0, E, jnp.zeros((), ks.dtype)), ks)
        return states, E

    # -- the protocol: a stream of identical qubits (c, q) ------------------------------------------
    def evolve(self, ts, rho0=None):
        """States after the collision counts ``ts`` (increasing integers >= 0; time in units of the
        collision time) of a stream of qubits rho_q(c, q) from ``rho0`` (default |0><0|),
        (*batch, len(ts), N, N) complex, physical gauge."""
        ks = np.asarray(ts)
        if ks.ndim != 1 or not np.all(ks == np.round(ks)):
            raise ValueError(f"ts must be a 1-D sequence of collision counts (integers); got {ts!r}")
        n = max(int(ks.max()), 1)

        def one(m, r0):
            p = m.parameters()
            return m.trajectory(p["c"], p["q"], n, ks.astype(int), rho0=r0)[0]

        return self.map_members(one, rho0)

    def ergotropy(self, rho):
        """W = Tr(rho H_F) - passive energy (Eq. 10), via :func:`qbjax.ergotropy`; ``rho`` (..., N, N)."""
        H = self.hamiltonian().astype(jnp.result_type(jnp.asarray(rho).dtype, float))
        return _ergotropy(rho, align(H, rho))

    def ergotropy_curve(self, ts, rho0=None):
        """Ergotropy W after the collision counts ``ts`` (see :meth:`evolve`), (*batch, len(ts))."""
        return self.ergotropy(self.evolve(ts, rho0))

    def purity(self, rho):
        """Tr(rho^2) of cavity state(s) ``rho`` (..., N, N)."""
        return _purity(rho)

    def features(self, n_collisions: int = 1000) -> dict:
        """After ``n_collisions`` qubits rho_q(c, q) from |0><0|: ergotropy ``W``, ``energy``,
        ``purity`` and ``top_population`` (largest population of the top Fock level over the stream),
        each ``batch_shape``."""

        def one(m):
            p = m.parameters()
            res = m.run(p["c"], p["q"], int(n_collisions))
            return {"W": m.ergotropy(res.rho), "energy": res.energies[-1], "purity": _purity(res.rho),
                    "top_population": res.top_population}

        return self.map_members(one)

    def loss(self, c, q, n_collisions=1000, lam=10.0, tail=0.2, block=None):
        """Eq. (11) (module docstring: the window eta and the per-qubit means made explicit); differentiable in c, q and lam.

        c, q: scalars or per-batch arrays (see :meth:`charge`).  tail: fraction of the stream in the
        penalty window eta (floor(tail n) collisions; 0.2 single stream, 0.1 batched, per the paper).
        """
        return self.loss_terms(c, q, n_collisions, lam, tail, block)["loss"]

    def loss_terms(self, c, q, n_collisions=1000, lam=10.0, tail=0.2, block=None):
        """Eq. (11) and its parts: dict with loss, W, first (ergotropy term), penalty (sum |dE|),
        c_mean, q_mean, top_population."""
        c, q, sizes, cs, qs = _expand(c, q, n_collisions)
        c, q = _check_cq(c, q)
        n = cs.shape[0]
        m = int(math.floor(float(tail) * n + 1e-9))  # floor(tail n), robust to 0.29 * 100 = 28.999...
        if not 0 <= m <= n:
            raise ValueError(f"tail must lie in [0, 1]; got {tail}")
        lam = as_float(lam, "lam")
        return self._loss_terms(cs, qs, lam, m, block)

    @eqx.filter_jit
    def _loss_terms(self, cs, qs, lam, m, block):
        n = cs.shape[0]
        M = _vectors(self._g(), self.n_levels)
        R, E, top = _stream(self.ground_state(), M, cs, qs, block)
        R = self._guard(R, top)
        W = _ergotropy(R, self.hamiltonian())
        E_all = jnp.concatenate([jnp.zeros(1, E.dtype), E])  # E_0 = 0 for |0><0|
        penalty = jnp.sum(jnp.abs(jnp.diff(E_all[n - m :]))) if m > 0 else jnp.zeros((), E.dtype)
        cbar, qbar = jnp.mean(cs), jnp.mean(qs)
        a, b = 1 - cbar, 1 - qbar
        den = W + a + b
        ok = den > 0
        first = jnp.where(ok, -W * a * b / jnp.where(ok, den, 1.0), 0.0)  # limit 0 at c = q = 1
        return {
            "loss": first + lam * penalty,
            "W": W,
            "first": first,
            "penalty": penalty,
            "c_mean": cbar,
            "q_mean": qbar,
            "top_population": top,
        }
