"""Jaynes-Cummings collision stream of the micromaser battery (paper 002, Eqs. 4-6).

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

**Differentiability at the box edges.**  d sqrt(q(1-q))/dq diverges at q = 0, 1; there the gradient
of x with respect to q is set to 0 (the value is exact), so gradients are finite on the whole box.
"""

from __future__ import annotations

import math
from functools import partial

import jax
import jax.numpy as jnp

from .._arrays import shift


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
    """(X shifted by rows)[m] = X[m + a], zero outside (a in {-1, 1})."""
    return shift(X, a, (0,))


def _cols(X, b):
    """(X shifted by columns)[:, n] = X[:, n + b], zero outside (b in {-1, 1})."""
    return shift(X, b, (1,))


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
