"""Joint counting statistics of several counting fields (``qb.joint_cumulants``).

References, each independent of the multi-index Rayleigh-Schroedinger recursion:

* the scalar ``qb.cumulants`` (tested on its own in test_fcs.py) along each field and along any
  direction u (S(s u) has s-derivatives sum_{i..} j^(n)_{i..} u_i ... u_i);
* closed forms: two independent Poisson processes (S = r1 (e^l1 - 1) + r2 (e^l2 - 1): every
  cumulant of field i equals r_i, every cross term is 0); the two-state chain (rates a: 0 -> 1,
  b: 1 -> 0) counting up-jumps with l1 and down-jumps with l2: the numbers of up- and down-jumps
  differ by at most one, so S(l1, l2) = S_1(l1 + l2) with the one-field SCGF
  S_1(l) = (-(a+b) + sqrt((a-b)^2 + 4ab e^l)) / 2 and every entry of j^(n) equals S_1^(n)(0)
  (mean ab/(a+b), covariance = variance = ab(a^2 + b^2)/(a+b)^3); and a chain with two counted
  up-channels (a1 e^l1 + a2 e^l2: 0 -> 1, b: 1 -> 0), whose SCGF (the largest eigenvalue of the 2x2
  tilted matrix) is differentiated symbolically by SymPy, mixed partials included;
* QuTiP 5 ``countstat_current_noise`` (Flindt's pseudo-inverse, its own Liouvillian) for the
  current vector and the zero-frequency noise matrix of two jump channels (a driven qubit, and
  two coupled driven qubits, which runs the LAPACK branch of the resolvent);
* central finite differences for ``jax.grad`` of the cross noise.
"""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import qbjax as qb

ONE = jnp.ones(1)
TWO = jnp.ones(2)


def _chain(a, b):
    """Two-state chain, up-jumps (0 -> 1) counted by lam[0], down-jumps by lam[1]."""
    def gen(lam):
        return jnp.stack([jnp.stack([-a + 0.0 * lam[0], b * jnp.exp(lam[1])], -1),
                          jnp.stack([a * jnp.exp(lam[0]), -b + 0.0 * lam[1]], -1)], -2)
    return gen


def _two_channel_chain(a1, a2, b):
    """0 -> 1 through two channels (a1 counted by lam[0], a2 by lam[1]), 1 -> 0 at rate b."""
    def gen(lam):
        up = a1 * jnp.exp(lam[0]) + a2 * jnp.exp(lam[1])
        return jnp.stack([jnp.stack([-(a1 + a2) + 0.0 * up, b + 0.0 * up], -1),
                          jnp.stack([up, -b + 0.0 * up], -1)], -2)
    return gen


def _qubit_two_channels(omega=1.1, delta=0.8, g_down=0.7, g_up=0.25):
    """Driven qubit, decay sm and pumping sp, each counted: (H, c_ops)."""
    H = 0.5 * delta * np.diag([1.0, -1.0]) + 0.5 * omega * np.array([[0.0, 1.0], [1.0, 0.0]])
    sm = np.array([[0.0, 1.0], [0.0, 0.0]])
    return H, [jnp.sqrt(g_down) * sm, jnp.sqrt(g_up) * sm.T]


def _two_qubits():
    """Two driven, exchange-coupled qubits; decay of qubit 1 and of qubit 2 counted separately."""
    sm, sx, sz, I2 = (np.array([[0.0, 1.0], [0.0, 0.0]]), np.array([[0.0, 1.0], [1.0, 0.0]]),
                      np.diag([1.0, -1.0]), np.eye(2))
    H = (0.5 * 0.3 * np.kron(sz, I2) - 0.5 * 0.2 * np.kron(I2, sz) + 0.4 * np.kron(sx, I2)
         + 0.25 * (np.kron(sm, sm.T) + np.kron(sm.T, sm)))
    return H, [np.sqrt(0.9) * np.kron(sm, I2), np.sqrt(0.5) * np.kron(I2, sm), np.sqrt(0.1) * np.kron(sm.T, I2)]


def _tilted(H, c_ops, counted):
    """lam -> L + sum_i (e^lam_i - 1) J_i, J_i = c_i . c_i^dag for the counted channels (row-major vec)."""
    L = qb.liouvillian(H, c_ops)
    J = jnp.stack([qb.sprepost(c_ops[i], c_ops[i].conj().T) for i in counted])
    return lambda lam: L + jnp.einsum("k,kab->ab", jnp.expm1(lam), J)


def _closed_joint(a1, a2, b, order):
    """{sorted multi-index: d^n S / dlam_i...} at 0 of the 2x2 chain's eigenvalue
    S = (tr + sqrt(tr^2 - 4 det)) / 2 (the one that is 0 at lam = 0), by SymPy; where SymPy is
    missing, by nested jax.jacfwd of that closed form (not the RS recursion)."""
    idx = [i for n in range(1, order + 1) for i in itertools.combinations_with_replacement(range(2), n)]
    try:
        import sympy as sp
    except ImportError:
        def S(lam):
            tr = -(a1 + a2) - b
            det = (a1 + a2) * b - b * (a1 * jnp.exp(lam[0]) + a2 * jnp.exp(lam[1]))
            return (tr + jnp.sqrt(tr * tr - 4 * det)) / 2
        fs = [S]
        for _ in range(order):
            fs.append(jax.jacfwd(fs[-1]))
        tensors = jax.jit(lambda: [f(jnp.zeros(2)) for f in fs[1:]])()
        return {i: float(tensors[len(i) - 1][i]) for i in idx}
    l1, l2 = sp.symbols("l1 l2")
    M = sp.Matrix([[-(a1 + a2), b], [a1 * sp.exp(l1) + a2 * sp.exp(l2), -b]])
    tr, det = M.trace(), M.det()
    S = (tr + sp.sqrt(tr**2 - 4 * det)) / 2
    return {i: float(sp.diff(S, *[(l1, l2)[k] for k in i]).subs({l1: 0, l2: 0}).evalf(30)) for i in idx}


def _directional(T, u):
    """sum_{i1..in} T_{i1..in} u_i1 ... u_in."""
    for _ in range(T.ndim):
        T = T @ u
    return T


# ------------------------------------------------------------------ (a) consistency with the scalar cumulants

@pytest.fixture(scope="module")
def qubit_joint():
    """(generator, j1..j3 of the driven qubit's two channels, qb.cumulants(..., n_fields=2) at order 2)."""
    H, c = _qubit_two_channels()
    gen = _tilted(H, c, [0, 1])
    return gen, *jax.jit(lambda: (qb.joint_cumulants(gen, 2, order=3), qb.cumulants(gen, 2, n_fields=2)))()


def test_diagonal_and_directional_vs_scalar(qubit_joint):
    gen, js, via = qubit_joint
    assert [j.shape for j in js] == [(2,), (2, 2), (2, 2, 2)]
    for j in js:  # fully symmetric tensors
        for perm in itertools.permutations(range(j.ndim)):
            np.testing.assert_array_equal(j, jnp.transpose(j, perm))
    scalar = jax.jit(lambda u: qb.cumulants(lambda s: gen(s * u), order=3))
    for i in range(2):  # diagonal entries = scalar cumulants of field i
        ref = scalar(jnp.eye(2)[i])
        np.testing.assert_allclose([js[n][(i,) * (n + 1)] for n in range(3)], ref, rtol=1e-10, atol=1e-13)
    for u in ([0.6, -1.3], [1.0, 1.0]):  # directional consistency
        u = jnp.array(u)
        np.testing.assert_allclose([_directional(j, u) for j in js], scalar(u), rtol=1e-9, atol=1e-12)
    # qb.cumulants(..., n_fields=k) is joint_cumulants
    assert len(via) == 2
    for x, y in zip(via, js):
        np.testing.assert_allclose(x, y, rtol=1e-13, atol=1e-15)


# ------------------------------------------------------------------ (b) closed forms

def test_independent_poisson():
    r = jnp.array([0.5, 2.0, 1.3])
    gen = lambda lam: jnp.sum(r * jnp.expm1(lam)).reshape(1, 1)  # noqa: E731
    js = jax.jit(lambda: qb.joint_cumulants(gen, 3, order=3, trace=ONE))()
    np.testing.assert_allclose(js[0], r, rtol=1e-14)
    assert js[0].dtype == jnp.float64
    np.testing.assert_allclose(js[1], jnp.diag(r), rtol=1e-14, atol=1e-15)  # cross terms 0
    T3 = np.zeros((3, 3, 3))
    T3[np.arange(3), np.arange(3), np.arange(3)] = r
    np.testing.assert_allclose(js[2], T3, rtol=1e-14, atol=1e-15)


def test_two_state_chain_up_and_down_jumps():
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from test_fcs import closed_form_cumulants  # SymPy derivatives of the closed-form one-field SCGF

    f = jax.jit(lambda a, b: qb.joint_cumulants(_chain(a, b), 2, order=3, trace=TWO))
    for a, b in [(0.3, 2.0), (1.7, 0.9)]:
        js = f(a, b)
        ref = closed_form_cumulants(a, b, order=3)
        for n, j in enumerate(js):  # every entry, cross terms included, is S_1^(n)(0)
            np.testing.assert_allclose(j, np.full(j.shape, ref[n]), rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(js[0], a * b / (a + b), rtol=1e-13)
        np.testing.assert_allclose(js[1][0, 1], a * b * (a * a + b * b) / (a + b) ** 3, rtol=1e-12)


def test_two_channel_chain_vs_sympy_eigenvalue():
    a1, a2, b = 0.4, 1.5, 0.8
    ref = _closed_joint(a1, a2, b, 4)
    js = jax.jit(lambda: qb.joint_cumulants(_two_channel_chain(a1, a2, b), 2, order=4, trace=TWO))()
    for n, j in enumerate(js, start=1):
        for full in itertools.product(range(2), repeat=n):
            np.testing.assert_allclose(j[full], ref[tuple(sorted(full))], rtol=1e-9, atol=1e-12)
    assert abs(ref[(0, 1)]) > 1e-3  # a genuine cross term


def test_batched_over_leading_dims():
    a1 = jnp.array([[0.4, 1.0], [2.0, 0.3], [0.7, 0.7]])  # (3, 2)
    one = lambda a: qb.joint_cumulants(_two_channel_chain(a, 1.5, 0.8), 2, order=2, trace=TWO)  # noqa: E731
    js, vm = jax.jit(lambda a1: (one(a1), jax.vmap(one)(a1[:, 0])))(a1)
    assert [j.shape for j in js] == [(3, 2, 2), (3, 2, 2, 2)]
    for x, y in zip(js, vm):
        np.testing.assert_allclose(x[:, 0], y, rtol=1e-12, atol=1e-14)
    for idx in [(1, 0), (2, 1)]:  # members against the closed form
        ref = _closed_joint(float(a1[idx]), 1.5, 0.8, 2)
        np.testing.assert_allclose(js[0][idx], [ref[(0,)], ref[(1,)]], rtol=1e-10)
        np.testing.assert_allclose(js[1][idx], [[ref[(0, 0)], ref[(0, 1)]], [ref[(0, 1)], ref[(1, 1)]]], rtol=1e-9)


# ------------------------------------------------------------------ (c) QuTiP countstat_current_noise

@pytest.mark.parametrize("system", ["qubit", "two_qubits"])
def test_vs_qutip_current_noise(system, qubit_joint):
    qutip = pytest.importorskip("qutip")
    H, c = _qubit_two_channels() if system == "qubit" else _two_qubits()
    counted = [0, 1]
    d = H.shape[0]
    dims = [[2], [2]] if d == 2 else [[2, 2], [2, 2]]
    cq = [qutip.Qobj(x, dims=dims) for x in c]
    Lq = qutip.liouvillian(qutip.Qobj(H, dims=dims), cq)
    rho = qutip.steadystate(Lq)
    current, noise, skew = qutip.countstat_current_noise(Lq, [cq[i] for i in counted], rhoss=rho)
    noise = np.asarray(noise)[..., 0]  # (k, k) at zero frequency
    np.testing.assert_allclose(np.asarray(qb.from_qutip(Lq)), qb.liouvillian(H, c), atol=1e-14)
    if system == "qubit":
        js = qubit_joint[1]
    else:
        js = jax.jit(lambda: qb.joint_cumulants(_tilted(H, c, counted), 2, order=2))()
    np.testing.assert_allclose(js[0], current, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(js[1], noise, rtol=1e-8, atol=1e-12)  # cross terms included
    if len(js) == 3:  # QuTiP's skewness: the diagonal of j3
        np.testing.assert_allclose(np.diagonal(np.diagonal(js[2])), np.asarray(skew)[:, 0], rtol=1e-7)
    assert abs(noise[0, 1]) > 1e-3


# ------------------------------------------------------------------ (d) gradients

def _grad_and_fd(f, x, h=1e-5):
    """(jax.grad f (x), central difference of f) from one compiled program."""
    return jax.jit(lambda x: (jax.grad(f)(x), (f(x + h) - f(x - h)) / (2 * h)))(x)


def test_grad_of_cross_noise_vs_fd():
    def noise01(g_up):  # the cross term of j2 through a Lindblad generator (complex arithmetic, real output)
        H, c = _qubit_two_channels(g_up=g_up)
        return qb.joint_cumulants(_tilted(H, c, [0, 1]), 2, order=2)[1][0, 1]

    h = 1e-5
    g, fd = jax.jit(lambda x: (jax.grad(noise01)(x), (noise01(x + h) - noise01(x - h)) / (2 * h)))(0.25)
    np.testing.assert_allclose(g, fd, rtol=1e-6)
    assert abs(g) > 1e-3


# ------------------------------------------------------------------ (e) bad input

def test_bad_input_names_the_argument():
    gen = _chain(0.3, 2.0)
    for bad in (0, -1, 1.5, "two"):
        with pytest.raises(ValueError, match="n_fields"):
            qb.joint_cumulants(gen, bad, trace=TWO)
        with pytest.raises(ValueError, match="n_fields"):
            qb.cumulants(gen, 2, n_fields=bad, trace=TWO)
    with pytest.raises(ValueError, match="order"):
        qb.joint_cumulants(gen, 2, order=0, trace=TWO)
    leaky = lambda lam: gen(lam).at[0, 0].add(-0.5)  # noqa: E731
    with pytest.raises(ValueError, match=r"generator\(0\).*trace preserving"):
        qb.joint_cumulants(leaky, 2, order=1, trace=TWO)
    nan = lambda lam: gen(lam).at[1, 0].set(jnp.nan)  # noqa: E731
    with pytest.raises(ValueError, match=r"generator\(0\) contains NaN"):
        qb.joint_cumulants(nan, 2, order=1, trace=TWO)
    with pytest.raises(ValueError, match="trace"):
        qb.joint_cumulants(gen, 2, order=1)  # a 2x2 rate matrix needs trace=
