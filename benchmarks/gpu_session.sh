#!/usr/bin/env bash
# Every GPU measurement of the project in one command, in under 8 minutes on an H100/H200:
#
#     bash benchmarks/gpu_session.sh --out runs/gpu_session          # on a machine with a CUDA GPU
#     bash benchmarks/gpu_session.sh --dry-run --out /tmp/session    # the same steps on a CPU, tiny sizes
#
# Run it from anywhere in a copy of the repository. MNIST comes from $DCGAN_TUTORIAL_DATA, else
# ../shared/data beside the repository (else shared/data or data inside it); it is copied into a
# scratch folder (torchvision writes next to the files it reads). Each step below is time-boxed
# with `timeout`; a step that fails or runs out of time is recorded and the next one runs.
# Everything goes into OUT:
#
#   log.txt                          every step's output
#   summary.json                     each step: ok, "failed: ...", or "skipped: <why>"; its seconds and command
#   environment.json                 GPU, driver, torch, CUDA, cuDNN, date, the command line
#   test_cuda.xml                    tests/test_cuda.py on the GPU (JUnit XML)
#   throughput_cuda.json             benchmarks/throughput.py --measure: the tutorial-style loop against the
#                                    package's step in fp32 / channels_last / bf16 / compile / CUDA graph for
#                                    mnist28 and paper64, one real epoch, FLOPs and share of bf16 peak, and a
#                                    scaling grid (image size x batch size)
#   runs/mnist64/                    the paper64 preset trained on MNIST for a time budget (history, grids,
#                                    GIF, latest checkpoint, provenance.json; of the kept checkpoints only the
#                                    selected one stays)
#   fid_over_training_mnist64.json   FID and class coverage of its checkpoints (scripts/fid_over_training.py)
#   mnist64_generator.pt             the checkpoint with the lowest FID against training images, exported
#                                    (load it with dcgan_tutorial.pretrained.load_generator_file)
#   notebooks/                       chapters 6 and 7 executed (on a GPU they train paper64 for 5 epochs) and
#                                    the run folders they wrote (runs/chapter06: checkpoint, training.gif)
#
# --dry-run runs every step on the CPU at tiny sizes in about 2 minutes on 2 idle cores (tests/test_gpu_session.py):
# the CUDA tests skip themselves, the CUDA graph is recorded as "skipped: no CUDA", and only chapter 6 is
# executed (quick mode; --notebooks "06 07" adds chapter 7, 80 s more on 2 cores).
# Exit status: 0 when every step is ok or skipped, 1 when one failed, 2 for a bad argument or missing data.
# Environment: PYTHON (default python), GPU_SESSION_BUDGET (seconds for the whole, default 470 on a GPU).
set -euo pipefail

usage() {
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'
}

die() { echo "gpu_session.sh: error: $*" >&2; exit 2; }

ORIGINAL_ARGS=("$@")
DRY_RUN=0
OUT=""
NOTEBOOKS=""
while (($#)); do
    case "$1" in
        --dry-run) DRY_RUN=1 ;;
        --out) [[ $# -ge 2 ]] || die "--out needs a folder, e.g. --out runs/gpu_session"
               OUT=$2; shift ;;
        --out=*) OUT=${1#--out=} ;;
        --notebooks) [[ $# -ge 2 ]] || die "--notebooks needs a list, e.g. --notebooks '06 07'"
                     NOTEBOOKS=$2; shift ;;
        -h|--help) usage; exit 0 ;;
        *) die "unknown argument '$1' (known: --dry-run, --out DIR, --notebooks '06 07', --help)" ;;
    esac
    shift
done

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
PYTHON=${PYTHON:-python}
OUT=${OUT:-runs/gpu_session_$(date -u +%Y%m%d_%H%M%S)}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
LOG=$OUT/log.txt
SUMMARY=$OUT/summary.json
if ((DRY_RUN)); then
    NOTEBOOKS=${NOTEBOOKS:-06}
    BUDGET=${GPU_SESSION_BUDGET:-1500}  # seconds for the whole: only a bound on a hung step
else
    NOTEBOOKS=${NOTEBOOKS:-06 07}
    BUDGET=${GPU_SESSION_BUDGET:-470}  # 8 minutes, less the machine's own start
fi
for nb in $NOTEBOOKS; do
    [[ $nb == 06 || $nb == 07 ]] || die "--notebooks takes 06 and/or 07, not '$nb'"
done
STARTED=$SECONDS
: >"$LOG"
rm -f "$SUMMARY"

# --- data: a writable copy of MNIST (and Fashion-MNIST when there) -----------------------------
SOURCE=${DCGAN_TUTORIAL_DATA:-}
if [[ -z $SOURCE ]]; then  # beside the repository, inside it, or where the README's first command put it
    for candidate in "$REPO/../shared/data" "$REPO/shared/data" "$REPO/data"; do
        if [[ -d $candidate/MNIST/raw ]]; then SOURCE=$candidate; break; fi
    done
fi
[[ -n $SOURCE && -d $SOURCE/MNIST/raw ]] \
    || die "no MNIST files in ${SOURCE:-../shared/data}/MNIST/raw: set DCGAN_TUTORIAL_DATA to a folder with MNIST/raw"
SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/gpu_session.XXXXXX")
STEP_PID=""  # the running step's `timeout`, which leads its own process group
trap 'rm -rf "$SCRATCH"' EXIT
trap 'if [[ -n $STEP_PID ]]; then kill -TERM -- "-$STEP_PID" 2>/dev/null || true; fi; exit 130' INT TERM
DATA=$SCRATCH/data
for name in MNIST FashionMNIST; do
    if [[ -d $SOURCE/$name/raw ]]; then
        mkdir -p "$DATA/$name"
        cp -r "$SOURCE/$name/raw" "$DATA/$name/"
    fi
done
chmod -R u+w "$DATA"
export DCGAN_TUTORIAL_DATA=$DATA MPLBACKEND=Agg PYTHONUNBUFFERED=1
export REPO OUT DATA PYTHON DRY_RUN SCRATCH

say() { echo "[gpu_session $(date -u +%H:%M:%S)] $*" | tee -a "$LOG"; }

# record NAME STATUS SECONDS CAP COMMAND: one step's line in summary.json
record() {
    "$PYTHON" - "$SUMMARY" "$@" <<'EOF'
import json, sys
from pathlib import Path
path, name, status, seconds, cap, command = sys.argv[1:7]
summary = json.loads(Path(path).read_text()) if Path(path).is_file() else {"steps": {}}
summary["steps"][name] = {"status": status, "seconds": round(float(seconds), 1), "limit_s": int(cap),
                          "command": command}
Path(path).write_text(json.dumps(summary, indent=1))
EOF
}

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# run_step NAME CAP FUNCTION [DESCRIPTION]: FUNCTION in a subshell under `timeout`, output to the log
run_step() {
    local name=$1 cap=$2 fn=$3 description=${4:-$3}
    local left=$((BUDGET - (SECONDS - STARTED)))
    ((cap <= left)) || cap=$left
    if ((cap < 5)); then
        say "$name: not started, the session's $BUDGET s are spent"
        record "$name" "failed: not started, the session's $BUDGET s were spent" 0 0 "$description"
        return 0
    fi
    say "$name: start (at most $cap s)"
    local t0 rc=0 status
    t0=$(now)
    timeout --kill-after=10 "$cap" bash -c "set -euo pipefail; $(declare -f "$fn"); $fn" >>"$LOG" 2>&1 &
    STEP_PID=$!
    wait "$STEP_PID" || rc=$?
    STEP_PID=""
    if ((rc == 0)); then
        status=${STEP_OK_STATUS:-ok}
    elif ((rc == 124 || rc == 137)); then
        status="failed: timed out after $cap s"
    else
        status="failed: exit status $rc"
    fi
    record "$name" "$status" "$(elapsed "$t0")" "$cap" "$description"
    say "$name: $status ($(elapsed "$t0") s)"
}

# --- (a) install --------------------------------------------------------------------------------
install_package() {
    # what the session imports: the package's dependencies, pytest with nbval (pyproject's addopts
    # name it), and what executes a chapter; "module=pip name" where the two differ
    local needed="torch torchvision numpy matplotlib PIL=pillow tqdm torchmetrics torch_fidelity=torch-fidelity
                  pytest nbval ipykernel ipywidgets nbconvert nbformat"
    local state
    state=$("$PYTHON" - "$REPO" $needed <<'EOF'
import importlib.util, sys
from pathlib import Path
spec = importlib.util.find_spec("dcgan_tutorial")
here = spec is not None and Path(spec.origin).resolve().parent == (Path(sys.argv[1]) / "dcgan_tutorial").resolve()
missing = [item.partition("=")[2] or item for item in sys.argv[2:]
           if importlib.util.find_spec(item.partition("=")[0]) is None]
print("here" if here else "elsewhere", *missing)
EOF
)
    echo "dcgan_tutorial importable from this tree / missing packages: $state"
    read -r where missing <<<"$state"
    if [[ $where == here && -z ${missing:-} ]]; then
        echo "dcgan_tutorial is installed from $REPO and every dependency imports: nothing to install"
        return 0
    fi
    if [[ -z ${missing:-} ]]; then  # only the package itself: no download needed
        "$PYTHON" -m pip install --no-deps --no-build-isolation -e . || "$PYTHON" -m pip install --no-deps -e .
        return
    fi
    local pins=()
    if "$PYTHON" -c "import torch" 2>/dev/null; then  # keep the machine's torch (and its CUDA build)
        "$PYTHON" -c "import torch; print(f'torch=={torch.__version__}')" >"$SCRATCH/constraints.txt"
        echo "keeping $(cat "$SCRATCH/constraints.txt")"
        pins=(-c "$SCRATCH/constraints.txt")
    fi
    # shellcheck disable=SC2086  # $missing: one word per package
    "$PYTHON" -m pip install --no-build-isolation "${pins[@]}" -e . $missing \
        || "$PYTHON" -m pip install "${pins[@]}" -e . $missing
}

# --- (b) environment ----------------------------------------------------------------------------
write_environment() {
    "$PYTHON" - "$OUT/environment.json" "$REPO" "$GPU_SESSION_COMMAND" <<'EOF'
import datetime, json, os, platform, subprocess, sys
from pathlib import Path
import torch
out, repo, command = sys.argv[1:4]
def run(*args):
    try:
        return subprocess.run(args, capture_output=True, text=True, timeout=20, cwd=repo).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None
cuda = torch.cuda.is_available()
env = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
       "command": command, "dry_run": os.environ.get("DRY_RUN") == "1",
       "python": platform.python_version(), "torch": torch.__version__, "cuda_build": torch.version.cuda,
       "cudnn": torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None,
       "cuda_available": cuda, "gpus": [],
       "nvidia_smi": run("nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"),
       "cpu": None, "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
       "git_commit": run("git", "rev-parse", "HEAD"), "git_dirty": bool(run("git", "status", "--porcelain"))}
for i in range(torch.cuda.device_count() if cuda else 0):
    p = torch.cuda.get_device_properties(i)
    env["gpus"].append({"name": p.name, "capability": f"{p.major}.{p.minor}",
                        "memory_gib": round(p.total_memory / 2**30, 1), "multiprocessors": p.multi_processor_count,
                        "bf16": torch.cuda.is_bf16_supported()})
cpuinfo = Path("/proc/cpuinfo")
if cpuinfo.is_file():
    names = [l.split(":", 1)[1].strip() for l in cpuinfo.read_text().splitlines() if l.startswith("model name")]
    env["cpu"] = names[0] if names else None
for module in ("dcgan_tutorial", "torchvision", "torchmetrics", "nbconvert"):
    try:
        env[module] = getattr(__import__(module), "__version__", None)
    except ImportError:
        env[module] = None
Path(out).write_text(json.dumps(env, indent=1))
print(json.dumps(env, indent=1))
EOF
}

# --- (c) the CUDA tests -------------------------------------------------------------------------
cuda_tests() {
    "$PYTHON" -m pytest tests/test_cuda.py -v -rs -p no:cacheprovider --junitxml "$OUT/test_cuda.xml"
}

# --- (d) throughput -----------------------------------------------------------------------------
throughput() {
    local common=(--data-root "$DATA" --epoch --flops --out "$OUT/throughput_cuda.json"
                  --measure mnist28:fp32,channels_last,bf16,compile,cuda_graph
                  --measure paper64:fp32,channels_last,bf16,compile)
    if ((DRY_RUN)); then
        "$PYTHON" benchmarks/throughput.py --device cpu --dry-run "${common[@]}" --grid-sizes 28,64 --grid-batches 8,16
    else
        "$PYTHON" benchmarks/throughput.py --device cuda "${common[@]}" --warmup 10 --steps 80 --repeats 3 \
            --min-seconds 0.5 --grid-sizes 28,64,128 --grid-batches 64,256,1024
    fi
}

# --- (e) the mnist64 generator: train for a time budget, then FID over its checkpoints ---------
train_mnist64() {
    local run=$OUT/runs/mnist64 args
    if ((DRY_RUN)); then
        args=(--device cpu --steps 12 --batch-size 16 --limit 512 --ngf 8 --ndf 8 --checkpoint-every 4
              --sample-every 4 --time-budget 60)
    else
        args=(--device cuda --epochs 1000 --time-budget "$TRAIN_BUDGET_S" --checkpoint-every 1000
              --sample-every 1000)
    fi
    args=(--preset paper64 --dataset mnist --overwrite --no-progress --seed 0 --keep 100 "${args[@]}")
    local t0=$SECONDS
    "$PYTHON" -m dcgan_tutorial train --data-root "$DATA" --out "$run" "${args[@]}"
    # what export_generator stores as the generator's provenance
    local shown="python -m dcgan_tutorial train --data-root DIR --out OUT/runs/mnist64 ${args[*]}"
    "$PYTHON" - "$run/provenance.json" "$((SECONDS - t0))" "$shown" <<'EOF'
import datetime, json, sys
from pathlib import Path
import torch
out, seconds, command = sys.argv[1:4]
if torch.cuda.is_available():
    hardware = torch.cuda.get_device_name(0)
else:
    cpuinfo = Path("/proc/cpuinfo")
    names = [l.split(":", 1)[1].strip() for l in cpuinfo.read_text().splitlines()
             if l.startswith("model name")] if cpuinfo.is_file() else []
    hardware = f"{names[0] if names else 'CPU'}, {torch.get_num_threads()} threads"
Path(out).write_text(json.dumps({"command": command, "hardware": hardware, "seconds": float(seconds),
                                 "torch": torch.__version__, "cuda": torch.version.cuda,
                                 "date": datetime.date.today().isoformat()}, indent=1))
EOF
}

fid_mnist64() {
    local run=$OUT/runs/mnist64 args
    if ((DRY_RUN)); then
        args=(--device cpu --n 500 --n-real 1000 --max-checkpoints 2)
    else
        args=(--device cuda --max-checkpoints 8)
    fi
    "$PYTHON" scripts/fid_over_training.py --run-dir "$run" --data-root "$DATA" "${args[@]}" \
        --out "$OUT/fid_over_training_mnist64.json" --export-best --export-to "$OUT/mnist64_generator.pt" \
        --provenance "$run/provenance.json"
    # keep the selected checkpoint, drop the other kept ones (a paper64 checkpoint is about 76 MB)
    "$PYTHON" - "$OUT/fid_over_training_mnist64.json" "$run/checkpoints" <<'EOF'
import json, sys
from pathlib import Path
best = json.loads(Path(sys.argv[1]).read_text())["best"]["checkpoint"]
for path in sorted(Path(sys.argv[2]).glob("step_*.pt")):
    if path.name != best:
        path.unlink()
print("kept", best)
EOF
}

# --- (f) chapters 6 and 7 -----------------------------------------------------------------------
# They run in a scratch copy of book/ whose ../benchmarks is the repository's (chapter 7 reads
# benchmarks/results/), so their runs/ folders land beside them, not in the repository's book/.
prepare_notebooks() {
    mkdir -p "$SCRATCH/nb/book" "$OUT/notebooks"
    ln -sfn "$REPO/benchmarks" "$SCRATCH/nb/benchmarks"
}

execute_notebook() {
    local nb
    nb=$(cd "$REPO/book" && ls "${NOTEBOOK}"_*.ipynb)
    cp "$REPO/book/$nb" "$SCRATCH/nb/book/$nb"
    if ((DRY_RUN)); then export DCGAN_TUTORIAL_QUICK=1; else unset DCGAN_TUTORIAL_QUICK; fi
    "$PYTHON" -m nbconvert --to notebook --execute --ExecutePreprocessor.timeout=-1 \
        --output-dir "$OUT/notebooks" "$SCRATCH/nb/book/$nb"
    mkdir -p "$OUT/notebooks/runs"
    cp -r "$SCRATCH/nb/book/runs/." "$OUT/notebooks/runs/"
}

# --- the session --------------------------------------------------------------------------------
GPU_SESSION_COMMAND="bash benchmarks/gpu_session.sh${ORIGINAL_ARGS[*]:+ ${ORIGINAL_ARGS[*]}}"
export GPU_SESSION_COMMAND
if ((DRY_RUN)); then
    # generous: about 2 minutes in all on 2 idle cores, but a busy machine can be several times slower
    CAP=(install 120 environment 120 cuda_tests 180 throughput 360 train 240 fid 240 notebook 480)
else  # 470 s in all on an H100/H200; the chapters share what is left (at least about 90 s)
    CAP=(install 35 environment 15 cuda_tests 60 throughput 170 train 60 fid 35 notebook 0)
fi
declare -A LIMIT
for ((i = 0; i < ${#CAP[@]}; i += 2)); do LIMIT[${CAP[i]}]=${CAP[i + 1]}; done
export TRAIN_BUDGET_S=$((LIMIT[train] - 20))  # the rest: start-up, last checkpoint, GIF

say "session: $GPU_SESSION_COMMAND; output in $OUT; data copied to $DATA; at most $BUDGET s"
"$PYTHON" - "$SUMMARY" "$GPU_SESSION_COMMAND" "$DRY_RUN" "$OUT" <<'EOF'
import datetime, json, sys
from pathlib import Path
path, command, dry_run, out = sys.argv[1:5]
Path(path).write_text(json.dumps({"command": command, "dry_run": dry_run == "1", "out": out,
                                  "started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                                  "steps": {}}, indent=1))
EOF

run_step install "${LIMIT[install]}" install_package \
    "pip install -e . and what is missing (keeping the installed torch)"
if ! "$PYTHON" - "$REPO" <<'EOF' 2>/dev/null
import sys
from pathlib import Path
import dcgan_tutorial
sys.exit(Path(dcgan_tutorial.__file__).resolve().parent != (Path(sys.argv[1]) / "dcgan_tutorial").resolve())
EOF
then
    export PYTHONPATH=$REPO${PYTHONPATH:+:$PYTHONPATH}
    say "dcgan_tutorial is not importable from $REPO after the install step: PYTHONPATH=$PYTHONPATH for what follows"
fi

run_step environment "${LIMIT[environment]}" write_environment "write environment.json"
CUDA=$("$PYTHON" -c "import torch; print(int(torch.cuda.is_available()))" 2>/dev/null || echo 0)
if ((!DRY_RUN && !CUDA)); then
    say "error: no CUDA GPU is visible (torch.cuda.is_available() is False): run with --dry-run on a CPU"
    for name in cuda_tests throughput train_mnist64 fid_mnist64 chapter06 chapter07; do
        record "$name" "failed: not started, no CUDA GPU visible (use --dry-run on a CPU)" 0 0 "-"
    done
    exit 1
fi

TESTS_STATUS="skipped: no CUDA (pytest ran tests/test_cuda.py; each test skipped itself)"
((!CUDA)) || TESTS_STATUS=ok
STEP_OK_STATUS=$TESTS_STATUS run_step cuda_tests "${LIMIT[cuda_tests]}" cuda_tests \
    "python -m pytest tests/test_cuda.py"
run_step throughput "${LIMIT[throughput]}" throughput \
    "python benchmarks/throughput.py --measure ... (the full command is in throughput_cuda.json)"
run_step train_mnist64 "${LIMIT[train]}" train_mnist64 \
    "python -m dcgan_tutorial train --preset paper64 ... (the full command is in runs/mnist64/provenance.json)"
run_step fid_mnist64 "${LIMIT[fid]}" fid_mnist64 \
    "python scripts/fid_over_training.py ... --export-best --export-to OUT/mnist64_generator.pt"
prepare_notebooks
for nb in 06 07; do
    name=chapter$nb
    if [[ " $NOTEBOOKS " != *" $nb "* ]]; then
        record "$name" "skipped: dry run executes chapter 6 only (--notebooks '06 07' executes chapter 7 too)" 0 0 "-"
        continue
    fi
    left=$((BUDGET - (SECONDS - STARTED)))
    cap=$left
    [[ $nb == 07 || " $NOTEBOOKS " != *" 07 "* ]] || cap=$((left * 2 / 5))  # chapter 6: 2/5 of what is left
    ((LIMIT[notebook] == 0 || cap <= LIMIT[notebook])) || cap=${LIMIT[notebook]}
    export NOTEBOOK=$nb
    run_step "$name" "$cap" execute_notebook "jupyter nbconvert --to notebook --execute book/${nb}_*.ipynb"
done

FAILED=0
"$PYTHON" - "$SUMMARY" "$OUT/throughput_cuda.json" "$((SECONDS - STARTED))" <<'EOF' || FAILED=1
import datetime, json, sys
from pathlib import Path
path, throughput, wall = sys.argv[1:4]
summary = json.loads(Path(path).read_text())
skipped, failed = {}, {}
if Path(throughput).is_file():  # what the throughput step could not run here, or ran into an error
    record = json.loads(Path(throughput).read_text())
    for preset, entry in record.get("presets", {}).items():
        for variant, result in entry["variants"].items():
            if "skipped" in result:
                skipped[f"throughput {preset} {variant}"] = "skipped: " + result["skipped"]
            if "failed" in result:
                failed[f"throughput {preset} {variant}"] = "failed: " + result["failed"]
    for row in record.get("grid", []):
        if "failed" in row:
            failed[f"throughput grid {row['image_size']}x{row['image_size']} batch {row['batch_size']}"] = \
                "failed: " + row["failed"]
summary.update(skipped_parts=skipped, failed_parts=failed, wall_s=int(wall),
               finished=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
               failed=[name for name, step in summary["steps"].items() if step["status"].startswith("failed")]
               + list(failed))
Path(path).write_text(json.dumps(summary, indent=1))
print(json.dumps({k: v["status"] for k, v in summary["steps"].items()}, indent=1))
sys.exit(1 if summary["failed"] else 0)
EOF
if ((FAILED)); then
    say "done in $((SECONDS - STARTED)) s, some steps failed (summary.json, log.txt): $OUT"
else
    say "done in $((SECONDS - STARTED)) s: $OUT"
fi
exit "$FAILED"
