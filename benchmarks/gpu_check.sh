#!/usr/bin/env bash
# GPU check (testing tier 3): one script for a lent GPU machine, under 5 minutes in all.
#
#   bash benchmarks/gpu_check.sh            # from anywhere; it runs from the repository root
#   OUT=/some/dir bash benchmarks/gpu_check.sh   # also: $OUT/gpu_check.log, gpu_bench.json
#
# Installs nothing (the machine has Python, CuPy, NumPy, Numba, JAX, PyTorch and pytest, and no
# network): the checkout runs from PYTHONPATH. Sections, each with its elapsed seconds:
#   1. environment: nvidia-smi one-liner, Python / CuPy / JAX / ... versions
#   2. the GPU test tier: pytest -m gpu with TRACEFUSE_TEST_BACKENDS=gpu (timeout <= 120 s)
#   3. benchmarks/gpu_bench.py --sizes full (timeout <= 200 s; its soft budget ends earlier)
#   4. compute-sanitizer memcheck on a small tracefuse-only run, if the tool exists and time
#      remains (timeout 30 s)
# A failing section never stops the script: its exit status is recorded and a summary is
# printed at the end, followed by the benchmark table (the last thing printed).
# Environment: PYTHON (default python), GPU_CHECK_TOTAL_S (default 285: the whole budget),
# OUT (a folder for the log, the JSON and the table; default /tmp for the JSON and table),
# GPU_BENCH_ARGS (extra options for gpu_bench.py, e.g. "--only gelu --repeats 5").
set -u

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 2
ROOT=$PWD
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
export TRACEFUSE_TEST_BACKENDS=gpu
export XLA_PYTHON_CLIENT_PREALLOCATE=false   # JAX must leave GPU memory to CuPy
export PYTHONUNBUFFERED=1                    # keep the log in order
PY=${PYTHON:-python}
command -v "$PY" >/dev/null 2>&1 || PY=python3
TOTAL_S=${GPU_CHECK_TOTAL_S:-285}
RESULTS=${OUT:-/tmp}
mkdir -p "$RESULTS" 2>/dev/null || RESULTS=/tmp
TABLE="$RESULTS/gpu_bench_table.txt"
START=$SECONDS
SUMMARY=()
FAILED=0

elapsed() { echo $(( SECONDS - START )); }
remaining() { echo $(( TOTAL_S - (SECONDS - START) )); }
section() { echo; echo "=== [$(elapsed)s] $* ==="; }
record() {  # record NAME RC [NOTE]
  local name=$1 rc=$2 note=${3:-}
  local text
  text="$name: exit $rc${note:+ ($note)} at $(elapsed)s"
  echo "--- $text"
  SUMMARY+=("$text")
  if [ "$rc" -ne 0 ]; then FAILED=1; fi
}

main() {
  echo "gpu_check: $(date -u '+%Y-%m-%d %H:%M:%S UTC') in $ROOT, budget ${TOTAL_S}s"
  echo "commit: $(git -C "$ROOT" log -1 --format='%h %s' 2>/dev/null | cut -c1-100)"

  # --- 1. environment -----------------------------------------------------------------------
  section "environment"
  if command -v nvidia-smi >/dev/null 2>&1; then
    timeout 15 nvidia-smi --query-gpu=name,driver_version,memory.total,memory.used,temperature.gpu,clocks.sm,clocks.max.sm,power.draw,power.limit --format=csv,noheader
  else
    echo "nvidia-smi: not found"
  fi
  timeout 60 "$PY" - <<'EOF'
import importlib.metadata as md
import platform
import sys

print("python", platform.python_version(), sys.executable)
found = []
for name in ("numpy", "numba", "cupy-cuda13x", "cupy-cuda12x", "cupy", "cuda-python",
             "cuda-bindings", "jax", "jaxlib", "jax-cuda13-plugin", "jax-cuda12-plugin",
             "torch", "pytest"):
    try:
        found.append(f"{name} {md.version(name)}")
    except md.PackageNotFoundError:
        pass
print("packages:", ", ".join(found))
try:
    import cupy

    rt = cupy.cuda.runtime
    dev = cupy.cuda.Device()
    props = rt.getDeviceProperties(dev.id)
    print(f"cupy {cupy.__version__}: CUDA runtime {rt.runtimeGetVersion()}, driver "
          f"{rt.driverGetVersion()}, device {dev.id} {props['name'].decode()} "
          f"sm_{props['major']}{props['minor']}, {props['multiProcessorCount']} SMs, "
          f"{props['totalGlobalMem'] / 2**30:.1f} GiB")
except Exception as e:  # noqa: BLE001 - report and go on
    print(f"cupy: not usable: {type(e).__name__}: {e}")
EOF
  record "environment" $?

  # --- 2. the GPU test tier ------------------------------------------------------------------
  local t_tests=$(( $(remaining) - 170 ))
  if [ "$t_tests" -gt 120 ]; then t_tests=120; fi
  if [ "$t_tests" -lt 30 ]; then t_tests=30; fi
  section "GPU test tier: pytest -m gpu (TRACEFUSE_TEST_BACKENDS=gpu, timeout ${t_tests}s)"
  timeout -k 5 "$t_tests" "$PY" -m pytest -q -m gpu tests/ -x -rs -p no:cacheprovider
  local rc=$?
  case $rc in
    0) record "pytest -m gpu" 0 ;;
    5) record "pytest -m gpu" 0 "pytest exit 5: no test is marked gpu" ;;
    124|137) record "pytest -m gpu" "$rc" "timed out after ${t_tests}s" ;;
    *) record "pytest -m gpu" "$rc" ;;
  esac

  # --- 3. the benchmarks ----------------------------------------------------------------------
  local t_bench=$(( $(remaining) - 10 ))
  if [ "$t_bench" -gt 200 ]; then t_bench=200; fi
  if [ "$t_bench" -lt 60 ]; then t_bench=60; fi
  local budget=$(( t_bench - 45 ))
  section "benchmarks: gpu_bench.py --sizes full (timeout ${t_bench}s, soft budget ${budget}s)"
  rm -f "$TABLE"
  # shellcheck disable=SC2086  # GPU_BENCH_ARGS is split into words on purpose
  timeout -k 10 "$t_bench" "$PY" benchmarks/gpu_bench.py --sizes full --budget-s "$budget" \
    --json "$RESULTS/gpu_bench.json" --table-out "$TABLE" ${GPU_BENCH_ARGS:-}
  rc=$?
  case $rc in
    0) record "gpu_bench" 0 "json: $RESULTS/gpu_bench.json" ;;
    1) record "gpu_bench" 1 "a tracefuse result was wrong or raised: see the table" ;;
    3) record "gpu_bench" 3 "stopped by a signal: partial table" ;;
    124|137) record "gpu_bench" "$rc" "timed out after ${t_bench}s" ;;
    *) record "gpu_bench" "$rc" ;;
  esac

  # --- 4. compute-sanitizer (optional) ---------------------------------------------------------
  local cs
  cs=$(command -v compute-sanitizer 2>/dev/null || true)
  if [ -z "$cs" ]; then
    for c in /usr/local/cuda/bin/compute-sanitizer /usr/local/cuda-*/bin/compute-sanitizer \
             /opt/nvidia/*/compute-sanitizer; do
      if [ -x "$c" ]; then cs=$c; break; fi
    done
  fi
  if [ -z "$cs" ]; then
    section "compute-sanitizer: not found, skipped"
    SUMMARY+=("compute-sanitizer: skipped (not found)")
  elif [ "$(remaining)" -lt 40 ]; then
    section "compute-sanitizer: skipped ($(remaining)s left)"
    SUMMARY+=("compute-sanitizer: skipped (time)")
  else
    section "compute-sanitizer memcheck: small tracefuse-only run (timeout 30s)"
    timeout -k 5 30 "$cs" --tool memcheck --error-exitcode 99 --print-limit 20 \
      "$PY" benchmarks/gpu_bench.py --sizes small --only gelu --only softmax \
      --only layernorm --only sumsq_f32 --peers none --no-bw --no-overhead --no-pool \
      --repeats 1 --budget-s 20
    rc=$?
    case $rc in
      99) record "compute-sanitizer" 99 "memcheck found errors" ;;
      124|137) record "compute-sanitizer" "$rc" "timed out (not an error in itself)" ;;
      *) record "compute-sanitizer" "$rc" ;;
    esac
  fi

  # --- summary, then the table last -------------------------------------------------------------
  section "summary (total $(elapsed)s of ${TOTAL_S}s)"
  local line
  for line in "${SUMMARY[@]}"; do echo "  $line"; done
  if [ "$FAILED" -eq 0 ]; then echo "  all sections exited 0"; else echo "  SOME SECTIONS FAILED"; fi
  echo
  if [ -s "$TABLE" ]; then
    cat "$TABLE"
  else
    echo "(no benchmark table: gpu_bench.py did not finish; see its output above)"
  fi
  return "$FAILED"
}

if [ -n "${OUT:-}" ]; then
  main 2>&1 | tee "$OUT/gpu_check.log"
  exit "${PIPESTATUS[0]}"
else
  main 2>&1
  exit $?
fi
