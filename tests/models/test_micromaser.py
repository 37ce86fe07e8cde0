"""Micromaser (paper 002): collision map, fine-tuned chambers, Eq. (8), loss gradient, optimiser.

References (never taken from qbjax's model):
* collision map: a dense ``scipy.linalg.expm`` of the truncated joint Hamiltonian
  g (a (x) s+ + a^dag (x) s-) followed by a NumPy partial trace over the qubit (built below);
* fine-tuned g = pi/4 with c = q = 0: the number state |15> with W = 15 (paper Sec. II A and III A:
  sin(g sqrt(16)) = 0 traps the cavity at n = m - 1 = 15);
* coherent protocol: Eq. (8) of the paper, transcribed below;
* loss gradient: central finite differences of the loss; the loss's pieces: Eq. (11) recomputed here
  from NumPy collisions (the dense reference map) and numpy.linalg.eigvalsh;
* optimiser: the paper's optimum (c, q) = (0.390, 0.168) for lam = 10 (Sec. III A).
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg as sl

import qbjax as qb
from qbjax.models.micromaser import Micromaser
from qbjax.optimize import optimize_micromaser

G_PAPER = np.pi / np.sqrt(15.6)


def dense_collision(rho, g, c, q):
    """exp(-i g (a s+ + a^dag s-)) on rho (x) rho_q, qubit traced out; basis (|g>, |e>), field first."""
    N = rho.shape[0]
    a = np.diag(np.sqrt(np.arange(1, N)), 1)
    sp = np.array([[0, 0], [1, 0]])  # s+ = |e><g|
    U = sl.expm(-1j * g * (np.kron(a, sp) + np.kron(a.T, sp.T)))
    x = c * np.sqrt(q * (1 - q))
    rq = np.array([[q, x], [x, 1 - q]])
    big = U @ np.kron(rho, rq) @ U.conj().T
    return big.reshape(N, 2, N, 2).trace(axis1=1, axis2=3), big


def random_state(N, seed):
    rng = np.random.default_rng(seed)
    Z = rng.normal(size=(N, N)) + 1j * rng.normal(size=(N, N))
    rho = Z @ Z.conj().T
    return rho / np.trace(rho)


@pytest.mark.parametrize("c,q", [(0.37, 0.21), (0.0, 0.0), (1.0, 0.5), (0.8, 1.0), (0.5, 0.9)])
def test_collision_matches_dense_expm(c, q):
    N = 12
    rho = random_state(N, 1)
    ref, _ = dense_collision(rho, G_PAPER, c, q)
    out = np.asarray(Micromaser(G_PAPER, n_levels=N).collide(rho, c, q))
    assert np.abs(out - ref).max() < 1e-12


def test_trace_positivity_and_energy_bookkeeping():
    N = 14
    m = Micromaser(G_PAPER, n_levels=N, on_truncation="ignore")
    rho = np.zeros((N, N), complex)
    rho[0, 0] = 1
    energies = [0.0]
    H = np.diag(np.arange(N))
    for k in range(25):
        c, q = 0.3 + 0.02 * k, 0.1 + 0.01 * k
        new = np.asarray(m.collide(rho, c, q))
        assert abs(np.trace(new) - 1) < 1e-13
        assert np.linalg.eigvalsh(new).min() > -1e-13
        assert np.abs(new - new.conj().T).max() < 1e-14
        # energy bookkeeping: the cavity gains exactly what the qubit loses (excitations conserved)
        _, big = dense_collision(rho, G_PAPER, c, q)
        qubit_out = big.reshape(N, 2, N, 2).trace(axis1=0, axis2=2)
        gained = np.trace(new @ H).real - np.trace(rho @ H).real
        lost = (1 - q) - qubit_out[1, 1].real
        assert abs(gained - lost) < 1e-12
        rho = new
        energies.append(np.trace(rho @ H).real)
    # charge() reproduces the same stream and energies (per-collision arrays)
    cs = 0.3 + 0.02 * np.arange(25)
    qs = 0.1 + 0.01 * np.arange(25)
    rho_c, E = m.charge(cs, qs, 25)
    assert E.shape == (26,)
    assert np.abs(np.asarray(E) - np.array(energies)).max() < 1e-12
    assert np.abs(np.asarray(rho_c) - rho).max() < 1e-12


def test_fine_tuned_number_state():
    m = Micromaser(np.pi / 4, n_levels=40)  # g = pi/sqrt(16)
    rho, E = m.charge(0.0, 0.0, 10_000)
    p = np.real(np.diag(np.asarray(rho)))
    assert abs(p[15] - 1) < 1e-10
    assert abs(float(m.ergotropy(rho)) - 15.0) < 1e-10
    assert abs(float(E[-1]) - 15.0) < 1e-10
    assert p[16:].max() < 1e-20  # trapped (sin(g sqrt 16) = sin(pi) = 1.2e-16 in floating point)


@pytest.mark.parametrize("q", [0.3, 0.6])
def test_coherent_protocol_eq8(q):
    m = Micromaser(np.pi / 4, n_levels=24)
    rho, _ = m.charge(1.0, q, 40_000)
    p = np.real(np.diag(np.asarray(rho)))
    ref = [1.0]  # Eq. (8): p_n = ((1-q)/q) cot^2(pi sqrt(n) / (2 sqrt(m))) p_{n-1}, m = 16
    for n in range(1, 16):
        ref.append(ref[-1] * (1 - q) / q / math.tan(math.pi * math.sqrt(n) / 8) ** 2)
    ref = np.array(ref) / sum(ref)
    assert np.abs(p[:16] - ref).max() < 1e-10
    assert abs(float(m.purity(rho)) - 1) < 1e-10  # pure steady state (paper Sec. II A)


def numpy_loss(c, q, n, lam, tail, N, g):
    """Eq. (11) from the dense reference map (single stream)."""
    rho = np.zeros((N, N), complex)
    rho[0, 0] = 1
    E = [0.0]
    for _ in range(n):
        rho, _ = dense_collision(rho, g, c, q)
        E.append(np.real(np.trace(rho)) * 0 + np.real(np.diag(rho)) @ np.arange(N))
    r = np.linalg.eigvalsh(rho)[::-1]
    W = E[-1] - r @ np.arange(N)
    m = int(np.floor(tail * n + 1e-9))
    pen = np.abs(np.diff(E[n - m :])).sum()
    return -W * (1 - c) * (1 - q) / (W + (1 - c) + (1 - q)) + lam * pen


def test_loss_matches_numpy_reference():
    m = Micromaser(G_PAPER, n_levels=10, on_truncation="ignore")
    val = float(m.loss(0.4, 0.2, 30, 10.0, 0.2))
    assert abs(val - numpy_loss(0.4, 0.2, 30, 10.0, 0.2, 10, G_PAPER)) < 1e-11
    # limit at c = q = 1: the first term is 0 (and the cavity stays in |0>)
    assert float(m.loss(1.0, 1.0, 30, 10.0, 0.2)) == 0.0


def test_loss_gradient_vs_finite_differences():
    m = Micromaser(G_PAPER, n_levels=60, on_truncation="ignore")
    f = jax.jit(lambda c, q: m.loss(c, q, 300, 10.0, 0.1))  # compiled once for the 8 differences
    c = jnp.array([0.2, 0.45])
    q = jnp.array([0.1, 0.17])
    gc, gq = jax.jit(jax.grad(f, argnums=(0, 1)))(c, q)
    h = 1e-6
    for k in range(2):
        e = jnp.zeros(2).at[k].set(h)
        fd_c = (f(c + e, q) - f(c - e, q)) / (2 * h)
        fd_q = (f(c, q + e) - f(c, q - e)) / (2 * h)
        assert abs(gc[k] - fd_c) < 1e-6 * max(1, abs(fd_c))
        assert abs(gq[k] - fd_q) < 1e-6 * max(1, abs(fd_q))
    # finite gradients at the box edge q = 0
    g0 = jax.jit(jax.grad(lambda q: m.loss(0.0, q, 50, 1.0, 0.2)))(0.0)
    assert np.isfinite(float(g0))


def test_optimiser_decreases_loss_fast():
    """Fast default-run check: a short stream, a seeded random start, loss below the paper point's."""
    g = G_PAPER
    m = Micromaser(g, n_levels=50, on_truncation="ignore")
    paper = float(m.loss(0.390, 0.168, 200, 10.0, 0.2))
    res = optimize_micromaser(lam=10.0, n_collisions=200, n_levels=50, seed=3, starts=1, max_steps=25,
                              progress=None)
    assert res["loss"] <= paper + 1e-12
    assert res["starts"][0]["loss"] < res["starts"][0]["init_loss"]
    for key in ("c", "q", "loss", "W_final", "purity_final", "top_level_population", "wall_s", "n_steps"):
        assert key in res


@pytest.mark.slow
def test_optimiser_reaches_paper_single_stream_optimum():
    res = optimize_micromaser(lam=10.0, n_collisions=1000, n_levels=120, seed=0, starts=1, max_steps=40,
                              progress=None)
    assert abs(res["c"][0] - 0.390) < 0.005  # paper Sec. III A: (c, q) = (0.390, 0.168) for lam = 10
    assert abs(res["q"][0] - 0.168) < 0.005


def test_truncation_guard():
    m = Micromaser(G_PAPER, n_levels=8, on_truncation="warn")
    with pytest.warns(UserWarning, match="top Fock level"):
        m.charge(0.0, 0.0, 50)
    res = Micromaser(G_PAPER, n_levels=8, on_truncation="ignore").run(0.0, 0.0, 50)
    assert not bool(res.truncation_ok) and float(res.top_population) > 1e-8
    with pytest.raises(Exception, match="truncation"):
        Micromaser(G_PAPER, n_levels=8, on_truncation="raise").charge(0.0, 0.0, 50)


def test_wigner_matches_qutip():
    qutip = pytest.importorskip("qutip")
    rho = random_state(8, 5)
    xv = np.linspace(-4, 4, 13)
    pv = np.linspace(-3, 5, 11)
    ref = qutip.wigner(qutip.Qobj(rho), xv, pv)
    assert np.abs(np.asarray(qb.wigner(rho, xv, pv)) - ref).max() < 1e-12


@pytest.mark.parametrize(
    "kwargs,name",
    [
        (dict(c=1.2, q=0.3), "c"),
        (dict(c=-0.1, q=0.3), "c"),
        (dict(c=0.3, q=1.5), "q"),
        (dict(c=0.3, q=float("nan")), "q"),
    ],
)
def test_bad_cq(kwargs, name):
    m = Micromaser(G_PAPER, n_levels=10)
    with pytest.raises(ValueError, match=rf"\b{name}\b"):
        m.charge(kwargs["c"], kwargs["q"], 10)
    with pytest.raises(ValueError, match=rf"\b{name}\b"):
        m.loss(kwargs["c"], kwargs["q"], 10)


@pytest.mark.parametrize("n_levels", [1, 0, -3, 2.5])
def test_bad_n_levels(n_levels):
    with pytest.raises(ValueError, match="n_levels"):
        Micromaser(G_PAPER, n_levels=n_levels)


@pytest.mark.parametrize("g", [float("nan"), float("inf")])
def test_bad_g(g):
    with pytest.raises(ValueError, match=r"\bg\b"):
        Micromaser(g, n_levels=10)
