"""JAX's persistent compilation cache for the command line: compile once per machine, not per process.

``qbjax`` commands that compute turn it on before anything is compiled, in a per-user directory:
``$QBJAX_CACHE_DIR`` if set, else ``$XDG_CACHE_HOME/qbjax/jax`` (default ``~/.cache/qbjax/jax``).
``QBJAX_CACHE=0`` switches it off.  A program is stored when its compilation took at least
``MIN_COMPILE_S`` seconds; programs with host callbacks (``eqx.error_if`` on traced values,
``jax.debug.callback``) cannot be stored by JAX, which is why the hot programs (the sweep step, the
batched features) validate their inputs before they are compiled.  Library users enable the same
cache with :func:`enable_compilation_cache` or JAX's own ``jax_compilation_cache_dir`` option.
"""

from __future__ import annotations

import os
from pathlib import Path

MIN_COMPILE_S = 0.2
_OFF = ("0", "off", "false", "no")


def cache_dir() -> Path | None:
    """The cache directory in force, or None when ``QBJAX_CACHE`` switches the cache off."""
    if os.environ.get("QBJAX_CACHE", "1").strip().lower() in _OFF:
        return None
    if os.environ.get("QBJAX_CACHE_DIR"):
        return Path(os.environ["QBJAX_CACHE_DIR"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "qbjax" / "jax"


def enable_compilation_cache(path=None) -> Path | None:
    """Point JAX's persistent compilation cache at ``path`` (default :func:`cache_dir`); returns it.

    Returns None (and changes nothing) when the cache is switched off or the directory cannot be
    created (a read-only home, for instance): compiling again is slower, never wrong.
    """
    path = Path(path) if path is not None else cache_dir()
    if path is None:
        return None
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    import jax

    jax.config.update("jax_compilation_cache_dir", str(path))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", MIN_COMPILE_S)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    return path
