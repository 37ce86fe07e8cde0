"""Gradient-based optimisation of batteries: charging protocols and designs (Optax, exact gradients).

Modules, one concept each:

* :mod:`~qbjax.optimize.box`: box constraints by the sigmoid reparametrisation;
* :mod:`~qbjax.optimize.multistart`: the compiled optimisers (L-BFGS; vmapped multistart Adam ascent
  keeping the best feasible point);
* :mod:`~qbjax.optimize.micromaser`: the micromaser's qubit-stream protocol (paper 002, Eq. 11);
* :mod:`~qbjax.optimize.four_level`: inverse design of the four-level battery over the Table-I box
  (paper 000): objectives, constraints, starts, edges;
* :mod:`~qbjax.optimize.grid`: the design's comparison with the seeded Table-I grid;
* :mod:`~qbjax.optimize.output`: result.json, figures and the summary table;
* :mod:`~qbjax.optimize.cli`: ``qbjax optimize micromaser`` and ``qbjax optimize four-level``.
"""

from .box import Box
from .four_level import optimize_four_level
from .grid import grid_best
from .micromaser import G_PAPER, optimize_micromaser

__all__ = ["G_PAPER", "Box", "grid_best", "optimize_four_level", "optimize_micromaser"]
