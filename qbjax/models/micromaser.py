"""Micromaser quantum battery charged by a stream of qubits (Rodriguez, Rosa & Olle, paper 002).

A cavity mode (H_F = a^dag a, omega = 1, Fock truncation ``n_levels``) starts in |0><0| and collides
with qubits prepared in (Eq. 2)

    rho_q = q |g><g| + (1 - q) |e><e| + c sqrt(q (1 - q)) (|g><e| + |e><g|),     c, q in [0, 1],

through the Jaynes-Cummings unitary U = exp(-i g (a s+ + a^dag s-)) (Eq. 4, tau = 1); the qubit is
traced out after each collision (Eq. 6).  Units: hbar = omega = 1, energies in units of omega.

**Block structure (O(n_levels^2) per collision).**  U acts inside the 2x2 blocks
span{|n, e>, |n+1, g>} as cos(g sqrt(n+1)) 1 - i sin(g sqrt(n+1)) sigma_x and leaves |0, g> alone, so

    U = |g><g| (x) C_g + |e><e| (x) C_e - i |g><e| (x) S_up - i |e><g| (x) S_dn,

with C_g = diag cos(g sqrt n), C_e = diag cos(g sqrt(n+1)), S_dn |n> = sin(g sqrt n) |n-1> and
S_up |n> = sin(g sqrt(n+1)) |n+1>.  In the truncated space |N-1, e> has no partner (exactly what the
dense exp of the truncated joint Hamiltonian gives): C_e = 1, S_up = 0 there.  Tracing out the qubit
(x = c sqrt(q(1-q))):

    rho' = q (C_g rho C_g + S_dn rho S_dn^T) + (1-q) (S_up rho S_up^T + C_e rho C_e)
           + i x (C_g rho S_up^T - S_up rho C_g - S_dn rho C_e + C_e rho S_dn^T),

i.e. diagonal scalings and one-step shifts of the matrix: O(N^2) work, no dense matrix products.
The implementation (``_apply``) groups the eight terms by their row factor: four column operations
of R, then a row scaling with one-row shifts (concatenated slices, no gathers), with the coefficients
kept as four length-N vectors rather than (N, N) matrices (about half the flops and memory traffic of
the term-by-term form).

**Real gauge.**  With D = diag((-i)^n) and R = D^dag rho D the map has real coefficients:

    R' = q (C_g R C_g + S_dn R S_dn^T) + (1-q) (S_up R S_up^T + C_e R C_e)
         + x (C_g R S_up^T + S_up R C_g - S_dn R C_e - C_e R S_dn^T),

so a stream starting from any real-gauge-real state (|0><0| in particular) stays real symmetric.
``charge``/``loss`` run in this gauge (half the work of complex arithmetic); populations, energy,
purity and ergotropy are gauge invariant, and ``charge`` returns the physical-gauge rho = D R D^dag.
(The gauge is a phase-space rotation by -pi/2, which matters only for the Wigner function.)

**Loss, Eq. (11)** (as SPEC 4.3 fixes it): for a stream of n collisions

    L = - W_n (1 - c) (1 - q) / (W_n + (1 - c) + (1 - q))  +  lam sum_{k in eta} |E_k - E_{k-1}|,

W_n the ergotropy of the final state, E_k the energy after k collisions, eta the last
m = floor(tail n) collisions k = n - m + 1 .. n (so E_{n-m} enters), tail = 0.2 for a single stream
and 0.1 for batched protocols (the caller chooses), c and q the per-qubit means over the stream.
At c = q = 1 the first term takes its limit 0.

**Reverse mode (hand-written adjoint, checkpointed).**  The stream has a ``jax.custom_vjp``: the map
is linear in R, so its transpose is the same shifts run the other way (``_adjoint_parts``:
P_g^T G, P_e^T G, P_x^T G for R' = q P_g(R) + (1-q) P_e(R) + x P_x(R)), and dL/dq (fixed x), dL/dx
are <P_g^T G - P_e^T G, R> and <P_x^T G, R>; the energy cotangents are added to G's diagonal only.
The forward pass keeps only the state at the start of each block of K ~ sqrt(n) collisions (a
divisor of n in [sqrt(n), 2 sqrt(n)] when there is one, so no masked padding steps); the backward
pass re-runs one block at a time and walks it back with the adjoint, so reverse mode holds about
(n/K + K) ~ 2 sqrt(n) states of n_levels^2 floats (n = 1000, N = 120: ~64 states, 7 MB; n = 10^4: ~200 states, 23 MB) instead of n
states (115 MB / 1.15 GB), for one extra forward pass.  Gradients flow to c, q (per collision, hence
per batch), the initial state and lam; gradients with respect to ``g`` are NOT supported on this path
(they come back as NaN, never as a silent zero).

**Truncation guard.**  The largest population of the top Fock level |N-1> over the stream is tracked.
Above ``top_tol`` (default 1e-8) ``on_truncation`` decides: ``"warn"`` (default; a ``UserWarning``
raised through ``jax.debug.callback``, so also under jit/grad/vmap), ``"raise"`` (``eqx.error_if``)
or ``"ignore"`` (only :meth:`run` reports it).  :meth:`run` always returns the value.

**Differentiability at the box edges.**  d sqrt(q(1-q))/dq diverges at q = 0, 1; there the gradient
of x with respect to q is set to 0 (the value is exact), so gradients are finite on the whole box.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from functools import partial
from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._validate import as_float, check, is_concrete
from ..ergotropy import ergotropy as _ergotropy
from ..states import purity as _purity
from ..states import wigner  # noqa: F401  (re-exported: Wigner function of a Fock-basis state)

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


def _gauge_phase(n_levels, dtype):
    """Diagonal of D = diag((-i)^n)."""
    return jnp.array([(-1j) ** (k % 4) for k in range(n_levels)], dtype=dtype)


def to_real_gauge(rho):
    """R = D^dag rho D, D = diag((-i)^n); real symmetric for states the stream reaches from |0>."""
    rho = jnp.asarray(rho)
    d = _gauge_phase(rho.shape[-1], jnp.result_type(rho.dtype, complex))
    return jnp.conj(d)[:, None] * rho * d[None, :]


def from_real_gauge(R):
    """rho = D R D^dag (complex)."""
    R = jnp.asarray(R)
    d = _gauge_phase(R.shape[-1], jnp.result_type(R.dtype, complex))
    return d[:, None] * R * jnp.conj(d)[None, :]


def _coefficients(g, n_levels):
    """cos/sin of g sqrt(n) (ground rows) and g sqrt(n+1) (excited rows), truncation-consistent."""
    n = jnp.arange(n_levels, dtype=jnp.result_type(float))
    cg, sg = jnp.cos(g * jnp.sqrt(n)), jnp.sin(g * jnp.sqrt(n))
    top = n == n_levels - 1  # |N-1, e> has no partner |N, g> in the truncated space
    ce = jnp.where(top, 1.0, jnp.cos(g * jnp.sqrt(n + 1)))
    se = jnp.where(top, 0.0, jnp.sin(g * jnp.sqrt(n + 1)))
    return cg, sg, ce, se


def _coherence_amplitude(c, q):
    """x = c sqrt(q(1-q)) with a finite (zero) q-derivative at q = 0, 1."""
    s = q * (1 - q)
    pos = s > 0
    return jnp.where(pos, c * jnp.sqrt(jnp.where(pos, s, 1.0)), 0.0)


def _rows(X, a):
    """(X shifted by rows)[m] = X[m + a], zero outside (a in {-1, 1}): a slice and a zero row, no gather."""
    Z = jnp.zeros((1,) + X.shape[1:], X.dtype)
    return jnp.concatenate([X[1:], Z], 0) if a == 1 else jnp.concatenate([Z, X[:-1]], 0)


def _cols(X, b):
    """(X shifted by columns)[:, n] = X[:, n + b], zero outside (b in {-1, 1})."""
    Z = jnp.zeros(X.shape[:-1] + (1,), X.dtype)
    return jnp.concatenate([X[:, 1:], Z], 1) if b == 1 else jnp.concatenate([Z, X[:, :-1]], 1)


def _vectors(g, n_levels):
    """The four coefficient vectors (cg, sgp, ce, sem) of the real-gauge map (each (N,)).

    cg = cos(g sqrt m), ce = cos(g sqrt(m+1)) (1 on the top level), sgp = sin(g sqrt(m+1)) on row m
    (|m+1, g> -> |m, e>, 0 on the top level), sem = sin(g sqrt m) on row m (|m-1, e> -> |m, g>).
    """
    cg, sg, ce, se = _coefficients(g, n_levels)
    zero = jnp.zeros(1, cg.dtype)
    return cg, jnp.concatenate([sg[1:], zero]), ce, jnp.concatenate([zero, se[:-1]])


def _apply(R, V, c, q):
    """One collision in the real gauge (module docstring); O(N^2), any dtype of R.

    Factored as column operations, then rows (elementwise, coefficient vectors only, rows of R'
    from 4 (N, N) intermediates):  R' = cg_r X1 + ce_r X2 + sgp_r (X3 shifted up) + sem_r (X4 shifted
    down) with X1 = q cg_c R + x sem_c R[:, n-1], X2 = (1-q) ce_c R - x sgp_c R[:, n+1],
    X3 = q sgp_c R[:, n+1] - x ce_c R, X4 = (1-q) sem_c R[:, n-1] + x cg_c R (_r: row, _c: column
    factor).  Same terms as the 2x2-block formula, about half the flops and no (N, N) coefficients.
    """
    cg, sgp, ce, sem = V
    x = _coherence_amplitude(c, q)
    L, Rr = _cols(R, -1), _cols(R, 1)  # R[m, n-1], R[m, n+1]
    X1 = (q * cg) * R + (x * sem) * L
    X2 = ((1 - q) * ce) * R - (x * sgp) * Rr
    X3 = (q * sgp) * Rr - (x * ce) * R
    X4 = ((1 - q) * sem) * L + (x * cg) * R
    col = lambda v: v[:, None]
    return col(cg) * X1 + col(ce) * X2 + col(sgp) * _rows(X3, 1) + col(sem) * _rows(X4, -1)


def _adjoint_parts(G, V):
    """Transpose of the map's three parts: R' = q P_g(R) + (1-q) P_e(R) + x P_x(R) (c, q fixed);
    returns (P_g^T G, P_e^T G, P_x^T G), so G_in = q A_g + (1-q) A_e + x A_x."""
    cg, sgp, ce, sem = V
    col = lambda v: v[:, None]
    Y1, Y2 = col(cg) * G, col(ce) * G
    Y3, Y4 = _rows(col(sgp) * G, -1), _rows(col(sem) * G, 1)
    A_g = cg * Y1 + _cols(sgp * Y3, -1)
    A_e = ce * Y2 + _cols(sem * Y4, 1)
    A_x = cg * Y4 - ce * Y3 + _cols(sem * Y1, 1) - _cols(sgp * Y2, -1)
    return A_g, A_e, A_x


def _apply_adjoint(G, V, c, q):
    """Transpose of :func:`_apply` with respect to R."""
    x = _coherence_amplitude(c, q)
    A_g, A_e, A_x = _adjoint_parts(G, V)
    return q * A_g + (1 - q) * A_e + x * A_x


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


def _blocks(cs, qs, block):
    n = cs.shape[0]
    if block:
        K = int(block)
    else:  # ~sqrt(n); a divisor of n when one lies in [sqrt(n), 2 sqrt(n)] (no masked padding steps)
        r = max(1, int(math.ceil(math.sqrt(n))))
        K = next((k for k in range(r, 2 * r + 1) if n % k == 0), r)
    nb = -(-n // K)
    pad = nb * K - n
    mask = jnp.concatenate([jnp.ones(n, bool), jnp.zeros(pad, bool)]).reshape(nb, K)
    cs = jnp.concatenate([cs, jnp.zeros(pad, cs.dtype)]).reshape(nb, K)
    qs = jnp.concatenate([qs, jnp.zeros(pad, qs.dtype)]).reshape(nb, K)
    return cs, qs, mask, n


def _step(M, levels):
    def step(R, inp):
        c, q, on = inp
        R = jnp.where(on, _apply(R, M, c, q), R)
        diag = jnp.diagonal(R)
        return R, (diag @ levels, diag[-1])

    return step


@partial(jax.custom_vjp, nondiff_argnums=(4,))
def _stream_real(R0, M, cs, qs, block):
    """Real-gauge stream of real R: (R_n, E_1..E_n, top-level population after each collision)."""
    return _stream_fwd(R0, M, cs, qs, block)[0]


def _stream_fwd(R0, M, cs, qs, block):
    levels = jnp.arange(R0.shape[-1], dtype=R0.dtype)
    cb, qb, mask, n = _blocks(cs, qs, block)
    step = _step(M, levels)

    def block_fn(R, inp):
        R_out, (E, top) = jax.lax.scan(step, R, inp)
        return R_out, (R, E, top)  # save the block's starting state only

    R, (starts, E, top) = jax.lax.scan(block_fn, R0, (cb, qb, mask))
    return (R, E.reshape(-1)[:n], top.reshape(-1)[:n]), (starts, M, cs, qs)


def _stream_bwd(block, res, cot):
    """Hand-written reverse pass: per block, recompute its K input states, then run the adjoint map
    backwards.  Memory: n/K block starts + K states (~2 sqrt(n) N^2 floats)."""
    starts, M, cs, qs = res
    R_bar, E_bar, _ = cot  # the top-level population is a diagnostic: no cotangent flows from it
    N = starts.shape[-1]
    levels = jnp.arange(N, dtype=starts.dtype)
    cb, qb, mask, n = _blocks(cs, qs, block)
    nb, K = cb.shape
    E_bar = jnp.concatenate([E_bar, jnp.zeros(nb * K - n, E_bar.dtype)]).reshape(nb, K)
    step = _step(M, levels)
    idx = jnp.arange(N)

    def back_block(G, inp):
        R_start, c_blk, q_blk, m_blk, e_blk = inp
        _, inputs = jax.lax.scan(lambda R, i: (step(R, i)[0], R), R_start, (c_blk, q_blk, m_blk))

        def back_step(G, i):
            R_in, c, q, on, e = i
            G = G.at[idx, idx].add(e * levels)  # E_k = <H, R_k>, H = diag(levels): diagonal update only
            # adjoint parts; <G, P(R)> = <P^T(G), R> gives dR'/dq (fixed x) and dR'/dx
            A_g, A_e, A_x = _adjoint_parts(G, M)
            x = _coherence_amplitude(c, q)
            a = jnp.where(on, jnp.vdot(A_g - A_e, R_in), 0.0)  # dL/dq at fixed x
            b = jnp.where(on, jnp.vdot(A_x, R_in), 0.0)  # dL/dx
            G_in = jnp.where(on, q * A_g + (1 - q) * A_e + x * A_x, G)
            return G_in, (a, b)

        G, (a, b) = jax.lax.scan(back_step, G, (inputs, c_blk, q_blk, m_blk, e_blk), reverse=True)
        return G, (a, b)

    G0, (a, b) = jax.lax.scan(back_block, R_bar, (starts, cb, qb, mask, E_bar), reverse=True)
    a, b = a.reshape(-1)[:n], b.reshape(-1)[:n]
    _, x_vjp = jax.vjp(_coherence_amplitude, cs, qs)
    c_bar, q_x = x_vjp(b)
    M_bar = tuple(jnp.full_like(m, jnp.nan) for m in M)  # g-gradients: not supported on this path
    return G0, M_bar, c_bar, a + q_x


_stream_real.defvjp(_stream_fwd, _stream_bwd)


def _stream(R0, M, cs, qs, block):
    """(R_n, E_1..E_n, max top-level population); complex R0 is split into real and imaginary parts
    (the map has real coefficients), energies and populations come from the real part."""
    if jnp.iscomplexobj(R0):
        R_re, E, top = _stream_real(jnp.real(R0), M, cs, qs, block)
        R_im = _stream_real(jnp.imag(R0), M, cs, qs, block)[0]
        return R_re + 1j * R_im, E, jnp.max(top)
    R, E, top = _stream_real(R0, M, cs, qs, block)
    return R, E, jnp.max(top)


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


class Micromaser(eqx.Module):
    """Micromaser battery: cavity (``n_levels`` Fock states) charged by a qubit stream (paper 002).

    Fields: ``g`` (JC coupling, units of omega; JAX array), ``n_levels`` (static, >= 2),
    ``top_tol`` (static; tolerance on the top-level population, default 1e-8), ``on_truncation``
    (static; "warn", "raise" or "ignore").  See the module docstring for equations and conventions.
    """

    g: jax.Array = eqx.field(converter=lambda x: as_float(x, "g"))
    n_levels: int = eqx.field(default=120, static=True)
    top_tol: float = eqx.field(default=1e-8, static=True)
    on_truncation: str = eqx.field(default="warn", static=True)

    def __check_init__(self):
        if isinstance(self.n_levels, bool) or int(self.n_levels) != self.n_levels or self.n_levels < 2:
            raise ValueError(f"n_levels must be an integer >= 2; got {self.n_levels!r}")
        if is_concrete(self.g) and not bool(np.all(np.isfinite(np.asarray(self.g)))):
            raise ValueError(f"g must be finite; got {self.g}")
        if jnp.ndim(self.g) != 0 and is_concrete(self.g):
            raise ValueError(f"g must be a scalar (vmap over models for batches); got shape {jnp.shape(self.g)}")
        if self.on_truncation not in _TRUNCATION_MODES:
            raise ValueError(f"on_truncation must be one of {_TRUNCATION_MODES}; got {self.on_truncation!r}")
        if not self.top_tol > 0:
            raise ValueError(f"top_tol must be > 0; got {self.top_tol}")

    # -- operators ---------------------------------------------------------------------------------
    def _g(self):
        return check(self.g, jnp.isfinite(self.g), "g must be finite")

    def hamiltonian(self):
        """H_F = a^dag a = diag(0, 1, ..., N-1) (units of omega), real."""
        return jnp.diag(jnp.arange(self.n_levels, dtype=jnp.result_type(float)))

    def ground_state(self):
        """|0><0| (N, N), real (identical in both gauges)."""
        return jnp.zeros((self.n_levels, self.n_levels), jnp.result_type(float)).at[0, 0].set(1.0)

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

    # -- figures of merit --------------------------------------------------------------------------
    def ergotropy(self, rho):
        """W = Tr(rho H_F) - passive energy (Eq. 10), via :func:`qbjax.ergotropy`."""
        return _ergotropy(rho, self.hamiltonian().astype(jnp.result_type(jnp.asarray(rho).dtype, float)))

    def purity(self, rho):
        return _purity(rho)

    def loss(self, c, q, n_collisions=1000, lam=10.0, tail=0.2, block=None):
        """Eq. (11) as SPEC 4.3 defines it (module docstring); differentiable in c, q and lam.

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
