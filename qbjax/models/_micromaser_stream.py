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

**Real gauge.**  With D = diag((-i)^n) and R = D^dag rho D the map has real coefficients:

    R' = q (C_g R C_g + S_dn R S_dn^T) + (1-q) (S_up R S_up^T + C_e R C_e)
         + x (C_g R S_up^T + S_up R C_g - S_dn R C_e - C_e R S_dn^T),

so a stream starting from any real-gauge-real state (|0><0| in particular) stays real symmetric.
``charge``/``loss`` run in this gauge (half the work of complex arithmetic); populations, energy,
purity and ergotropy are gauge invariant, and ``charge`` returns the physical-gauge rho = D R D^dag.
(The gauge is a phase-space rotation by -pi/2, which matters only for the Wigner function.)

**Kernels.**  A state is held with a zero border, F of shape (N+2, N+2) with R = F[1:-1, 1:-1], so the
eight terms read R and its neighbours as plain slices of F (every read beyond the edge meets the zero
border or a zero coefficient).  One collision (``_fwd_core``) groups the terms by their row factor:
four column operations of neighbouring entries, then a row scaling, with the coefficients as four
length-N vectors: one fused pass over the N^2 entries, written into the interior of a second buffer.
The stream alternates two buffers, two collisions per loop iteration, so no state is ever copied.

**Reverse mode (hand-written adjoint, checkpointed).**  The stream has a ``jax.custom_vjp``.  The map
is linear in R, R' = P_e(R) + q P_d(R) + x P_x(R) (P_d = P_g - P_e), so its transpose is the same
stencil run the other way (``_transposed``, on the bordered cotangent G of R'): the cotangent of R
is G_in = P_e^T G + q P_d^T G + x P_x^T G, and dL/dq (at fixed x) and dL/dx are <P_d^T G, R> and
<P_x^T G, R>.  Z = P_d^T G + i P_x^T G is one pass (complex: two results), written in place and read
twice: by G_in and by the products Z R, which are accumulated elementwise and summed once per block
(the default block length divides the batch sizes when it can, so each block lies in one batch) or
at each batch's first collision, never once per collision; the energy cotangent e_k H is added as
G_in is written (H diagonal).  The forward pass keeps only the state at the start of each block of
K ~ sqrt(n) collisions (in [sqrt(n), 2 sqrt(n)], a divisor of the batch sizes or of n when there is
one, so no masked padding steps); the backward pass re-runs one block at a time into a stack of its
K states (written in place) and walks it back, so reverse mode holds about (n/K + K) ~ 2 sqrt(n)
states of n_levels^2 floats (n = 1000, N = 120: ~64 states, 7 MB; n = 10^4: ~200 states, 23 MB)
instead of n states (115 MB / 1.15 GB), for one extra forward pass.  (Keeping all n states instead
does not pay here: fresh memory beyond a few tens of MB costs more per state, in page faults, than
recomputing it.)  Per collision the reverse pass costs about three forward collisions: the recompute,
the pass for Z and the cheaper one for G_in and the accumulation.  Gradients flow to c, q (per
batch), the initial state and lam; gradients with respect to ``g`` are NOT supported on this path
(they come back as NaN, never as a silent zero).

**Differentiability at the box edges.**  d sqrt(q(1-q))/dq diverges at q = 0, 1; there the gradient
of x with respect to q is set to 0 (the value is exact), so gradients are finite on the whole box.
"""

from __future__ import annotations

import math
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np


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


def _vectors(g, n_levels):
    """The four coefficient vectors (cg, sgp, ce, sem) of the real-gauge map (each (N,)).

    cg = cos(g sqrt m), ce = cos(g sqrt(m+1)) (1 on the top level), sgp = sin(g sqrt(m+1)) on row m
    (|m+1, g> -> |m, e>, 0 on the top level), sem = sin(g sqrt m) on row m (|m-1, e> -> |m, g>).
    """
    cg, sg, ce, se = _coefficients(g, n_levels)
    zero = jnp.zeros(1, cg.dtype)
    return cg, jnp.concatenate([sg[1:], zero]), ce, jnp.concatenate([zero, se[:-1]])


def _at(F, dm, dn):
    """R[m + dm, n + dn] for all (m, n), a plain slice of the bordered state F (dm, dn in {-1, 0, 1})."""
    N = F.shape[-1] - 2
    return jax.lax.slice(F, (1 + dm, 1 + dn), (1 + dm + N, 1 + dn + N))


def _put(F, X):
    """F with its interior replaced by X (in place when F is not read afterwards)."""
    return jax.lax.dynamic_update_slice(F, X, (1, 1))


def _fwd_core(F, V, q, x):
    """One collision of the bordered real-gauge state F (module docstring) with qubit parameters q and
    x = c sqrt(q(1-q)); returns the (N, N) R'.

    R' = cg_r X1 + ce_r X2 + sgp_r X3 + sem_r X4 (_r: row factor) with X1 = q cg R + x sem R[m, n-1],
    X2 = (1-q) ce R - x sgp R[m, n+1], X3 = q sgp R[m+1, n+1] - x ce R[m+1, n],
    X4 = (1-q) sem R[m-1, n-1] + x cg R[m-1, n] (column factors on n).
    """
    cg, sgp, ce, sem = V
    col = lambda v: v[:, None]
    R = _at(F, 0, 0)
    X1 = (q * cg) * R + (x * sem) * _at(F, 0, -1)
    X2 = ((1 - q) * ce) * R - (x * sgp) * _at(F, 0, 1)
    X3 = (q * sgp) * _at(F, 1, 1) - (x * ce) * _at(F, 1, 0)
    X4 = ((1 - q) * sem) * _at(F, -1, -1) + (x * cg) * _at(F, -1, 0)
    return col(cg) * X1 + col(ce) * X2 + col(sgp) * X3 + col(sem) * X4


def _apply(R, V, c, q):
    """One collision in the real gauge (module docstring) of an (N, N) state; O(N^2), any dtype."""
    return _fwd_core(jnp.pad(R, 1), V, q, _coherence_amplitude(c, q))


def _adj_vectors(V):
    """(sg, se) with sg[m] = sgp[m-1] and se[m] = sem[m+1]: the row factors of the transposed stencil."""
    cg, sgp, _, sem = V
    zero = jnp.zeros(1, cg.dtype)
    return jnp.concatenate([zero, sgp[:-1]]), jnp.concatenate([sem[1:], zero])


def _transposed(F, V):
    """The transposed stencil on the bordered cotangent F of R' (columns first, the mirror of
    :func:`_fwd_core`): (P_e^T G, P_d^T G + i P_x^T G), the second complex (two results, one pass).

    P_e^T G = ce_r ce G + se_r se G[m+1, n+1], P_g^T G = cg_r cg G + sg_r sg G[m-1, n-1],
    P_x^T G = cg_r se G[m, n+1] - ce_r sg G[m, n-1] + se_r cg G[m+1, n] - sg_r ce G[m-1, n].
    """
    cg, _, ce, _ = V
    sg, se = _adj_vectors(V)
    col = lambda v: v[:, None]
    G = _at(F, 0, 0)
    A_e = col(ce) * (ce * G) + col(se) * (se * _at(F, 1, 1))
    # P_d^T G = P_g^T G - P_e^T G written out (not through A_e: a shared A_e would be a third pass)
    A_d = col(cg) * (cg * G) + col(sg) * (sg * _at(F, -1, -1)) - col(ce) * (ce * G) - col(se) * (se * _at(F, 1, 1))
    A_x = (col(cg) * (se * _at(F, 0, 1)) - col(ce) * (sg * _at(F, 0, -1))
           + col(se) * (cg * _at(F, 1, 0)) - col(sg) * (ce * _at(F, -1, 0)))
    return A_e, jax.lax.complex(A_d, A_x)


def _block_length(sizes, block):
    """K: ``block``, or ~sqrt(n): in [sqrt(n), 2 sqrt(n)] a divisor of every batch size when there
    is one (so that each block lies in one batch), else a divisor of n, else sqrt(n) (padding)."""
    if block:
        return int(block)
    n = sum(sizes)
    r = max(1, int(math.ceil(math.sqrt(n))))
    for m in (math.gcd(*sizes), n):
        K = next((k for k in range(r, 2 * r + 1) if m % k == 0), None)
        if K:
            return K
    return r


def _layout(c, q, sizes, block):
    """Per-collision q and x = c sqrt(q(1-q)) as (blocks, K) arrays (zero-padded), the mask of real
    collisions (None when there is no padding) and (n, K)."""
    n = sum(sizes)
    K = _block_length(sizes, block)
    nb = -(-n // K)
    pad = nb * K - n

    def per_step(v):
        v = jnp.repeat(v, np.array(sizes), total_repeat_length=n)
        return jnp.concatenate([v, jnp.zeros(pad, v.dtype)]).reshape(nb, K)

    mask = jnp.asarray(np.arange(nb * K).reshape(nb, K) < n) if pad else None
    return per_step(q), per_step(_coherence_amplitude(c, q)), mask, n, K


def _pairs(n_steps, step, carry, xs, reverse=False):
    """``step(carry, x) -> (carry, y)`` over the n_steps entries of xs, two per scan iteration (so that
    a step writing the other of two buffers needs no copy; an odd one runs alone, last going forward
    and first going back).  Returns (carry, ys in the order of xs)."""
    half = n_steps // 2
    tree = jax.tree_util.tree_map
    pair_xs = tree(lambda v: v[: 2 * half].reshape((half, 2) + v.shape[1:]), xs)
    order = (1, 0) if reverse else (0, 1)

    def two(carry, x):
        ys = [None, None]
        for i in order:
            carry, ys[i] = step(carry, tree(lambda v: v[i], x))
        return carry, tree(lambda a, b: jnp.stack([a, b]), *ys)

    odd = None
    if n_steps % 2 and reverse:
        carry, odd = step(carry, tree(lambda v: v[-1], xs))
    carry, ys = jax.lax.scan(two, carry, pair_xs, reverse=reverse)
    ys = tree(lambda v: v.reshape((2 * half,) + v.shape[2:]), ys)
    if n_steps % 2 and not reverse:
        carry, odd = step(carry, tree(lambda v: v[-1], xs))
    if n_steps % 2:
        ys = tree(lambda v, w: jnp.concatenate([v, w[None]]), ys, odd)
    return carry, ys


def _run_block(F, V, qK, xK, onK):
    """The K collisions of a block from the bordered state F: (final bordered state, the diagonal of
    every new state (K, N)), alternating two buffers."""
    def step(AB, x):
        A, B = AB
        new = _fwd_core(A, V, x[0], x[1])
        if onK is not None:
            new = jnp.where(x[2], new, _at(A, 0, 0))
        B = _put(B, new)
        return (B, A), jnp.diagonal(B)[1:-1]  # read back from the buffer (no copy of A)

    xs = (qK, xK) if onK is None else (qK, xK, onK)
    (A, _), diags = _pairs(qK.shape[0], step, (F, jnp.zeros_like(F)), xs)
    return A, diags


def _fill_stack(stack, F, V, qK, xK, onK):
    """The K input states of a block (stack[i] = state before collision i), written in place."""
    stack = jax.lax.dynamic_update_slice(stack, F[None], (0, 0, 0))

    def body(i, stack):
        A = stack[i]
        new = _fwd_core(A, V, qK[i], xK[i])
        if onK is not None:
            new = jnp.where(onK[i], new, _at(A, 0, 0))
        return jax.lax.dynamic_update_slice(stack, new[None], (i + 1, 1, 1))

    return jax.lax.fori_loop(0, stack.shape[0] - 1, body, stack)


@partial(jax.custom_vjp, nondiff_argnums=(4, 5))
def _stream_real(R0, V, c, q, sizes, block):
    """Real-gauge stream of real R0 through batches of sizes[b] qubits (c[b], q[b]):
    (R_n, E_1..E_n, top-level population after each collision)."""
    return _stream_fwd(R0, V, c, q, sizes, block)[0]


def _stream_fwd(R0, V, c, q, sizes, block):
    qb, xb, mask, n, _ = _layout(c, q, sizes, block)
    levels = jnp.arange(R0.shape[-1], dtype=R0.dtype)

    def block_fn(F, inp):
        F_out, diags = _run_block(F, V, inp[0], inp[1], inp[2] if mask is not None else None)
        return F_out, (F, diags @ levels, diags[:, -1])  # keep the block's starting state only

    xs = (qb, xb) if mask is None else (qb, xb, mask)
    F, (starts, E, top) = jax.lax.scan(block_fn, jnp.pad(R0, 1), xs)
    return (_at(F, 0, 0), E.reshape(-1)[:n], top.reshape(-1)[:n]), (starts, V, c, q)


def _sums(acc):
    """(sum of the real parts, sum of the imaginary parts) of the complex accumulator."""
    return jnp.stack([jnp.sum(jnp.real(acc)), jnp.sum(jnp.imag(acc))])


def _stream_bwd(sizes, block, res, cot):
    """Hand-written reverse pass (module docstring): per block, recompute its K input states, then
    run the adjoint back through them, accumulating dL/dq (at fixed x) and dL/dx per batch."""
    starts, V, c, q = res
    R_bar, E_bar, _ = cot  # the top-level population is a diagnostic: no cotangent flows from it
    qb, xb, mask, n, K = _layout(c, q, sizes, block)
    nb = qb.shape[0]
    N, dt = starts.shape[-1] - 2, starts.dtype
    H = jnp.diag(jnp.arange(N, dtype=dt))
    begin, live = np.cumsum((0,) + sizes[:-1]), np.asarray(sizes) > 0
    aligned = bool(np.all(begin[live] % K == 0))  # every block in one batch: its sums taken per block
    first = np.zeros(nb * K, bool)  # otherwise: at the first collision of each batch
    first[begin[live]] = True
    # the energy cotangent of each collision's input state (E_k = <H, R_k> for k >= 1)
    e_in = jnp.concatenate([jnp.zeros(1, dt), E_bar[:-1], jnp.zeros(nb * K - n, dt)]).reshape(nb, K)

    def step(carry, x):
        (GA, GB), (acc, Z), due = carry
        R, q, xq, e, fl = x[:5]
        A_e, dx = _transposed(GA, V)
        # Z = P_d^T G + i P_x^T G is read twice: written in place into an (N+1, N) buffer (a partial
        # update, so it is computed once, on one thread)
        Z = jax.lax.dynamic_update_slice(Z, dx, (0, 0))
        terms = Z[:N] * _at(R, 0, 0)
        G_in = A_e + q * jnp.real(Z[:N]) + xq * jnp.imag(Z[:N])
        if mask is not None:
            terms, G_in = jnp.where(x[5], terms, 0.0), jnp.where(x[5], G_in, _at(GA, 0, 0))
        kept = acc[:N] if aligned else jnp.where(due, 0.0, acc[:N])  # a new batch after a batch's sums
        acc = jax.lax.dynamic_update_slice(acc, kept + terms, (0, 0))
        # + the energy cotangent of this step's input state; the 0 * acc term orders the accumulation
        # before Z is overwritten by the next collision (without it the compiler copies Z)
        GB = _put(GB, G_in + (e + 0.0 * jnp.real(acc[0, 0])) * H)
        if aligned:
            return ((GB, GA), (acc, Z), due), ()
        sums = jax.lax.cond(fl, _sums, lambda A: jnp.zeros(2, dt), acc)
        return ((GB, GA), (acc, Z), fl), sums

    def back_block(carry, inp):
        GA, acc, due, stack = carry
        F0, qK, xK, eK, fK = inp[:5]
        onK = inp[5] if mask is not None else None
        stack = _fill_stack(stack, F0, V, qK, xK, onK)
        xs = (stack, qK, xK, eK, fK) + ((onK,) if mask is not None else ())
        acc = jnp.zeros_like(acc) if aligned else acc
        init = ((GA, jnp.zeros_like(GA)), (acc, jnp.zeros_like(acc)), due)
        ((GA, _), (acc, _), due), sums = _pairs(K, step, init, xs, reverse=True)
        return (GA, acc, due, stack), (_sums(acc) if aligned else sums)

    G0 = jnp.pad(R_bar + E_bar[-1] * H, 1)
    xs = (starts, qb, xb, e_in, jnp.asarray(first.reshape(nb, K))) + ((mask,) if mask is not None else ())
    acc0 = jnp.zeros((N + 1, N), jnp.result_type(dt, complex))
    init = (G0, acc0, jnp.zeros((), bool), jnp.zeros((K, N + 2, N + 2), dt))
    (G0, _, _, _), sums = jax.lax.scan(back_block, init, xs, reverse=True)
    if aligned:  # block b lies in the batch of its first collision b K
        owner = np.searchsorted(np.cumsum(sizes), np.arange(nb) * K, side="right")
        sums = jax.ops.segment_sum(sums, jnp.asarray(owner), num_segments=len(sizes))
    else:
        sums = jnp.where(jnp.asarray(live)[:, None], sums.reshape(nb * K, 2)[np.where(live, begin, 0)], 0.0)
    a, b = sums[:, 0], sums[:, 1]  # dL/dq at fixed x, dL/dx
    _, x_vjp = jax.vjp(_coherence_amplitude, c, q)
    c_bar, q_x = x_vjp(b)
    V_bar = tuple(jnp.full_like(v, jnp.nan) for v in V)  # g-gradients: not supported on this path
    return _at(G0, 0, 0), V_bar, c_bar, a + q_x


_stream_real.defvjp(_stream_fwd, _stream_bwd)


def _stream(R0, V, c, q, sizes, block):
    """(R_n, E_1..E_n, max top-level population) for batches of sizes[b] qubits (c[b], q[b]) (static
    sizes, total >= 1); complex R0 is split into real and imaginary parts (the map has real
    coefficients), energies and populations come from the real part."""
    sizes = tuple(int(s) for s in sizes)
    if jnp.iscomplexobj(R0):
        R_re, E, top = _stream_real(jnp.real(R0), V, c, q, sizes, block)
        R_im = _stream_real(jnp.imag(R0), V, c, q, sizes, block)[0]
        return R_re + 1j * R_im, E, jnp.max(top)
    R, E, top = _stream_real(R0, V, c, q, sizes, block)
    return R, E, jnp.max(top)
