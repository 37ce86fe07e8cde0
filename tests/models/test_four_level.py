"""FourLevelBattery (paper 000) against independent references.

Where the references come from (never from the code under test):
* the generator entries are re-typed below (``np_generator``) from the corrected generator of the
  paper's Eq. (1) (physical: the errata stated in ``qbjax.models.four_level``) and from
  the paper's printed Eq. (1) (published), in plain NumPy;
* steady states: NumPy SVD null space (physical) / NumPy ``eig`` (published);
* cumulants: the paper's method in NumPy (the eigenvalue of L(lam) that tends to 0, high-order
  centred finite differences with Richardson extrapolation), written in this file;
* Gibbs states, detailed-balance ratios and the diagonal-state ergotropy are closed forms;
* gradients are checked against central finite differences of the same function.
"""

from math import factorial

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import qbjax as qb
from qbjax.models.four_level import FEATURES, PARAMETERS, four_level_features, sample_table_one

NAMES = PARAMETERS  # T_c, T_h, T_l, p_c, p_h, tau, eps, eps_b, eps_a
TRACE = np.array([1.0, 1.0, 1.0, 1.0, 0.0])


# ---------------------------------------------------------------------------------------------
# independent NumPy references
# ---------------------------------------------------------------------------------------------


def nbe(w, T):
    return 1.0 / np.expm1(w / T)


def np_generator(lam, T_c, T_h, T_l, p_c, p_h, tau, eps, eps_b, eps_a, r=1.0, g=1.0, conv="physical"):
    """The corrected Eq. (1) matrix (physical) or the paper's Eq. (1) as printed (published), re-typed here."""
    nh, nc, nl = nbe(eps_a - eps, T_h), nbe(eps_b - eps, T_c), nbe(eps_a - eps_b, T_l)
    th, tc, tl = 1 + nh, 1 + nc, 1 + nl
    G12 = r * (p_h * nh + p_c * nc) / 2
    gb = r * (nh + nc)
    g2 = g * g
    if conv == "physical":
        return np.array([
            [-gb, 0, r * tc, r * th, -2 * G12],
            [0, -gb, r * tc, r * th, -2 * G12],
            [r * nc, r * nc, -(2 * r * tc + g2 * nl), g2 * tl * np.exp(lam), 2 * r * p_c * nc],
            [r * nh, r * nh, g2 * nl * np.exp(-lam), -(2 * r * th + g2 * tl), 2 * r * p_h * nh],
            [-G12, -G12, r * p_c * tc, r * p_h * th, -(gb + tau)],
        ])  # fmt: skip
    # Eq. (1) with Gamma_1x = Gamma_2x = r, Gamma_x = 2r, Gamma_12x = r p_x
    return np.array([
        [-gb, 0, r * th, r * tc, -2 * G12],
        [0, -gb, r * th, r * tc, -2 * G12],
        [r * nc, r * nc, -2 * r * th - g2 * tl, g2 * nl * np.exp(-lam), r * p_c * nc],
        [r * nh, r * nh, g2 * tl * np.exp(lam), -g2 * nl - 2 * r * tc, 2 * r * p_h * nh],
        [-G12, -G12, r * p_h * th, 2 * r * p_c * tc, -gb - tau],
    ])  # fmt: skip


def np_steady_svd(L):
    """Null vector of L from NumPy's SVD (right singular vector of the smallest singular value)."""
    _, s, vt = np.linalg.svd(L)
    v = vt[-1]
    return v / (TRACE @ v)


def np_top_eigvec(L):
    """Published convention in NumPy: eigenvector of the eigenvalue with the largest real part."""
    w, V = np.linalg.eig(L)
    k = np.argmax(w.real)
    v = V[:, k] / (TRACE @ V[:, k])
    return w[k], v


def fd_weights(k, m):
    """Centred finite-difference weights for the k-th derivative on the 2m+1 points -m..m (exact
    polynomial moments: error O(h^(2m+2-k)) ... order 2m for even/odd alike after symmetry)."""
    offs = np.arange(-m, m + 1, dtype=float)
    A = np.vander(offs, increasing=True).T
    b = np.zeros(2 * m + 1)
    b[k] = factorial(k)
    return np.linalg.solve(A, b)


def np_scgf(lam, args, conv, s0=0.0):
    """S(lam): the eigenvalue of L(lam) on the branch through s0 = S(0) (the one closest to s0):
    physical, s0 = 0 (the eigenvalue that tends to 0); published, s0 = the eigenvalue of L(0) with the
    largest real part (the paper's 'dominant' eigenvalue)."""
    w = np.linalg.eigvals(np_generator(lam, *args, conv=conv))
    return w[np.argmin(np.abs(w - s0))].real


def np_cumulants_fd(args, conv="physical", m=5, steps=(0.05, 0.1, 0.2, 0.4)):
    """The paper's method: centred (2m+1)-point stencils, Richardson extrapolation h -> h/2, and the
    step h with the smallest Richardson difference.  Returns (j1..j4, error estimates)."""
    s0 = 0.0
    if conv == "published":
        w = np.linalg.eigvals(np_generator(0.0, *args, conv=conv))
        s0 = w[np.argmax(w.real)]
    out, err = [], []
    for k in range(1, 5):
        w = fd_weights(k, m)
        best = None
        for h in steps:
            d = []
            for hh in (h, h / 2):
                d.append(sum(wi * np_scgf(j * hh, args, conv, s0) for wi, j in zip(w, range(-m, m + 1))) / hh**k)
            p = 2 * m  # truncation order of the stencil
            ext = (2**p * d[1] - d[0]) / (2**p - 1)
            cand = (abs(d[1] - d[0]), ext)
            best = cand if best is None or cand[0] < best[0] else best
        out.append(best[1])
        err.append(best[0])
    return np.array(out), np.array(err)


def np_diag_ergotropy(pops, energies):
    """Ergotropy of a diagonal state: sum p_i e_i - sum p_desc e_asc."""
    pops, energies = np.asarray(pops), np.asarray(energies)
    return pops @ energies - np.sort(pops)[::-1] @ np.sort(energies)


table_one = sample_table_one  # seeded Table-I inputs (not reference values)


def row(p, i):
    return tuple(float(p[k][i]) for k in NAMES)


N_CFG = 36
CFG = table_one(N_CFG, seed=1)
# a configuration with population inversion in both the battery and its baseline (E, E0 > 0)
INVERTED = dict(T_c=0.686, T_h=5.798, T_l=0.367, p_c=0.297, p_h=0.88, tau=1.807, eps=0.934,
                eps_b=2.802, eps_a=4.083)


@pytest.fixture(scope="module")
def feats():
    return {conv: {k: np.asarray(v) for k, v in four_level_features(CFG, conv).items()}
            for conv in ("physical", "published")}


# ---------------------------------------------------------------------------------------------
# generator
# ---------------------------------------------------------------------------------------------


def test_generator_matches_spec_and_paper_entries():
    for i in range(5):
        for conv in ("physical", "published"):
            m = qb.models.FourLevelBattery(*row(CFG, i), conventions=conv)
            for lam in (0.0, 0.37, -0.8):
                np.testing.assert_allclose(np.asarray(m.generator(lam)), np_generator(lam, *row(CFG, i), conv=conv),
                                           rtol=1e-13, atol=1e-13)


def test_trace_preservation():
    for i in range(N_CFG):
        m = qb.models.FourLevelBattery(*row(CFG, i))
        L0 = np.asarray(m.generator(0.0))
        scale = np.abs(L0).max()
        np.testing.assert_allclose(TRACE @ L0, 0.0, atol=1e-14 * scale)
    # the printed Eq. (1): population columns conserve probability, the coherence column does not;
    # closed form of its sum: -4 Gamma12 + r p_c n_c + 2 r p_h n_h = -r p_c n_c
    for i in range(5):
        args = row(CFG, i)
        Lp = np.asarray(qb.models.FourLevelBattery(*args, conventions="published").generator(0.0))
        sums = TRACE @ Lp
        nc = nbe(args[7] - args[6], args[0])
        np.testing.assert_allclose(sums[:4], 0.0, atol=1e-12 * np.abs(Lp).max())
        np.testing.assert_allclose(sums[4], -args[3] * nc, rtol=1e-12)


def test_per_bath_detailed_balance_of_rates():
    # each bath's up/down rate ratio is its Boltzmann factor at its own temperature
    for i in range(5):
        T_c, T_h, T_l, p_c, p_h, tau, e, eb, ea = row(CFG, i)
        L = np.asarray(qb.models.FourLevelBattery(*row(CFG, i), r=0.7, g=1.3).generator(0.0))
        np.testing.assert_allclose(L[3, 0] / L[0, 3], np.exp(-(ea - e) / T_h), rtol=1e-12)  # hot, 1 <-> a
        np.testing.assert_allclose(L[2, 1] / L[1, 2], np.exp(-(eb - e) / T_c), rtol=1e-12)  # cold, 2 <-> b
        np.testing.assert_allclose(L[3, 2] / L[2, 3], np.exp(-(ea - eb) / T_l), rtol=1e-12)  # cavity, b <-> a


@pytest.mark.parametrize("T", [0.3, 1.0, 4.2])
def test_equal_temperatures_give_gibbs_state(T):
    # closed form: rho_v = exp(-eps_v / T) / Z, no coherence, zero ergotropy, zero mean current
    e, eb, ea = 0.2, 0.9, 1.7
    m = qb.models.FourLevelBattery(T, T, T, 0.8, 0.6, 0.4, e, eb, ea, r=1.3, g=0.7)
    w = np.exp(-np.array([e, e, eb, ea]) / T)
    gibbs = np.append(w / w.sum(), 0.0)
    np.testing.assert_allclose(np.asarray(m.steady_state()), gibbs, atol=1e-13)
    assert abs(float(m.steady_ergotropy())) < 1e-13
    f = m.features()
    assert abs(float(f["E"])) < 1e-13
    assert abs(float(f["j1"])) < 1e-13
    np.testing.assert_allclose(float(f["F"]), 1.0, rtol=1e-12)  # zero cycle affinity


# ---------------------------------------------------------------------------------------------
# steady states and ergotropy
# ---------------------------------------------------------------------------------------------


def test_steady_state_vs_numpy_svd(feats):
    for i in range(N_CFG):
        args = row(CFG, i)
        x = np.asarray(qb.models.FourLevelBattery(*args).steady_state())
        ref = np_steady_svd(np_generator(0.0, *args))
        np.testing.assert_allclose(x, ref, rtol=1e-9, atol=1e-12)


def test_published_steady_state_vs_numpy_eig():
    checked = 0
    for i in range(N_CFG):
        args = row(CFG, i)
        s0, ref = np_top_eigvec(np_generator(0.0, *args, conv="published"))
        if abs(s0.imag) > 0:
            continue  # complex top pair: covered by the convention test below
        x = np.asarray(qb.models.FourLevelBattery(*args, conventions="published").steady_state())
        np.testing.assert_allclose(x, ref.real, rtol=1e-8, atol=1e-11)
        checked += 1
    assert checked >= N_CFG // 2


def test_published_complex_top_pair_convention():
    # documented choice: the member of the top pair with Im s0 > 0, real part of its eigenvector
    rng = np.random.default_rng(7)
    p = table_one(400, seed=7)
    for i in rng.permutation(400):
        args = row(p, i)
        L = np_generator(0.0, *args, conv="published")
        w, V = np.linalg.eig(L)
        k = np.argmax(w.real + 1e-9 * np.sign(w.imag))
        if abs(w[k].imag) > 1e-6:
            ref = (V[:, k] / (TRACE @ V[:, k])).real
            x = np.asarray(qb.models.FourLevelBattery(*args, conventions="published").steady_state())
            np.testing.assert_allclose(x, ref, rtol=1e-8, atol=1e-11)
            return
    pytest.fail("no complex top eigenvalue found")


def test_features_ergotropy_equals_core_ergotropy(feats):
    # features() uses the closed-form spectrum of the block-diagonal rho; the model's ergotropy()
    # uses the core (eigvalsh); both must agree, for the battery and the baseline
    for conv in ("physical", "published"):
        for i in range(0, N_CFG, 4):
            m = qb.models.FourLevelBattery(*row(CFG, i), conventions=conv)
            np.testing.assert_allclose(feats[conv]["E"][i], float(m.steady_ergotropy()), atol=1e-13)
            np.testing.assert_allclose(feats[conv]["E0"][i], float(m.baseline().steady_ergotropy()), atol=1e-13)


def test_baseline_E0_is_diagonal_state_ergotropy(feats):
    for conv in ("physical", "published"):
        for i in range(N_CFG):
            args = row(CFG, i)
            base = list(args)
            base[3] = base[4] = base[5] = 0.0  # p_c = p_h = tau = 0
            L = np_generator(0.0, *base, conv=conv)
            x = np_steady_svd(L) if conv == "physical" else np_top_eigvec(L)[1].real
            assert abs(x[4]) < 1e-12  # no coherence without p_c, p_h
            e, eb, ea = args[6:]
            ref = np_diag_ergotropy(x[:4], [e, e, eb, ea])
            np.testing.assert_allclose(feats[conv]["E0"][i], ref, rtol=1e-9, atol=1e-13)


def test_thermodynamic_columns(feats):
    f = feats["physical"]
    nh = nbe(CFG["eps_a"] - CFG["eps"], CFG["T_h"])
    nc = nbe(CFG["eps_b"] - CFG["eps"], CFG["T_c"])
    nl = nbe(CFG["eps_a"] - CFG["eps_b"], CFG["T_l"])
    F = (1 + nc) * nh * (1 + nl) / (nc * (1 + nh) * nl)
    Q_h = CFG["eps_a"] - CFG["eps"]
    np.testing.assert_allclose(f["F"], F, rtol=1e-10)
    np.testing.assert_allclose(f["W"], Q_h - CFG["T_c"] * np.log(F), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(f["eta"], (Q_h - CFG["T_c"] * np.log(F)) / Q_h, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(f["Q_c"], CFG["eps_b"] - CFG["eps"], rtol=1e-14)
    assert set(f) == set(FEATURES)


# ---------------------------------------------------------------------------------------------
# cumulants
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("conv", ["physical", "published"])
def test_cumulants_vs_numpy_finite_differences(feats, conv):
    """Exact RS cumulants vs the paper's method (NumPy eigenvalues + FD + Richardson).

    Tolerance 1e-7 relative where the reference is reliable (its Richardson difference below 2e-8
    relative); elsewhere within 1e-7 relative plus twice the reference's own error estimate.  The
    reliable cases must be the large majority."""
    reliable = total = 0
    for i in range(N_CFG):
        args = row(CFG, i)
        if conv == "published":
            w = np.sort_complex(np.linalg.eigvals(np_generator(0.0, *args, conv=conv)))
            top = w[np.argmax(w.real)]
            gap = np.min(np.abs(np.delete(w, np.argmax(w.real)) - top))
            if abs(top.imag) > 0 or gap < 1.0:
                continue  # no real, isolated dominant eigenvalue: the FD branch is ill-defined
        ref, err = np_cumulants_fd(args, conv)
        got = np.array([feats[conv][f"j{k}"][i] for k in range(1, 5)])
        j0 = np.array([feats[conv][f"j0_{k}"][i] for k in range(1, 5)])
        np.testing.assert_allclose(feats[conv]["C4"][i], got[3] / j0[3], rtol=1e-14)
        for k in range(4):
            total += 1
            if err[k] <= 2e-8 * abs(ref[k]):
                reliable += 1
                assert abs(got[k] - ref[k]) <= 1e-7 * abs(ref[k]), (i, k + 1, got[k], ref[k])
            else:
                assert abs(got[k] - ref[k]) <= 1e-7 * abs(ref[k]) + 2 * err[k], (i, k + 1, got[k], ref[k], err[k])
    assert total >= 60 and reliable >= 0.8 * total, (reliable, total)


@pytest.mark.slow
def test_model_cumulants_method_matches_features(feats):
    for conv in ("physical", "published"):
        m = qb.models.FourLevelBattery(*row(CFG, 3), conventions=conv)
        got = np.asarray(m.cumulants(order=4))
        ref = [feats[conv][f"j{k}"][3] for k in range(1, 5)]
        np.testing.assert_allclose(got, ref, rtol=1e-10, atol=1e-14)


# ---------------------------------------------------------------------------------------------
# gradients, batching, validation
# ---------------------------------------------------------------------------------------------


def test_gradients_match_finite_differences():
    names = ("p_c", "T_h", "eps_a")

    def f(x):
        p = dict(INVERTED)
        p.update(dict(zip(names, x)))
        out = qb.models.FourLevelBattery(**p).features()
        return jnp.stack([out["ratio"], out["C4"]])

    x0 = jnp.array([INVERTED[k] for k in names])
    jac = np.asarray(jax.jit(jax.jacfwd(f))(x0))  # (2 outputs, 3 parameters)
    assert np.all(np.isfinite(jac))
    fj = jax.jit(f)
    h = 1e-5
    for k in range(3):
        e = np.zeros(3)
        e[k] = h
        # 4th-order central difference
        fd = (-np.asarray(fj(x0 + 2 * e)) + 8 * np.asarray(fj(x0 + e)) - 8 * np.asarray(fj(x0 - e))
              + np.asarray(fj(x0 - 2 * e))) / (12 * h)
        np.testing.assert_allclose(jac[:, k], fd, rtol=1e-6, atol=1e-9, err_msg=names[k])


def test_vmap_equals_loop(feats):
    # four_level_features is jit(vmap(...)) over the 36 configurations; compare with a Python loop
    # over the model (ratio and C_i only where their denominators are not ~0, the dataset filters)
    for i in range(0, N_CFG, 3):
        loop = qb.models.FourLevelBattery(*row(CFG, i)).features()
        for key in FEATURES:
            a, b = feats["physical"][key][i], float(loop[key])
            if key == "ratio" and abs(b) > 0 and float(loop["E0"]) <= 1e-12:
                continue
            np.testing.assert_allclose(a, b, rtol=1e-11, atol=1e-15, err_msg=key)


def test_batched_entry_point_shapes_and_broadcasting():
    # same 36 configurations as the fixture, as a (6, 6) grid with scalar r, g broadcast
    p = {k: CFG[k].reshape(6, 6) for k in NAMES}
    p["r"] = 1.0
    p["g"] = 1.0
    out = four_level_features(p)
    assert set(out) == set(FEATURES)
    assert all(v.shape == (6, 6) for v in out.values())
    assert all(v.dtype == jnp.float64 for v in out.values())


GOOD = dict(T_c=1.0, T_h=2.0, T_l=0.5, p_c=0.5, p_h=0.5, tau=0.1, eps=0.1, eps_b=0.5, eps_a=1.0)


@pytest.mark.parametrize("name,value", [
    ("T_c", 0.0), ("T_h", -1.0), ("T_l", 0.0), ("p_c", 1.5), ("p_h", -0.1), ("tau", -0.01),
    ("eps_b", 0.1), ("eps_a", 0.5), ("r", 0.0), ("T_c", float("nan")),
])  # fmt: skip
def test_bad_input_names_parameter(name, value):
    p = dict(GOOD)
    p[name] = value
    with pytest.raises(ValueError, match=name):
        qb.models.FourLevelBattery(**p)
    batch = {k: np.full(3, v) for k, v in p.items()}
    with pytest.raises(ValueError, match=name):
        four_level_features(batch)


def test_bad_conventions():
    with pytest.raises(ValueError, match="conventions"):
        qb.models.FourLevelBattery(**GOOD, conventions="printed")


def test_traced_bad_input_raises_at_run_time():
    def f(T_c):
        p = dict(GOOD)
        p["T_c"] = T_c
        return qb.models.FourLevelBattery(**p).steady_state()

    assert np.all(np.isfinite(np.asarray(jax.jit(f)(1.0))))
    with pytest.raises(Exception, match="T_c"):
        jax.block_until_ready(jax.jit(f)(-1.0))


# ---------------------------------------------------------------------------------------------
# time evolution (paper Fig. 1)
# ---------------------------------------------------------------------------------------------


def test_fig1_curves_relax_to_steady_state():
    from scipy.linalg import expm  # reference propagator

    args = (5.0, 6.36, 1.0, 0.97, 0.61, 0.95, 0.1, 0.4, 1.5)  # Fig. 1 caption, set 1
    m = qb.models.FourLevelBattery(*args)
    ts = np.array([0.0, 0.3, 2.0, 60.0])
    x = np.asarray(m.evolve(ts))
    x0 = np.array([0.5, 0.5, 0, 0, 0])
    L = np_generator(0.0, *args)
    for t, xt in zip(ts, x):
        np.testing.assert_allclose(xt, expm(L * t) @ x0, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(x[-1], np_steady_svd(L), atol=1e-10)
    c = m.fig1_curves(ts)
    e, eb, ea = args[6:]
    xs = x[-1]
    Hc = e * (xs[0] + xs[1]) + ea * xs[3]  # Eq. (2): levels 1, 2, a
    Hs = ea * xs[3] + eb * xs[2]  # Eq. (3): levels a, b
    HL = e * (xs[0] + xs[1]) + eb * xs[2]  # Eq. (4): levels 1, 2, b
    np.testing.assert_allclose([float(c["s_over_c"][-1]), float(c["L_over_s"][-1]), float(c["L_over_c"][-1])],
                               [Hs / Hc, HL / Hs, HL / Hc], rtol=1e-9)
    assert abs(float(c["E"][0])) < 1e-14  # the initial state is passive


# -m slow (~12 s); by default the cumulants these derivatives feed are checked against NumPy finite
# differences of the top eigenvalue (test_cumulants_vs_numpy_finite_differences)
@pytest.mark.slow
@pytest.mark.parametrize("conv", ["physical", "published"])
def test_sparse_counting_derivatives_equal_forward_mode_ad(conv):
    # the closed-form derivatives d^k L / d lam^k (two entries) against nested jacfwd of the dense L(lam)
    from qbjax._fcs import generator_derivatives
    from qbjax.models import _four_level_equations as fe

    p = dict(INVERTED, r=1.0, g=1.0)
    p = {k: jnp.asarray(v, dtype=float) for k, v in p.items()}
    dense = generator_derivatives(fe.generator_fn(p, conv), 4)
    n = fe.occupations(*(p[k] for k in ("T_c", "T_h", "T_l", "eps", "eps_b", "eps_a")))
    rows, counting = fe.ENTRIES[conv](*n, p["p_c"], p["p_h"], p["tau"], p["r"], p["g"])
    for k, D in enumerate(fe.counting_derivatives(rows, counting, 4)):
        M = np.array([[0.0 if e is None else float(e) for e in row] for row in D])
        np.testing.assert_allclose(M, np.asarray(dense[k]), rtol=1e-14, atol=0, err_msg=f"order {k}")
