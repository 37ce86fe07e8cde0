"""Micromaser quantum battery charged by a stream of qubits (Rodriguez, Rosa & Olle, paper 002).

A cavity mode (H_F = a^dag a, omega = 1, Fock truncation ``n_levels``) starts in |0><0| and collides with qubits
prepared in (Eq. 2)

    rho_q = q |g><g| + (1 - q) |e><e| + c sqrt(q (1 - q)) (|g><e| + |e><g|),     c, q in [0, 1],

through the Jaynes-Cummings unitary U = exp(-i g (a s+ + a^dag s-)) (Eq. 4, tau = 1); the qubit is traced out after
each collision (Eq. 6).  Units: hbar = omega = 1, energies in units of omega.

The collision map, its real gauge and its checkpointed adjoint live in :mod:`qbjax.models._micromaser_stream`
(O(n_levels^2) per collision, no dense matrix products).  **Loss, Eq. (11)**: for a stream of n collisions

    L = - W_n (1 - c) (1 - q) / (W_n + (1 - c) + (1 - q))  +  lam sum_{k in eta} |E_k - E_{k-1}|,

W_n the ergotropy of the final state, E_k the energy after k collisions, eta the last m = floor(tail n) collisions
k = n - m + 1 .. n (so E_{n-m} enters), tail = 0.2 for a single stream and 0.1 for batched protocols (the caller
chooses), c and q the per-qubit means over the stream. At c = q = 1 the first term takes its limit 0.

**Truncation guard.**  The largest population of the top Fock level |N-1> over the stream is tracked (``run``,
``charge``, ``trajectory``, ``evolve``, ``features``, ``loss``).  Above ``top_tol`` (default 1e-8) ``on_truncation``
decides: ``"raise"`` (default; a ``ValueError`` naming ``n_levels`` with the top-level population and the advice to
raise n_levels, ``eqx.error_if`` when traced), ``"warn"`` (a ``UserWarning``; through ``jax.debug.callback`` when
traced) or ``"ignore"`` (:meth:`run` still reports it in ``top_population``, ``truncation_ok``): for convergence studies.

**Inputs** are checked (each method lists its ``ValueError``s; ``eqx.error_if`` when traced), and the checked values
are the ones the stream integrates.  **Protocol.**  System and battery are the cavity ((N, N) density matrices,
H_B = H_F); time is counted in collisions (tau = 1).  ``evolve`` streams identical qubits (the fields ``c``, ``q``);
``charge``, ``run``, ``trajectory`` and ``loss`` take explicit (per-batch) protocols.
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
from .._validate import (as_float, as_int, check_state, check_times, checks, finite, finite_rules, is_concrete,
                         unit_interval, validation_enabled)
from ._micromaser_stream import (_apply, _at, _coherence_amplitude, _fwd_core, _put, _stream, _vectors, from_real_gauge,
                                 to_real_gauge)
from ._protocol import AbstractBattery, align

_TRUNCATION_MODES = ("raise", "warn", "ignore")


def fine_tuned_g(m, Q=1):
    """Fine-tuned coupling g = Q pi / sqrt(m) (Eq. 7); first trapping chamber n < m for Q = 1."""
    return Q * math.pi / math.sqrt(m)


def coherent_populations(q, m):
    """Eq. (8): steady-state populations p_n, n < m, of the coherent protocol (c = 1) at g = pi/sqrt(m).

    p_n = ((1 - q)/q) cot^2(pi sqrt(n) / (2 sqrt(m))) p_{n-1}, normalised to sum 1 (0 < q < 1); a NumPy array (m,).
    """
    n = np.arange(1, m)
    ratios = (1 - q) / q / np.tan(np.pi * np.sqrt(n) / (2 * np.sqrt(m))) ** 2
    p = np.concatenate([[1.0], np.cumprod(ratios)])
    return p / p.sum()


class ChargeResult(NamedTuple):
    """Result of :meth:`Micromaser.run`: rho, final physical-gauge state (N, N) complex; energies: E_0..E_n (n + 1,);
    top_population: max over the stream of <N-1|rho|N-1>; truncation_ok: top_population <= top_tol.
    """

    rho: jax.Array
    energies: jax.Array
    top_population: jax.Array
    truncation_ok: jax.Array


def _truncation_message(top, tol, n_levels):
    """The truncation error (``top``: the top-level population, None when traced)."""
    value = f" reached {top:.3e}" if top is not None else ""
    return (f"Micromaser truncation: the population of the top Fock level |{n_levels - 1}>{value} exceeds top_tol = "
            f"{tol:.1e} for n_levels = {n_levels}; raise n_levels (or pass on_truncation='warn' or 'ignore')")


def _warn_truncation(top, tol, n_levels):
    top = float(top)
    if top > tol:
        warnings.warn(_truncation_message(top, tol, n_levels), UserWarning, stacklevel=2)


def _expand(c, q, n_collisions):
    """Per-batch (c_k, q_k) and batch sizes -> checked per-batch and per-collision arrays (static sizes).

    ``n_collisions``: an int >= 1 (B equal batches of n/B) or a sequence of B ints >= 0 (the sizes n_k).
    c and q are checked BEFORE they are repeated, so the per-collision arrays carry the check.
    """
    c, q = _check_cq(jnp.atleast_1d(c), jnp.atleast_1d(q))
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
        sizes = tuple(as_int(s, "n_collisions (batch size)", minimum=0) for s in n_collisions)
        if len(sizes) != B:
            raise ValueError(f"n_collisions lists {len(sizes)} batch sizes but c, q have {B} batches")
    else:
        n = as_int(n_collisions, "n_collisions", minimum=1)
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
    """(c, q) as float arrays after checking both lie in [0, 1] (NaN named; one ``eqx.branched_error_if``
    when traced)."""
    c, q = (jnp.asarray(x, dtype=jnp.result_type(float)) for x in (c, q))
    rules = [(~jnp.any(jnp.isnan(c)), "c is NaN"), (jnp.all((c >= 0) & (c <= 1)), "c must lie in [0, 1]"),
             (~jnp.any(jnp.isnan(q)), "q is NaN"), (jnp.all((q >= 0) & (q <= 1)), "q must lie in [0, 1]")]
    return checks((c, q), rules)


def _block(block):
    """The checkpoint block length: None (automatic) or an integer >= 1."""
    return None if block is None else as_int(block, "block", minimum=1)


class Micromaser(AbstractBattery):
    """Micromaser battery: cavity (``n_levels`` Fock states) charged by a qubit stream (paper 002).

    Fields: ``g`` (JC coupling, units of omega; JAX array), ``n_levels`` (static, >= 2), ``top_tol`` (static;
    tolerance on the top-level population, default 1e-8), ``on_truncation`` (static; "raise" (default), "warn"
    or "ignore"; module docstring), and the qubits of the model's own stream, ``c`` and ``q`` in [0, 1] (Eq. 2;
    default 0 and 0: incoherent, fully excited qubits), used by :meth:`evolve`, :meth:`ergotropy_curve` and
    :meth:`features`. The stream methods (``collide``, ``charge``, ``run``, ``trajectory``, ``loss``) take their
    protocol as arguments and need an unbatched model (``jax.vmap`` over models for batches). See the module
    docstring for equations and conventions.
    """

    g: jax.Array = eqx.field(converter=lambda x: as_float(x, "g"))
    n_levels: int = eqx.field(default=120, static=True)
    top_tol: float = eqx.field(default=1e-8, static=True)
    on_truncation: str = eqx.field(default="raise", static=True)
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
        """Cavity Hamiltonian H_F = a^dag a = diag(0, 1, ..., N-1), N = ``n_levels``.

        Returns: real array (N, N), units of omega (one for every batch member)."""
        return jnp.diag(jnp.arange(self.n_levels, dtype=jnp.result_type(float)))

    def battery_hamiltonian(self):
        """H_B = H_F = a^dag a: the battery is the cavity.

        Returns: real array (N, N), units of omega."""
        return self.hamiltonian()

    def ground_state(self):
        """The empty cavity |0><0|, a real (N, N) array (identical in both gauges).

        Returns: real array (N, N)."""
        return jnp.zeros((self.n_levels, self.n_levels), jnp.result_type(float)).at[0, 0].set(1.0)

    def initial_state(self):
        """The default start at collision 0: the empty cavity |0><0| (:meth:`ground_state`).

        Returns: real array (N, N)."""
        return self.ground_state()

    def battery_state(self, rho):
        """rho_B = rho: the cavity is the battery (no validation).

        Args:
            rho: cavity state(s) (..., N, N); returned as a JAX array.
        """
        return jnp.asarray(rho)

    def qubit_state(self, c, q):
        """rho_q = q |g><g| + (1 - q) |e><e| + c sqrt(q (1 - q)) (|g><e| + |e><g|) (Eq. (2)), basis (|g>, |e>).

        Args:
            c, q: coherence and ground-state population, scalars in [0, 1]; the result is real (2, 2).

        Raises:
            ValueError: naming ``c`` or ``q`` when NaN or outside [0, 1] (``eqx.error_if`` when traced).
        """
        c, q = _check_cq(c, q)
        x = _coherence_amplitude(c, q)
        return jnp.array([[q, x], [x, 1 - q]])

    # -- dynamics ----------------------------------------------------------------------------------
    def collide(self, rho, c, q):
        """One collision rho_B(k) -> rho_B(k+1) (Eqs. 5-6) for a physical-gauge (N, N) state; O(N^2).

        Args:
            rho: physical-gauge cavity density matrix (N, N); the result is complex (N, N).
            c, q: the qubit's coherence and ground-state population (Eq. (2)), in [0, 1].

        Raises:
            ValueError: naming ``rho`` (not an (N, N) density matrix), ``c`` or ``q`` (NaN or outside [0, 1]).
        """
        rho = check_state(rho, "rho", size=self.n_levels)
        c, q = _check_cq(c, q)
        M = _vectors(self._g(), self.n_levels)
        return from_real_gauge(_apply(to_real_gauge(rho), M, c, q))

    def run(self, c, q, n_collisions, rho0=None, block=None) -> ChargeResult:
        """Charge the cavity along a qubit protocol (Eqs. (4)-(6)), with the truncation diagnostics.

        Args:
            c, q, n_collisions, rho0, block: the protocol, as :meth:`charge`.

        Returns:
            :class:`ChargeResult`: rho (N, N), energies E_0..E_n (n + 1,) in units of omega, top_population.

        Raises:
            ValueError: naming an invalid input, as :meth:`charge`.
            ValueError: naming ``n_levels`` when the top Fock level exceeds ``top_tol`` (``on_truncation="raise"``).
        """
        c, q, sizes, _, _ = _expand(c, q, n_collisions)
        R0 = self._start(rho0)
        res = self._run(R0, c, q, sizes, _block(block))
        return self._guard(res, res.top_population)

    def _start(self, rho0):
        """The real-gauge start: |0><0|, or the checked (N, N) density matrix ``rho0``."""
        return self.ground_state() if rho0 is None else to_real_gauge(check_state(rho0, "rho0", size=self.n_levels))

    @eqx.filter_jit
    def _run(self, R0, c, q, sizes, block):
        M = _vectors(self._g(), self.n_levels)
        R, E, top = _stream(R0, M, c, q, sizes, block)
        E0 = jnp.real(jnp.trace(R0 @ self.hamiltonian().astype(R0.dtype)))
        return ChargeResult(from_real_gauge(R), jnp.concatenate([E0[None], E]), top, top <= self.top_tol)

    def _guard(self, x, top):
        """``x`` under the truncation rule for the top-level population ``top``: concrete, a ``ValueError``
        (or a warning) now; traced, ``eqx.error_if`` (or a ``jax.debug.callback`` warning) on ``x``."""
        if self.on_truncation == "ignore" or not validation_enabled():
            return x
        if is_concrete(top):
            if float(top) > self.top_tol:
                message = _truncation_message(float(top), self.top_tol, self.n_levels)
                if self.on_truncation == "raise":
                    raise ValueError(message)
                warnings.warn(message, UserWarning, stacklevel=3)
            return x
        if self.on_truncation == "raise":
            return eqx.error_if(x, top > self.top_tol, _truncation_message(None, self.top_tol, self.n_levels))
        jax.debug.callback(partial(_warn_truncation, tol=self.top_tol, n_levels=self.n_levels), top)
        return x

    def charge(self, c, q, n_collisions, rho0=None, block=None):
        """Charge the cavity by a qubit stream (Eqs. (4)-(6)): (final rho (N, N) complex, energies E_0..E_n (n + 1,)).

        Reverse mode holds ~2 sqrt(n) states (module docstring).  Needs an unbatched model.

        Args:
            c, q: coherence and ground-state population in [0, 1]: scalars, or per-batch arrays of length B
                (B = n: one value per collision).
            n_collisions: an int >= 1 split into B equal batches, or a sequence of the B batch sizes n_k >= 0.
            rho0: initial (N, N) cavity density matrix; default |0><0|.
            block: checkpoint block length, an integer >= 1 (default ~sqrt(n), a divisor of the batch
                sizes, or of n, when one is near).

        Raises:
            ValueError: naming ``c``/``q`` (NaN, outside [0, 1], unequal lengths), ``n_collisions``,
                ``rho0`` (not an (N, N) density matrix) or ``block``.
            ValueError: naming ``n_levels`` when the top Fock level exceeds ``top_tol`` (``on_truncation="raise"``).
        """
        res = self.run(c, q, n_collisions, rho0=rho0, block=block)
        return res.rho, res.energies

    def trajectory(self, c, q, n_collisions, checkpoints, rho0=None):
        """States after the collision counts in ``checkpoints`` (increasing ints in [0, n]).

        Returns (states (len(checkpoints), N, N) physical gauge, energies E_0..E_n (n + 1,)).
        Forward only (a ``while_loop`` between checkpoints, one compilation for any checkpoints); the
        top-level population is tracked up to the last checkpoint and guarded like :meth:`run`.

        Args:
            c, q, n_collisions, rho0: the protocol, as :meth:`charge`.
            checkpoints: non-decreasing integer collision counts in [0, n].

        Raises:
            ValueError: naming ``checkpoints`` (not integers, decreasing, outside [0, n]), ``n_levels`` or an
                input, as :meth:`charge`.
        """
        _, _, _, cs, qs = _expand(c, q, n_collisions)
        ks = np.asarray([as_int(float(k), "checkpoints") for k in np.atleast_1d(np.asarray(checkpoints))])
        if ks.size == 0 or np.any(np.diff(ks) < 0) or ks[0] < 0 or ks[-1] > cs.shape[0]:
            raise ValueError(f"checkpoints must be increasing collision counts within the stream [0, {cs.shape[0]}]; "
                             f"got {ks.tolist()}")
        states, E, top = self._trajectory(self._start(rho0), cs, qs, jnp.asarray(ks))
        states, E = self._guard((states, E), top)
        return from_real_gauge(states), E

    @eqx.filter_jit
    def _trajectory(self, R0, cs, qs, ks):
        M = _vectors(self._g(), self.n_levels)
        levels = jnp.arange(self.n_levels, dtype=jnp.result_type(float))
        E = jnp.zeros(cs.shape[0] + 1, jnp.result_type(float)).at[0].set(jnp.real(jnp.diagonal(R0)) @ levels)
        xs = _coherence_amplitude(cs, qs)

        def one(F, D, E, i, top):  # collision i: bordered state F -> buffer D (see _fwd_core)
            D = _put(D, _fwd_core(F, M, qs[i], xs[i]))
            d = jnp.real(jnp.diagonal(D))[1:-1]
            return D, E.at[i + 1].set(d @ levels), i + 1, jnp.maximum(top, d[-1])

        def two(s):  # two collisions, alternating the buffers (no copies)
            A, B, E, i, top = s
            B, E, i, top = one(A, B, E, i, top)
            A, E, i, top = one(B, A, E, i, top)
            return A, B, E, i, top

        def segment(carry, k):
            A, B, E, i, top = jax.lax.while_loop(lambda s: s[3] + 2 <= k, two, carry)
            A, E, i, top = jax.lax.cond(i < k, lambda: one(A, B, E, i, top), lambda: (A, E, i, top))
            return (A, B, E, i, top), _at(A, 0, 0)

        F0 = jnp.pad(R0, 1)
        top0 = jnp.real(R0[-1, -1])
        (_, _, E, _, top), states = jax.lax.scan(segment, (F0, jnp.zeros_like(F0), E, jnp.zeros((), ks.dtype), top0), ks)
        return states, E, top

    # -- the protocol: a stream of identical qubits (c, q) ------------------------------------------
    def evolve(self, ts, rho0=None):
        """States (*batch, n_t, N, N) complex, physical gauge, after ``ts`` collisions with qubits rho_q(c, q).

        Args:
            ts: collision counts (n_t,), strictly increasing integers >= 0 (time in units of tau = 1).
            rho0: initial (N, N) cavity density matrix; default |0><0|.

        Raises:
            ValueError: naming ``ts`` (not 1-D, empty, finite, strictly increasing integer counts >= 0) or
                ``rho0`` (not an (N, N) density matrix).
            ValueError: naming ``n_levels`` when the top Fock level exceeds ``top_tol`` (``on_truncation="raise"``).
        """
        ks = np.asarray(check_times(ts, "ts", start=0, start_name="collision 0"))
        ks = np.asarray([as_int(float(k), "ts (collision counts)") for k in ks])
        n = max(int(ks.max()), 1)
        R0 = self._start(rho0)

        def one(m):  # c, q: the model's checked fields
            states, _, top = m._trajectory(R0, *(jnp.full(n, m.parameters()[k]) for k in ("c", "q")), jnp.asarray(ks))
            return from_real_gauge(states), top

        states, top = self.map_members(one)
        return self._guard(states, jnp.max(top))  # outside the vmap: eager for concrete fields

    def ergotropy(self, rho):
        """W = Tr(rho H_F) - passive energy (Eq. (10)), via :func:`qbjax.ergotropy`, units of omega.

        Args:
            rho: cavity density matrices (..., N, N); the result has shape (...).

        Raises:
            ValueError: naming ``rho`` when it is not a density matrix (``eqx.error_if`` when traced).
        """
        H = self.hamiltonian().astype(jnp.result_type(jnp.asarray(rho).dtype, float))
        return _ergotropy(rho, align(H, rho))

    def ergotropy_curve(self, ts, rho0=None):
        """Ergotropy W (Eq. (10)) after the collision counts ``ts``, (*batch, n_t), units of omega.

        Args:
            ts, rho0: as :meth:`evolve` (which raises ``ValueError`` naming them, or ``n_levels``).
        """
        return self.ergotropy(self.evolve(ts, rho0))

    def purity(self, rho):
        """Purity Tr(rho^2) in [1/N, 1] of cavity state(s).

        Args:
            rho: cavity density matrices (..., N, N); the result has shape (...).

        Raises:
            ValueError: naming ``rho`` when it is not a density matrix (``eqx.error_if`` when traced).
        """
        return _purity(rho)

    def features(self, n_collisions: int = 1000) -> dict:
        """After ``n_collisions`` qubits rho_q(c, q) from |0><0|: ergotropy ``W``, ``energy``,
        ``purity`` and ``top_population`` (largest population of the top Fock level over the stream),
        each ``batch_shape`` (energies in units of omega).

        Args:
            n_collisions: length of the stream, an integer >= 1.

        Raises:
            ValueError: naming ``n_collisions`` unless it is an integer >= 1.
            ValueError: naming ``n_levels`` when the top Fock level exceeds ``top_tol`` (``on_truncation="raise"``).
        """
        n_collisions = as_int(n_collisions, "n_collisions", minimum=1)

        def one(m):  # a hot path: c, q are the model's checked fields, the state its own (unchecked functionals)
            p = m.parameters()
            res = m._run(m.ground_state(), p["c"][None], p["q"][None], (n_collisions,), None)
            rho = res.rho
            return {"W": _ergotropy(rho, m.hamiltonian().astype(rho.dtype), validate=False), "energy": res.energies[-1],
                    "purity": _purity(rho, validate=False), "top_population": res.top_population}

        out = self.map_members(one)
        return self._guard(out, jnp.max(out["top_population"]))  # outside the vmap: eager for concrete fields

    def loss(self, c, q, n_collisions=1000, lam=10.0, tail=0.2, block=None):
        """Eq. (11) (module docstring: the window eta, the per-qubit means), a real scalar in units of omega.

        Args:
            c, q, n_collisions, block: the protocol, as :meth:`charge` (default 1000); differentiable in c, q.
            lam: the penalty weight, finite and >= 0 (a traced lam is checked by ``eqx.error_if``).
            tail: fraction of the stream in the penalty window eta (floor(tail n) collisions; 0.2 single
                stream, 0.1 batched, per the paper), in [0, 1].

        Raises:
            ValueError: naming ``lam``, ``tail``, ``n_levels`` or an input, as :meth:`charge`.
        """
        return self.loss_terms(c, q, n_collisions, lam, tail, block)["loss"]

    def loss_terms(self, c, q, n_collisions=1000, lam=10.0, tail=0.2, block=None):
        """Eq. (11) and its parts: dict of scalars loss, W, first (ergotropy term), penalty (sum |dE|),
        c_mean, q_mean, top_population.

        Args:
            c, q, n_collisions, lam, tail, block: as :meth:`loss`.

        Raises:
            ValueError: as :meth:`loss`.
        """
        c, q, sizes, cs, _ = _expand(c, q, n_collisions)
        n = cs.shape[0]
        tail = float(tail)
        if math.isnan(tail):
            raise ValueError("tail is NaN; it must lie in [0, 1]")
        if not 0 <= tail <= 1:
            raise ValueError(f"tail must lie in [0, 1]; got {tail}")
        m = int(math.floor(tail * n + 1e-9))  # floor(tail n), robust to 0.29 * 100 = 28.999...
        lam = jnp.asarray(lam, dtype=jnp.result_type(float))
        lam = checks(lam, finite_rules(lam, "lam") + [(lambda: lam >= 0, "lam (penalty weight) must be >= 0")])
        out = self._loss_terms(c, q, sizes, lam, m, _block(block))
        return self._guard(out, out["top_population"])

    @eqx.filter_jit
    def _loss_terms(self, c, q, sizes, lam, m, block):
        n = sum(sizes)
        M = _vectors(self._g(), self.n_levels)
        R, E, top = _stream(self.ground_state(), M, c, q, sizes, block)
        W = _ergotropy(R, self.hamiltonian(), validate=False)  # the stream's own state (hot: optimisation)
        E_all = jnp.concatenate([jnp.zeros(1, E.dtype), E])  # E_0 = 0 for |0><0|
        penalty = jnp.sum(jnp.abs(jnp.diff(E_all[n - m :]))) if m > 0 else jnp.zeros((), E.dtype)
        cs, qs = (jnp.repeat(v, np.array(sizes), total_repeat_length=n) for v in (c, q))  # as in _expand
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
