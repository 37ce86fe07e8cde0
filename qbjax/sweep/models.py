"""The built-in models as sweep functions: ``fn(config) -> dict`` of named outputs, by CLI name.

A :class:`SweepModel` turns one of the five built-in batteries into what a parameter sweep needs:

* ``function(fixed)`` returns ``fn(config)`` for ONE configuration.  ``config`` holds the grid's
  varying parameters (traced scalars under ``jax.jit(jax.vmap(fn))``), possibly merged with fixed
  values (plain Python numbers); the model is built from ``{**defaults, **fixed, **config}`` and its
  ``features()`` returned (real arrays whose shapes do not depend on the parameter values:
  :meth:`SweepModel.outputs` gives them by ``jax.eval_shape``).  The parts of the model that depend
  on fixed values only are built under ``jax.ensure_compile_time_eval`` (concrete, so that, e.g.,
  the multi-cell battery picks its steady-state solver in Python for a grid over temperatures).
* ``validate(params, fixed)`` checks the whole grid eagerly, before anything is compiled, with the
  model's own parameter rules (``ValueError`` naming the parameter, e.g. ``"p_c must lie in [0, 1];
  got p_c = 1.5"``).  The compiled sweep step then runs under ``qb.set_validation(False)`` and its
  program carries no host callback.

Names in ``static`` (dimensions, counts, conventions, ...) fix the compiled program's structure and
must be fixed: given as a grid axis (an array or a traced value) they raise ``ValueError``.  Unknown
names raise ``ValueError`` listing the model's parameters.  The adapters of the five models are in
:mod:`qbjax.sweep._model_adapters`.

    >>> from qbjax.sweep.models import sweep_model
    >>> m = sweep_model("multi-cell")
    >>> fn = m.function({"n_cells": 3, "lam": 0.1})            # doctest: +SKIP
    >>> with qb.set_validation(False):                         # doctest: +SKIP
    ...     out = jax.jit(jax.vmap(fn))({"T_L": TL, "T_R": TR})
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import jax
import jax.numpy as jnp
import numpy as np

from .._validate import set_validation
from . import _model_adapters as _adapters

__all__ = ["MODELS", "SweepModel", "sweep_model"]


def _is_array(x) -> bool:
    """True for a grid axis value: a JAX array or tracer, or a NumPy array (not a Python scalar)."""
    return isinstance(x, (jax.Array, np.ndarray)) and not isinstance(x, np.generic)


@dataclass(frozen=True, eq=False)
class SweepModel:
    """One built-in model as a sweep function (module docstring).

    ``parameters``: the names a grid may vary (float scalars); ``static``: the names that must be
    fixed; ``defaults``: the value of every name not given (``None`` for a parameter that defaults to
    another one, e.g. ``omega_L`` to ``omega``); ``doc``: what the outputs are.  The remaining fields
    are the adapter: ``build(values) -> model`` (scalars, tracers or whole-grid arrays),
    ``features(model, values) -> dict``, ``check_static(values)`` (the static options, eagerly),
    ``check(values)`` (the whole grid, eagerly, under validation) and ``unused(values)`` (names that
    do not apply for these static options, e.g. ``T_M`` of a two-cell battery).
    """

    name: str
    parameters: tuple
    static: tuple
    defaults: dict
    doc: str
    build: Callable = field(repr=False)
    features: Callable = field(repr=False)
    check_static: Callable = field(repr=False)
    check: Callable = field(repr=False)
    unused: Callable = field(repr=False, default=lambda values: ())

    # -- names -----------------------------------------------------------------------------------
    def _known(self) -> str:
        return (f"the parameters of {self.name!r} are {', '.join(self.parameters)}; "
                f"fixed only: {', '.join(self.static)}")

    def _check_names(self, given: Mapping, where: str, values: dict | None = None) -> None:
        """Raise for a name that is unknown, a static name given as an axis, or a name that does not
        apply for the static options in ``values``."""
        for key, value in given.items():
            if key not in self.parameters and key not in self.static:
                raise ValueError(f"unknown parameter {key!r} in {where}; {self._known()}")
            if key in self.static and _is_array(value):
                raise ValueError(f"{key} must be fixed (a static option of {self.name!r}: it sets the shapes "
                                 f"and structure of the computation); give it as a fixed value, not as a grid axis")
        if values is not None:
            bad = [k for k in given if k in self.unused(values)]
            if bad:
                raise ValueError(f"{', '.join(bad)} does not apply to {self.name!r} with "
                                 + ", ".join(f"{k} = {values[k]!r}" for k in self.static) + f"; {self._known()}")

    def _values(self, fixed: Mapping, more: Mapping, where: str) -> dict:
        self._check_names(fixed, "fixed")
        self._check_names(more, where)
        values = {**self.defaults, **fixed, **more}
        self._check_names({**fixed, **more}, where, values)
        return values

    # -- the sweep function ----------------------------------------------------------------------
    def function(self, fixed: Mapping | None = None) -> Callable[[dict], dict]:
        """``fn(config) -> dict`` of named real outputs for ONE configuration (module docstring).

        ``fixed``: values of parameters and static options (plain Python values).  Raises
        ``ValueError`` for an unknown name or an invalid static option now; ``fn`` raises for an
        unknown name in ``config`` or a static name given as an axis.  The parameter values are
        checked by :meth:`validate` (the model's traced checks apply where validation is on).
        """
        fixed = dict(fixed or {})
        base = self._values(fixed, {}, "fixed")
        self.check_static(base)
        with set_validation(False):  # the static structure only; the parameter values are validate()'s
            self.build(_scalars(base, self.parameters))

        def fn(config: Mapping) -> dict:
            values = _scalars(self._values(fixed, config, "the configuration"), self.parameters)
            with jax.ensure_compile_time_eval():  # what depends on fixed values only stays concrete
                model = self.build(values)
            out = {}
            for key, value in self.features(model, values).items():
                value = jnp.asarray(value)
                if jnp.issubdtype(value.dtype, jnp.complexfloating):
                    raise TypeError(f"{self.name}: output {key!r} is complex ({value.dtype}); outputs must be real")
                out[key] = value
            return out

        return fn

    def outputs(self, fixed: Mapping | None = None, axes=()) -> dict:
        """The outputs of ``function(fixed)`` with the parameters ``axes`` varying: name ->
        ``jax.ShapeDtypeStruct`` of one configuration (``jax.eval_shape``: nothing is computed)."""
        config = {k: jax.ShapeDtypeStruct((), jnp.result_type(float)) for k in axes}
        with set_validation(False):
            return jax.eval_shape(self.function(fixed), config)

    # -- validation ------------------------------------------------------------------------------
    def validate(self, params: Mapping, fixed: Mapping | None = None) -> None:
        """Check the whole grid before anything is compiled; ``ValueError`` naming the parameter.

        ``params``: name -> 1-D array, one entry per configuration (the grid's columns, all of one
        length); ``fixed``: the fixed values.  Applies the model's own parameter rules to every
        configuration (with validation on, whatever ``qb.set_validation`` says), and the static
        options' checks.
        """
        fixed = dict(fixed or {})
        self._check_names(params, "the grid")
        columns = {}
        for key, value in params.items():
            try:
                arr = np.asarray(value, dtype=float)
            except (TypeError, ValueError):
                raise ValueError(f"{key}: grid values must be real numbers; got {value!r}") from None
            if arr.ndim != 1 or arr.size == 0:
                raise ValueError(f"{key}: grid values must be a non-empty 1-D array; got shape {arr.shape}")
            columns[key] = arr
        sizes = {k: v.size for k, v in columns.items()}
        if len(set(sizes.values())) > 1:
            raise ValueError(f"the grid's columns must have one entry per configuration; got lengths {sizes}")
        values = self._values(fixed, columns, "the grid")
        self.check_static(values)
        with set_validation(True):
            self.check(_scalars(values, self.parameters))


def _scalars(values: dict, parameters) -> dict:
    """``values`` with the parameters' plain Python numbers as floats (ints from a TOML file, say)."""
    return {k: (float(v) if k in parameters and isinstance(v, (int, float)) and not isinstance(v, bool) else v)
            for k, v in values.items()}


MODELS: dict[str, SweepModel] = {spec["name"]: SweepModel(**spec) for spec in _adapters.SPECS}


def sweep_model(name: str) -> SweepModel:
    """The built-in model ``name`` (:data:`MODELS`); ``ValueError`` listing the known names otherwise."""
    try:
        return MODELS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown model {name!r}; the known models are {', '.join(MODELS)}") from None
