"""Operator-form right-hand sides of the Tavis-Cummings master equation (paper 003).

The Lindblad equation of :class:`qbjax.models.TavisCummingsBattery` applied to rho kept as a real
tensor (Re, Im) x (N+1, n_cavity, N+1, n_cavity): every operator of the model is a single band of one
factor (J_+/-, a, a^dag shift one index with sqrt weights; J_z, a^dag a are diagonal), so the right-hand
side is a handful of shifted, weighted copies of rho, O(d^2) work per evaluation instead of the O(d^4)
of a dense Liouvillian matvec.  ``sector_rhs`` keeps only the excitation-number sectors a
block-diagonal start populates.  Each function takes the model ``tc`` (its validated fields are read
once, outside the ODE loop).

Excitation-number conservation (H, a, a^dag, J_z all change X = J_z + N/2 + a^dag a by the same amount on
both sides of rho) keeps a state that starts block-diagonal in X so; for such starts (the default |J,J>|0>,
the BLP pair) the sector form stores only rho[i, n; j, m = n - i + j] ((N+1)^2 n_cavity numbers, 6x fewer
for N = 4), with the batch axes last, and the reduced battery state is then diagonal in the Dicke basis
(``TavisCummingsBattery.battery_populations`` saves only its N+1 populations).
"""

from __future__ import annotations

import warnings

import jax.numpy as jnp
import numpy as np

from .._arrays import shift
from .._validate import check_state, checks, is_concrete, state_tolerance, validation_enabled

TRUNCATION_MODES = ("raise", "warn", "ignore")


def cavity_message(n_qubits: int, n_cavity: int) -> str:
    """Why ``n_cavity`` < N + 1 truncates the dynamics of the charged start (the constructor's error)."""
    return (f"n_cavity = {n_cavity} is too small for N = {n_qubits} qubits: n_cavity must be >= N + 1 = "
            f"{n_qubits + 1}. The charged start |J, J>|0> holds N excitations and the Tavis-Cummings coupling "
            "conserves X = (J_z + N/2) + a^dag a, so it moves up to N photons into the cavity (Fock states "
            f"0..N); raise n_cavity (or pass on_truncation='warn' or 'ignore' to accept the truncation)")


def excitations(tc):
    """X = (J_z + N/2) + a^dag a of every basis state |i, n> (index i n_cavity + n), (d,) integers."""
    N, nc = tc.n_qubits, tc.n_cavity
    return ((N - np.arange(N + 1))[:, None] + np.arange(nc)[None, :]).reshape(-1)


def check_start(tc, rho0):
    """``rho0`` (..., d, d) checked: a density matrix (``check_state``) whose excitations fit the cavity.

    The coupling can move all X excitations of a basis state into the cavity, which then needs Fock
    states up to X: a population above the state tolerance on X >= n_cavity raises ``ValueError``
    naming ``rho0`` and n_cavity (``eqx.error_if`` when traced) under ``on_truncation="raise"``, warns
    (concrete input) under "warn"; the thermal photons of environments B and general are not counted
    (no finite cutoff holds them; their tail is the documented truncation error).
    """
    rho0 = check_state(rho0, "rho0", size=tc.dim)
    over = excitations(tc) >= tc.n_cavity
    if tc.on_truncation == "ignore" or not over.any() or not validation_enabled():
        return rho0
    tol = state_tolerance(rho0.dtype)
    leak = jnp.sum(jnp.real(jnp.diagonal(rho0, axis1=-2, axis2=-1))[..., over], axis=-1)
    message = (f"rho0 populates excitation numbers X = (J_z + N/2) + a^dag a >= n_cavity = {tc.n_cavity} "
               f"(population > {tol:g}); the coupling can move all X excitations into the cavity, so n_cavity "
               "must be >= X + 1: raise n_cavity")
    if tc.on_truncation == "warn":
        if is_concrete(leak) and float(jnp.max(leak)) > tol:
            warnings.warn(message, UserWarning, stacklevel=3)
        return rho0
    return checks(rho0, [(lambda: jnp.all(leak <= tol), message)])


def _unfused(rates: dict, shape) -> dict:
    """The rates, each broadcast to ``shape``, computed as a materialised array.

    XLA's CPU fusion would otherwise inline the scalar time dependence (sin, exp of t) into a
    right-hand side's loop and re-evaluate it for every element of the state: a dot with an identity
    matrix (contracting size >= 2, so it is not rewritten as a product) is not fused into its consumers.
    """
    keys = list(rates)
    rows = [jnp.broadcast_to(rates[k], shape).reshape(-1) for k in keys]
    if len(rows) < 2:
        rows.append(jnp.zeros_like(rows[0]))
    R = jnp.dot(jnp.eye(len(rows)), jnp.stack(rows))
    return {k: R[n].reshape(shape) for n, k in enumerate(keys)}


def operator_rhs(tc):
    """(t, y) -> dy/dt for y (*batch, 2, N+1, nc, N+1, nc) = (Re rho, Im rho) as tensors."""
    N, nc = tc.n_qubits, tc.n_cavity
    j = N / 2
    i = np.arange(N + 1)
    m = j - i
    c = np.sqrt(np.maximum(j * (j + 1) - m * (m + 1), 0.0))  # <J,M+1|J+|J,M>, M = J - i (0 at i = 0)
    n = np.arange(nc, dtype=float)
    sq = np.sqrt(n)
    # weights on the (Dicke, cavity) index of one side: w[i, n] = c_i sqrt(n)
    w_cpl = jnp.asarray(c[:, None] * sq[None, :])
    exc = jnp.asarray((N - i)[:, None] + 0.0 * n[None, :])  # J_z + N/2
    nph = jnp.asarray(np.broadcast_to(n[None, :], (N + 1, nc)))
    naad = jnp.asarray(np.broadcast_to(np.where(n < nc - 1, n + 1, 0.0)[None, :], (N + 1, nc)))  # a a^dag
    jz2 = jnp.asarray(np.broadcast_to((m**2)[:, None], (N + 1, nc)))
    jz = jnp.asarray(m)
    s_ph = jnp.asarray(np.sqrt(n[:, None] * n[None, :]))  # sqrt(n n') on (n, n')

    def row(x):  # (*b, i, n) -> (*b, i, n, 1, 1)
        return x[..., :, :, None, None]

    def col(x):  # (*b, j, m) -> (*b, 1, 1, j, m)
        return x[..., None, None, :, :]

    wb, dl, g = tc._p("omega_b", 2), tc._p("detuning", 2), tc._p("g", 4)
    hdiag = wb * exc + (wb + dl) * nph  # diagonal of H, (*b, i, n)
    dh = row(hdiag) - col(hdiag)  # (*b, i, n, j, m)
    env_b = tc.environment != "A"
    w_row, w_col = w_cpl[:, :, None, None], w_cpl[None, None, :, :]
    s_nm = s_ph[None, :, None, :]  # (1, n, 1, m)
    jzz = (jz[:, None, None, None] * jz[None, None, :, None])

    def coupling(y):
        """V y - y V with V = J_+ a + J_- a^dag (real symmetric), y (*b, i, n, j, m)."""
        vy = shift(w_row * y, +1, (-4, -3)) + w_row * shift(y, -1, (-4, -3))
        yv = w_col * shift(y, -1, (-2, -1)) + shift(w_col * y, +1, (-2, -1))
        return vy - yv

    rate_fn = tc._rate_fn()

    def field(t, y):
        r = _unfused(rate_fn(t), tc.batch_shape)
        ra = r["a"]
        kdiag = ra[..., None, None] * nph
        if env_b:
            kdiag = kdiag + r["a_dag"][..., None, None] * naad + r["Jz"][..., None, None] * jz2
        kk = -0.5 * (row(kdiag) + col(kdiag))  # -(K_row + K_col)/2, K = sum_k r_k L_k^dag L_k
        yr, yi = y[..., 0, :, :, :, :], y[..., 1, :, :, :, :]
        # -i [H, rho]:  dRe = C(Im), dIm = -C(Re), C(x) = H x - x H
        cr = dh * yr + g * coupling(yr)
        ci = dh * yi + g * coupling(yi)

        def diss(x):
            out = kk * x + ra[..., None, None, None, None] * shift(s_nm * x, +1, (-3, -1))  # a x a^dag
            if env_b:
                out = out + r["a_dag"][..., None, None, None, None] * (s_nm * shift(x, -1, (-3, -1)))
                out = out + r["Jz"][..., None, None, None, None] * (jzz * x)
            return out

        return jnp.stack([ci + diss(yr), -cr + diss(yi)], axis=-5)

    return field


def sector_index(tc):
    """Static index arrays of the excitation-sector representation (see ``sector_rhs``)."""
    N, nc = tc.n_qubits, tc.n_cavity
    i3, n3, j3 = np.meshgrid(np.arange(N + 1), np.arange(nc), np.arange(N + 1), indexing="ij")
    m3 = n3 - i3 + j3
    valid = (m3 >= 0) & (m3 < nc)
    return i3, n3, j3, np.clip(m3, 0, nc - 1), valid


def _shifted(x, d):
    """x[idx + d] at every multi-index idx (numpy, zero where idx + d falls outside)."""
    out = np.zeros_like(x)
    src = tuple(slice(max(k, 0), n + min(k, 0)) for k, n in zip(d, x.shape))
    dst = tuple(slice(max(-k, 0), n + min(-k, 0)) for k, n in zip(d, x.shape))
    out[dst] = x[src]
    return out


def sector_stencils(tc):
    """Static stencils of the excitation-sector generator on the flattened index k = (i n_cavity + n)(N+1) + j.

    Returns ``{name: {offset: weight}}`` with ``weight`` a (K,) float array (K = (N+1)^2 n_cavity): the
    term ``name`` applied to x is sum_offset weight[k] x[k + offset].  Every weight vanishes on entries
    outside the sectors and where the shifted multi-index leaves the box, so a flat shift by ``offset``
    (which wraps across rows) reads only valid neighbours.  Terms (``sector_rhs``): "C" = V x - x V
    (V = J_+ a + J_- a^dag, per unit g), "N" = (n - m) x (per unit Delta), "a" = D[a] x, "a_dag" =
    D[a^dag] x, "Jz" = D[J_z] x (per unit rate).
    """
    N, nc = tc.n_qubits, tc.n_cavity
    jj = N / 2
    mz = jj - np.arange(N + 1)
    c = np.sqrt(np.maximum(jj * (jj + 1) - mz * (mz + 1), 0.0))  # <J,M+1|J+|J,M>, M = J - i
    i3, n3, j3, m3, valid = sector_index(tc)
    v = valid.astype(float)
    one = np.ones(v.shape)
    w_row = c[i3] * np.sqrt(n3) * v  # c_i sqrt(n)
    w_col = c[j3] * np.sqrt(m3) * v  # c_j sqrt(m)
    s_nm = np.sqrt(n3 * m3) * v  # sqrt(n m)
    aad = np.where(np.arange(nc) < nc - 1, np.arange(nc) + 1.0, 0.0)  # diag of the truncated a a^dag
    terms = {
        # J_+ a x: x[i+1, n+1, j] c_{i+1} sqrt(n+1); J_- a^dag x; x J_+ a: x[i, n, j-1] c_j sqrt(m); x J_- a^dag
        "C": {(1, 1, 0): _shifted(w_row, (1, 1, 0)), (-1, -1, 0): w_row * _shifted(one, (-1, -1, 0)),
              (0, 0, -1): -w_col * _shifted(one, (0, 0, -1)), (0, 0, 1): -_shifted(w_col, (0, 0, 1))},
        "N": {(0, 0, 0): (n3 - m3) * v},  # inside a sector H_row - H_col = Delta (n - m)
        "a": {(0, 0, 0): -0.5 * (n3 + m3) * v, (0, 1, 0): _shifted(s_nm, (0, 1, 0))},  # a x a^dag: x[i, n+1, j]
        "a_dag": {(0, 0, 0): -0.5 * (aad[n3] + aad[m3]) * v, (0, -1, 0): s_nm * _shifted(one, (0, -1, 0))},
        "Jz": {(0, 0, 0): (mz[i3] * mz[j3] - 0.5 * (mz[i3] ** 2 + mz[j3] ** 2)) * v},
    }
    _, nc_, nj = v.shape
    flat = {}
    for name, term in terms.items():
        flat[name] = {(di * nc_ + dn) * nj + dj: (w * v).reshape(-1) for (di, dn, dj), w in term.items()}
    return flat


def sector_rhs(tc):
    """(t, y) -> dy/dt in the excitation-sector representation, y (2, K, B): (Re, Im) of the flattened
    sector entries (see ``sector_stencils``) by the B = prod(batch_shape) members (batch axes last, flat).

    H, D[a], D[a^dag] and D[J_z] all change the excitation number X = (J_z + N/2) + a^dag a by the
    same amount on both sides of rho, so a state that starts block-diagonal in X (the charged and
    the empty starts, any Dicke-Fock diagonal state) stays so: rho[i, n; j, m] = 0 unless
    (N - i) + n = (N - j) + m.  Keeping only y[i, n, j] = rho[i, n; j, m = n - i + j] shrinks the
    state from d^2 to K = (N+1)^2 n_cavity numbers (6x for N = 4), and every operator of the model is
    still a weighted shift of one or two of these axes:
        J_+ a rho:  y[i+1, n+1, j] c_{i+1} sqrt(n+1)     rho J_+ a:  y[i, n, j-1] c_j sqrt(m)
        a rho a^dag: y[i, n+1, j] sqrt((n+1)(m+1))       J_z rho J_z: (J - i)(J - j) y
    and inside a sector H_row - H_col = Delta (n - m) (the w_b phases cancel).  On the flattened index
    each of these is a shift by a constant offset, so y is zero-padded ONCE and every term is a static
    slice times a static weight (one fused loop, no per-term bounds checks), scaled per member by
    Delta, g or a rate:
        d Re = g C(Im) + Delta N(Im) + sum_k r_k D_k(Re),   d Im = -g C(Re) - Delta N(Re) + sum_k r_k D_k(Im).
    """
    st = sector_stencils(tc)
    K = (tc.n_qubits + 1) ** 2 * tc.n_cavity
    pad = max(abs(o) for term in st.values() for o in term)
    st = {name: [(o, jnp.asarray(w[:, None])) for o, w in term.items()] for name, term in st.items()}
    env_b = tc.environment != "A"  # thermal and dephasing terms present
    dl, g = tc._p("detuning").reshape(-1), tc._p("g").reshape(-1)
    rate_fn = tc._rate_fn()

    def apply(name, xp):  # xp: x zero-padded by ``pad`` on its first axis
        out = 0.0
        for o, w in st[name]:
            out = out + w * xp[pad + o: pad + o + K]
        return out

    def field(t, y):
        r = {k: v.reshape(-1) for k, v in _unfused(rate_fn(t), tc.batch_shape).items()}
        yp = jnp.pad(y, ((0, 0), (pad, pad), (0, 0)))
        yr, yi = yp[0], yp[1]

        def diss(x):
            out = r["a"] * apply("a", x)
            if env_b:
                out = out + r["a_dag"] * apply("a_dag", x) + r["Jz"] * apply("Jz", x)
            return out

        hr = g * apply("C", yr) + dl * apply("N", yr)  # C(x) = H x - x H on Re and Im
        hi = g * apply("C", yi) + dl * apply("N", yi)
        return jnp.stack([hi + diss(yr), -hr + diss(yi)])

    return field


def sector_state(tc, rho):
    """(*batch, d, d) -> y0 (2, K, B) of ``sector_rhs`` (batch flattened, last)."""
    x = to_sector(tc, rho)  # (*batch, i, n, j)
    nb = x.ndim - 3
    x = jnp.moveaxis(x, tuple(range(nb)), tuple(range(3, 3 + nb)))
    x = x.reshape((x.shape[0] * x.shape[1] * x.shape[2], -1))
    return jnp.stack([jnp.real(x), jnp.imag(x)])


def to_sector(tc, rho):
    """(..., d, d) -> (..., N+1, nc, N+1) (entries outside the excitation sectors dropped)."""
    i3, n3, j3, m3, valid = sector_index(tc)
    nq, nc = tc.dims
    r4 = rho.reshape(rho.shape[:-2] + (nq, nc, nq, nc))
    return r4[..., i3, n3, j3, m3] * jnp.asarray(valid)


def from_sector(tc, x):
    """(..., N+1, nc, N+1) -> (..., d, d)."""
    i3, n3, j3, m3, valid = sector_index(tc)
    nq, nc = tc.dims
    sel = np.nonzero(valid)
    out = jnp.zeros(x.shape[:-3] + (nq, nc, nq, nc), dtype=x.dtype)
    out = out.at[..., i3[sel], n3[sel], j3[sel], m3[sel]].set(x[..., sel[0], sel[1], sel[2]])
    return out.reshape(x.shape[:-3] + (tc.dim, tc.dim))


def published_ergotropy(energy, passive_energy, n_cavity: int):
    """The paper's Table-I functional max(0, n_cavity Tr(rho_B H_B) - E_passive(rho_B)) of a battery
    energy and passive energy.

    ERRATA, Table I: the paper's code evaluates the battery energy as ``expect(H_B_total.ptrace(0), rho_B)``;
    the partial trace of the OPERATOR H_B (x) 1 over the cavity is n_cavity H_B, so its energy is multiplied
    by n_cavity (6) while its passive energy is not, and the result is clipped at 0.
    ``conventions="published"`` reproduces exactly that functional (same dynamics) and with it every printed
    entry of Table I; ``"physical"`` (default) is the correct ergotropy, several times smaller (N = 1, env A,
    Delta*: 0.7243 against the printed 5.0349) and never above N w_b.
    """
    return jnp.maximum(0.0, n_cavity * energy - passive_energy)


def published_blp(D, ts):
    """simpson(max(0, numpy.gradient(D, dt)), x=ts) for uniform ``ts`` (SciPy >= 1.11 even-N rule)."""
    n = ts.shape[0]
    if n < 3:
        raise ValueError(f"the published BLP estimator needs at least 3 times; got {n}")
    dt = ts[1] - ts[0]
    if is_concrete(ts) and not np.allclose(np.diff(np.asarray(ts)), float(dt), rtol=1e-9, atol=1e-12):
        raise ValueError("the published BLP estimator needs uniformly spaced ts (numpy.gradient with a scalar dt)")
    grad = jnp.concatenate([
        (D[..., 1:2] - D[..., 0:1]) / dt,
        (D[..., 2:] - D[..., :-2]) / (2 * dt),
        (D[..., -1:] - D[..., -2:-1]) / dt,
    ], axis=-1)
    y = jnp.maximum(grad, 0.0)
    w = np.zeros(n)
    m = n if n % 2 == 1 else n - 1  # composite Simpson on the first m points (odd count)
    w[:m:2] += 2.0
    w[1:m:2] += 4.0
    w[0] -= 1.0
    w[m - 1] -= 1.0
    w /= 3.0
    if n % 2 == 0:  # Cartwright correction for the last interval, equal spacings h
        w[-1] += 5.0 / 12.0
        w[-2] += 2.0 / 3.0
        w[-3] -= 1.0 / 12.0
    return dt * jnp.sum(y * jnp.asarray(w), axis=-1)
