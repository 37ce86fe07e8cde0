"""Subprocess entry point for the sweep tests (not a test module).

    python sweep_worker.py OUT POINTS CHUNK [PROCESS_ID NUM_PROCESSES PORT]

With the last three arguments the process first joins a ``jax.distributed`` job on localhost.
``SWEEP_WORKER_TARGET=user`` sweeps the battery of ``user_battery.py`` over its grid with
``qbjax.sweep`` (POINTS is then ignored) instead of the Table-I grid.
"""

import sys

if __name__ == "__main__":
    out, points, chunk = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    if len(sys.argv) > 4:
        import jax

        pid, nproc, port = int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
        jax.distributed.initialize(f"localhost:{port}", num_processes=nproc, process_id=pid,
                                   initialization_timeout=120)
    import os

    import jax

    from qbjax.sweep import run_sweep

    # SWEEP_WORKER_ALL_DEVICES=1: shard over every (forced host) CPU device, not the CPU default of one
    devices = jax.local_devices() if os.environ.get("SWEEP_WORKER_ALL_DEVICES") == "1" else None
    try:
        if os.environ.get("SWEEP_WORKER_TARGET") == "user":
            import user_battery

            from qbjax.sweep import sweep

            sweep(user_battery.features, user_battery.grid(), out, chunk=chunk, progress=False, devices=devices)
        else:
            run_sweep(out, points=points, seed=0, chunk=chunk, progress=False, devices=devices)
    except (ValueError, OSError) as err:
        print(f"WORKER-ERROR: {err}", flush=True)
        sys.exit(3)
    print("WORKER-DONE", flush=True)
