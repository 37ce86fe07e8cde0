#!/usr/bin/env bash
# GPU benchmarks of qbjax: the 8^7 four-level sweep, the Tavis-Cummings survival map and the
# micromaser value+grad, on whatever GPU JAX finds.  One prepared run of a few minutes:
#
#     bash benchmarks/gpu.sh [OUT_DIR]
#
# Installs qbjax (no dependencies re-resolved) and the CUDA build of jax matching the installed
# jax, from the package index or, on a machine without network, from wheels in ./.whl
# (pip download ... -d .whl beforehand).  Prints the device name and each benchmark's lines; the
# logs go to OUT_DIR (default: runs/gpu-<date>), to be copied into benchmarks/RESULTS.md with the
# device named.  CI never runs this (it has no GPU), and nothing else needs it.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-runs/gpu-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1

JAX_VERSION=$(python3 -c "import importlib.metadata as m; print(m.version('jax'))" 2>/dev/null || echo "")
if [ -d .whl ]; then
    python3 -m pip install -q --no-index --find-links .whl "jax[cuda12]${JAX_VERSION:+==$JAX_VERSION}" \
        || python3 -m pip install -q --no-index --no-deps .whl/*.whl
else
    python3 -m pip install -q "jax[cuda12]${JAX_VERSION:+==$JAX_VERSION}"
fi
python3 -m pip install -q --no-deps -e .

python3 - <<'EOF' | tee "$OUT/device.txt"
import jax
devices = jax.devices()
print("backend:", jax.default_backend())
print("devices:", ", ".join(f"{d.platform}:{d.id} {getattr(d, 'device_kind', '')}" for d in devices))
if jax.default_backend() != "gpu":
    raise SystemExit("no GPU visible to JAX: stopping (these benchmarks are for a GPU)")
EOF

run() {  # name, command...: run one benchmark with a time limit, keep its log
    local name=$1; shift
    echo "== $name: $*"
    timeout 900 "$@" 2>&1 | tee "$OUT/$name.log" || echo "== $name failed or timed out (status $?)"
}
run sweep python3 benchmarks/sweep.py --points 8 --conventions physical published --chunk 2097152 --sample 100
run tavis_cummings python3 benchmarks/tavis_cummings.py --n 15 --no-dynamiqs
run micromaser python3 benchmarks/micromaser.py
echo "logs in $OUT"
