"""Test-session setup shared by every test module.

The tests never read or write the user's persistent JAX compilation cache: the command-line entry
point turns that cache on (``qbjax._cache``), and the in-process CLI tests and the subprocesses the
tests start would otherwise share one cache directory across processes with different device
counts and runtimes.  ``QBJAX_CACHE=0`` is set before anything is imported, so subprocesses inherit
it; the test of the cache itself gives its own directory explicitly.
"""

import os

os.environ["QBJAX_CACHE"] = "0"
