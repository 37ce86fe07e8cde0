"""``jax.vmap`` over Tavis-Cummings models as ONE batched solve (paper 003's survival maps).

A model whose array fields carry a batch shape integrates the whole grid as one diffrax solve in the
excitation-sector form, batch axes last (``_dicke_cavity.sector_rhs``): the step controller sees every
member at once, and each right-hand side is a few stencils over a (2, K, B) array.  Written instead as
``jax.vmap(lambda d, g: TavisCummingsBattery(4, d, g).final_ergotropy(20))``, each member's solve
would be a diffrax while-loop batched by vmap: the same number of loop iterations (the slowest
member's), but every step's control flow becomes per-member selects over the whole state, and the
right-hand side runs on a (B, 2, K) layout with the batch in front.

:func:`member_batched` gives the model's solves a ``jax.custom_batching.custom_vmap`` rule: under vmap
the mapped axis is moved in front of the fields' own batch shape and the solve is called ONCE on the
grown batch (nested vmaps grow it again, so ``vmap(vmap(f))`` over a 15 x 15 grid is one 225-member
solve).  What stays a plain vmap: per-member save times or start times (``ts``, ``t0`` batched), the
derivatives' own passes (reverse mode is a ``custom_vjp`` whose forward and backward passes are
``jax.vjp`` of the member solve), and ``jax.jvp`` (the solve's own rule, through ``custom_vmap``).
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
from jax.custom_batching import custom_vmap

_tree = jax.tree_util


def _expand(x, batched: bool, core: int, ndim: int):
    """A batched leaf (n, *member, *core) -> (n, 1, ..., 1, *member, *core) with ``ndim`` batch axes
    after the mapped one (numpy broadcasting then lines it up with the unbatched leaves)."""
    if not batched:
        return x
    member = x.ndim - 1 - core
    return x.reshape(x.shape[:1] + (1,) * (ndim - member) + x.shape[1:])


def member_batched(fn: Callable, members: tuple, shared, core_ndims: tuple, *, reverse_mode: bool = True):
    """``fn(members, shared)`` whose output carries the broadcast batch shape of ``members`` in front,
    with a vmap rule that folds a mapped axis into that batch shape (one call instead of a vmapped one).

    Args:
        fn: the member solve, ``fn(members, shared) -> pytree of arrays`` with the members' broadcast
            batch shape leading every output.
        members: tuple of pytrees of arrays (the model's array fields, a start state...); each leaf is
            (*batch, *core) and the batch axes of all leaves broadcast together (numpy rules).
        shared: pytree of arrays every member shares (the save times, t0); batched under vmap, the
            rule falls back to a plain vmap of ``fn``.
        core_ndims: for each entry of ``members``, the number of trailing non-batch axes of its leaves.
        reverse_mode: wrap in a ``custom_vjp`` (the default) so that reverse-mode derivatives work;
            ``False`` leaves forward mode (``jax.jvp``) available instead.
    """
    leaves, tree = _tree.tree_flatten(members)
    cores = [c for m, c in zip(members, core_ndims) for _ in _tree.tree_leaves(m)]
    n_fields = len(_tree.tree_leaves(members[0]))
    shared = _tree.tree_map(jnp.asarray, shared)

    def call(leaves, shared):
        return fn(_tree.tree_unflatten(tree, leaves), shared)

    batched_call = custom_vmap(call)

    @batched_call.def_vmap
    def rule(axis_size, in_batched, leaves, shared):
        leaves_batched, shared_batched = in_batched
        if not any(leaves_batched) and not any(_tree.tree_leaves(shared_batched)):
            out = call(leaves, shared)  # nothing mapped here (a forward-mode rule batching only tangents)
            return out, _tree.tree_map(lambda _: False, out)
        if any(_tree.tree_leaves(shared_batched)):  # per-member times: member by member
            axes = ([0 if b else None for b in leaves_batched], _tree.tree_map(lambda b: 0 if b else None,
                                                                                shared_batched))
            out = jax.vmap(call, in_axes=axes)(leaves, shared)
        else:
            ndim = max((x.ndim - int(b) - c for x, b, c in zip(leaves, leaves_batched, cores)), default=0)
            grown = [_expand(x, b, c, ndim) for x, b, c in zip(leaves, leaves_batched, cores)]
            if not any(leaves_batched[:n_fields]):  # the fields define the batch shape: give them the axis
                grown[0] = jnp.broadcast_to(grown[0], (axis_size,) + (1,) * (ndim - grown[0].ndim) + grown[0].shape)
            out = batched_call(grown, shared)
        return out, _tree.tree_map(lambda _: True, out)

    if not reverse_mode:
        return batched_call(leaves, shared)

    @jax.custom_vjp
    def solve(leaves, shared):
        return batched_call(leaves, shared)

    def solve_fwd(leaves, shared):
        return jax.vjp(call, leaves, shared)

    def solve_bwd(pullback, cotangent):
        return pullback(cotangent)

    solve.defvjp(solve_fwd, solve_bwd)
    return solve(leaves, shared)
