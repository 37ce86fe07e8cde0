"""Micromaser stream: the hand-written reverse pass (``jax.custom_vjp``) against plain autodiff.

References (never the custom rule itself):
* plain JAX reverse mode through a ``lax.scan`` of the same collision (``_apply``, no custom rules),
  on streams that exercise every layout of the reverse pass: one batch, several batches (sums per
  block or per collision), empty batches, one qubit per collision, odd and padded blocks, a start
  state with off-diagonal entries and a complex start (the imaginary part runs as a second stream);
* central finite differences (``jax.test_util.check_grads``) on a short stream;
* the loss of Eq. (11) through ``Micromaser.loss`` against the same loss built on the plain scan.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

from qbjax._ergotropy import ergotropy
from qbjax.models import _micromaser_stream as ms
from qbjax.models.micromaser import Micromaser

G = math.pi / math.sqrt(15.6)


def _plain_stream(R0, V, c, q, sizes):
    """(R_n, E_1..E_n) by plain autodiff-able scan of single collisions."""
    n = sum(sizes)
    cs, qs = (jnp.repeat(v, np.array(sizes), total_repeat_length=n) for v in (c, q))
    levels = jnp.arange(R0.shape[-1], dtype=float)

    def step(R, cq):
        R = ms._apply(R, V, *cq)
        return R, jnp.real(jnp.diagonal(R)) @ levels

    return jax.lax.scan(step, R0, (cs, qs))


def _objective(R, E):
    """A function of the final state and of every energy (ergotropy, a tail window, a quadratic)."""
    N = R.shape[-1]
    H = jnp.diag(jnp.arange(N, dtype=float))
    Rr = jnp.real(R)
    return (ergotropy(Rr, H, validate=False) + 0.3 * jnp.sum(jnp.abs(jnp.diff(E[-20:])))
            + 0.1 * jnp.sum(Rr * Rr) + 0.05 * jnp.sum(jnp.imag(R) ** 2) + 0.2 * Rr[0, 1])


def _start(N, seed, complex_part=False):
    rng = np.random.default_rng(seed)
    Z = rng.normal(size=(N, N)) + (1j * rng.normal(size=(N, N)) if complex_part else 0)
    rho = Z @ Z.conj().T
    return jnp.asarray(ms.to_real_gauge(rho / np.trace(rho)) if complex_part else rho / np.trace(rho))


@pytest.mark.parametrize("sizes,block", [
    pytest.param((120,), None, marks=pytest.mark.slow),  # one batch: sums per block
    pytest.param((120,), 7, marks=pytest.mark.slow),  # odd block with padding (120 = 17 * 7 + 1); (0, 60), 11 pads too
    pytest.param((30, 30), 10, marks=pytest.mark.slow),  # batches aligned with blocks
    pytest.param((25, 25, 0), 5, marks=pytest.mark.slow),  # an empty last batch
    pytest.param((70, 0, 37, 13), None, marks=pytest.mark.slow),  # uneven batches: sums at each batch's first collision
    pytest.param((3, 9), 4, marks=pytest.mark.slow),  # batch boundaries inside blocks
    ((0, 60), 11),  # an empty first batch, padded blocks
    pytest.param((1,) * 40, None, marks=pytest.mark.slow),  # one qubit per collision
])
def test_reverse_pass_matches_plain_autodiff(sizes, block):
    N = 20
    V = ms._vectors(G, N)
    B = len(sizes)
    c, q = jnp.linspace(0.2, 0.6, B), jnp.linspace(0.1, 0.4, B)
    R0 = _start(N, 3)

    def custom(c, q, R0):
        R, E, _ = ms._stream(R0, V, c, q, sizes, block)
        return _objective(R, E)

    def plain(c, q, R0):
        return _objective(*_plain_stream(R0, V, c, q, sizes))

    # compiled (jax.jit): executed op by op, the custom reverse pass takes several times longer
    assert abs(float(jax.jit(custom)(c, q, R0) - jax.jit(plain)(c, q, R0))) < 1e-13
    grads = [jax.jit(jax.grad(f, argnums=(0, 1, 2)))(c, q, R0) for f in (custom, plain)]
    for got, ref in zip(*grads):
        assert np.abs(np.asarray(got) - np.asarray(ref)).max() <= 1e-12 * max(1.0, np.abs(np.asarray(ref)).max())


@pytest.mark.slow  # the reverse pass of test_reverse_pass_matches_plain_autodiff from a start with coherences
def test_reverse_pass_complex_start():
    N = 12
    V = ms._vectors(G, N)
    sizes = (9, 14)
    c, q = jnp.array([0.3, 0.7]), jnp.array([0.2, 0.45])
    R0 = _start(N, 5, complex_part=True)
    custom = lambda c, q: _objective(*ms._stream(R0, V, c, q, sizes, 4)[:2])  # noqa: E731
    plain = lambda c, q: _objective(*_plain_stream(R0, V, c, q, sizes))  # noqa: E731
    for got, ref in zip(jax.grad(custom, argnums=(0, 1))(c, q), jax.grad(plain, argnums=(0, 1))(c, q)):
        assert np.abs(np.asarray(got) - np.asarray(ref)).max() <= 1e-12 * max(1.0, np.abs(np.asarray(ref)).max())


# -m slow (~14 s); by default the reverse pass equals plain autodiff (above), and Micromaser.loss, whose
# gradient runs through it, is checked against central differences
# (tests/models/test_micromaser.py::test_loss_gradient_vs_finite_differences)
@pytest.mark.slow
def test_reverse_pass_finite_differences():
    N = 8
    V = ms._vectors(G, N)
    R0 = _start(N, 7)
    f = lambda c, q, R0: _objective(*ms._stream(R0, V, c, q, (5, 7), 3)[:2])  # noqa: E731
    check_grads(f, (jnp.array([0.35, 0.6]), jnp.array([0.25, 0.4]), R0), order=1, modes=["rev"], eps=1e-6)


@pytest.mark.slow  # the loss gradient is checked against finite differences in test_micromaser.py
def test_loss_gradient_matches_plain_autodiff():
    N, n, lam, tail = 30, 100, 10.0, 0.1
    m = Micromaser(G, n_levels=N, on_truncation="ignore")
    c, q = jnp.array([0.2, 0.45, 0.3, 0.5]), jnp.array([0.1, 0.17, 0.3, 0.25])

    def plain(c, q):
        R, E = _plain_stream(m.ground_state(), ms._vectors(G, N), c, q, (25,) * 4)
        W = ergotropy(R, m.hamiltonian(), validate=False)
        E = jnp.concatenate([jnp.zeros(1), E])
        k = int(math.floor(tail * n + 1e-9))
        a, b = 1 - jnp.mean(c), 1 - jnp.mean(q)
        return -W * a * b / (W + a + b) + lam * jnp.sum(jnp.abs(jnp.diff(E[n - k:])))

    f = lambda c, q: m.loss(c, q, n, lam, tail)  # noqa: E731
    assert abs(float(f(c, q) - plain(c, q))) < 1e-12
    for got, ref in zip(jax.grad(f, argnums=(0, 1))(c, q), jax.grad(plain, argnums=(0, 1))(c, q)):
        assert np.abs(np.asarray(got) - np.asarray(ref)).max() <= 1e-12 * max(1.0, np.abs(np.asarray(ref)).max())


def test_g_gradient_is_nan_not_zero():
    N = 10
    R0, c, q = _start(N, 1), jnp.array([0.3]), jnp.array([0.2])
    f = lambda g: jnp.sum(ms._stream(R0, ms._vectors(g, N), c, q, (6,), None)[1])  # noqa: E731
    assert np.isnan(float(jax.jit(jax.grad(f))(G)))  # compiled: 0.2 s instead of 6 s op by op
