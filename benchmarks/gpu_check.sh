#!/usr/bin/env bash
# The GPU check: on a machine with an NVIDIA GPU, in under 10 minutes, everything segviewer must do
# there, measured into one JSON file:
#   1. the CUDA tests (tests/core/training/test_cuda.py: mixed precision, channels_last, 2-GPU NCCL);
#   2. training throughput of U-Lite and SegNet at 360x640 with channels_last and bf16 autocast, and
#      the model FLOP utilisation against this GPU's measured bf16 matmul rate;
#   3. a full default training on the demo set (segviewer demo-data; segviewer train --device cuda);
#   4. a 2-GPU torchrun smoke run, when there are 2 GPUs;
#   5. the GUI's event-loop lag while it trains on CUDA (benchmarks/ui_latency.py).
#
#   bash benchmarks/gpu_check.sh [OUT.json]              # default OUT: gpu_check.json
#   bash benchmarks/gpu_check.sh --cpu-smoke [OUT.json]  # every step, tiny, on the CPU: checks the script
#
# Without a GPU (and without --cpu-smoke) the CUDA steps are skipped, each with a line saying so.
# Python: $PYTHON, else .venv/bin/python, else python3 (it needs torch with CUDA, PySide6 for step 5).
set -u
cd "$(dirname "$0")/.."

SMOKE=0
if [ "${1:-}" = "--cpu-smoke" ]; then SMOKE=1; shift; fi
OUT=${1:-gpu_check.json}
PY=${PYTHON:-}
if [ -z "$PY" ]; then
    if [ -x .venv/bin/python ]; then PY=.venv/bin/python; else PY=python3; fi
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/segviewer-gpu-check.XXXXXX")
PARTS="$WORK/parts"
mkdir -p "$PARTS"
export SEGVIEWER_CACHE_DIR="$WORK/cache" SEGVIEWER_DATA_HOME="$WORK/home" SEGVIEWER_SETTINGS_DIR="$WORK/settings"
export NO_ALBUMENTATIONS_UPDATE=1
DEADLINE=$(($(date +%s) + ${GPU_CHECK_SECONDS:-570}))

say() { echo "gpu_check: $*" >&2; }

skip() { # NAME REASON
    say "SKIP $1: $2"
    "$PY" -c 'import json, sys; json.dump({"skipped": sys.argv[2]}, open(sys.argv[1], "w"))' "$PARTS/$1.json" "$2"
}

step() { # NAME SECONDS COMMAND...: run it, keep its output, record exit code, time and last JSON line
    local name=$1 limit=$2 left
    shift 2
    left=$((DEADLINE - $(date +%s)))
    if [ "$left" -lt 20 ]; then skip "$name" "out of time (the whole check is bounded to stay under 10 minutes)"; return; fi
    if [ "$limit" -gt "$left" ]; then limit=$left; fi
    say "RUN  $name (at most ${limit}s): $*"
    local t0 rc
    t0=$(date +%s.%N)
    timeout --signal=INT --kill-after=20 "$limit" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" </dev/null
    rc=$?
    "$PY" - "$PARTS/$name.json" "$rc" "$t0" "$WORK/$name.out" "$WORK/$name.err" "$*" <<'PYEOF'
import json, sys, time
part, rc, t0, out, err, command = sys.argv[1:]
record = {"command": command, "exit_code": int(rc), "seconds": round(time.time() - float(t0), 1)}
if int(rc) == 124:
    record["timed_out"] = True
lines = open(out, errors="replace").read().splitlines()
for line in reversed(lines):  # the last JSON object a benchmark printed
    if line.startswith("{"):
        try:
            record["result"] = json.loads(line)
            break
        except ValueError:
            pass
if int(rc) != 0:
    record["stderr_tail"] = open(err, errors="replace").read()[-2000:]
json.dump(record, open(part, "w"))
PYEOF
    if [ "$rc" -ne 0 ]; then say "FAIL $name (exit $rc; see $WORK/$name.err)"; fi
}

GPUS=$("$PY" -c 'import torch; print(torch.cuda.device_count() if torch.cuda.is_available() else 0)' 2>/dev/null || echo 0)
DEVICE=cuda
if [ "$GPUS" -eq 0 ]; then
    if [ "$SMOKE" -eq 1 ]; then DEVICE=cpu; else DEVICE=; fi
fi
say "python $PY, $GPUS CUDA GPU(s), work folder $WORK"
[ "$SMOKE" -eq 1 ] && say "--cpu-smoke: every step runs tiny on the $DEVICE; its figures mean nothing"

# 0. what this machine is
"$PY" - "$PARTS/environment.json" "$GPUS" "$SMOKE" <<'PYEOF'
import json, os, platform, subprocess, sys
import torch
part, gpus, smoke = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
env = {"python": platform.python_version(), "torch": torch.__version__, "cuda": torch.version.cuda,
       "gpus": [torch.cuda.get_device_name(i) for i in range(gpus)], "cpu_cores": len(os.sched_getaffinity(0)),
       "smoke": smoke}
try:
    env["nvidia_smi"] = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total",
                                        "--format=csv,noheader"], capture_output=True, text=True,
                                       timeout=30).stdout.strip().splitlines()
except (OSError, subprocess.SubprocessError):
    env["nvidia_smi"] = None
json.dump(env, open(part, "w"))
PYEOF

# 1. the CUDA tests (they skip, saying why, without a GPU)
step cuda_tests 240 "$PY" -m pytest -q -rs -p no:cacheprovider tests/core/training/test_cuda.py
"$PY" - "$PARTS/cuda_tests.json" "$WORK/cuda_tests.out" <<'PYEOF'
import json, re, sys
part, out = sys.argv[1:]
record = json.load(open(part))
text = open(out, errors="replace").read()
last = text.splitlines()[-1] if text else ""
counts = {f"tests_{k}": int(v) for v, k in re.findall(r"(\d+) (passed|failed|skipped|error)", last)}
record.update(counts, skip_reasons=re.findall(r"SKIPPED \[\d+\] \S+ (.+)", text))
json.dump(record, open(part, "w"))
PYEOF
sed -n 's/^SKIPPED/gpu_check: test skipped:/p' "$WORK/cuda_tests.out" >&2

# 2. throughput with channels_last and bf16 autocast, against the GPU's bf16 matmul rate
if [ -z "$DEVICE" ]; then
    skip throughput_ulite "needs CUDA (no NVIDIA GPU found by torch)"
    skip throughput_segnet "needs CUDA (no NVIDIA GPU found by torch)"
else
    if [ "$SMOKE" -eq 1 ]; then SIZE=(--input-size 64x96 --batch-size 2 --steps 2 --warmup 1); else SIZE=(--input-size 360x640 --batch-size 16 --steps 30 --warmup 5); fi
    for model in ulite segnet; do
        step "throughput_$model" 180 "$PY" benchmarks/train_throughput.py --device "$DEVICE" --model "$model" \
            --channels-last --amp --no-pipeline "${SIZE[@]}"
    done
fi

# 3. a full default training on the demo set
if [ "$SMOKE" -eq 1 ]; then DEMO=(--count 20 --size 72x128); else DEMO=(); fi
step demo_data 180 "$PY" -m segviewer demo-data "$WORK/demo" "${DEMO[@]}"
summarise_training() { # NAME: the run's figures from its event stream
    "$PY" - "$PARTS/$1.json" "$WORK/$1.out" <<'PYEOF'
import json, statistics, sys
part, out = sys.argv[1:]
record = json.load(open(part))
events = []
for line in open(out, errors="replace"):
    try:
        events.append(json.loads(line))
    except ValueError:
        pass
by = lambda kind: [e for e in events if e.get("type") == kind]
started, epochs, end = by("started"), by("epoch"), (by("finished") or by("failed") or [None])[-1]
rates = [e["images_per_s"] for e in by("batch")[len(by("batch")) // 5:] if e.get("images_per_s")]
record["result"] = {
    "device": started[0]["device"] if started else None,
    "epochs_run": len(epochs),
    "best_val_miou": end.get("best_miou") if end else None,
    "ended": end.get("type") if end else None,
    "failure": end.get("message") if end and end.get("type") == "failed" else None,
    "seconds_per_epoch_median": round(statistics.median(e["seconds"] for e in epochs), 2) if epochs else None,
    "train_images_per_s_median": round(statistics.median(rates), 1) if rates else None,
}
json.dump(record, open(part, "w"))
PYEOF
}
if [ -z "$DEVICE" ]; then
    skip default_training "needs CUDA (no NVIDIA GPU found by torch)"
else
    if [ "$SMOKE" -eq 1 ]; then TRAIN=(--epochs 1 --max-train-batches 2 --input-size 72x128); else TRAIN=(); fi
    step default_training 300 "$PY" -m segviewer train "$WORK/demo" --device "$DEVICE" --out "$WORK/run" \
        --events jsonl "${TRAIN[@]}"
    summarise_training default_training
fi

# 4. two GPUs through torchrun
if [ "$GPUS" -ge 2 ] || [ "$SMOKE" -eq 1 ]; then
    step torchrun_2 180 "$PY" -m torch.distributed.run --standalone --nproc-per-node 2 -m segviewer train \
        "$WORK/demo" --device "$DEVICE" --epochs 1 --max-train-batches 20 --out "$WORK/run-2" --events jsonl
    summarise_training torchrun_2
else
    skip torchrun_2 "needs 2 GPUs (found $GPUS)"
fi

# 5. the window's event-loop lag while it trains (on CUDA: the run's device is "auto")
if [ -z "$DEVICE" ]; then
    skip ui_latency "needs CUDA (no NVIDIA GPU found by torch)"
else
    if [ "$SMOKE" -eq 1 ]; then UI=(--seconds 5 --count 8 --size 36x64 --input-size 36x64); else UI=(--seconds 30); fi
    step ui_latency 120 "$PY" benchmarks/ui_latency.py --runner process "${UI[@]}"
fi

"$PY" - "$OUT" "$PARTS" <<'PYEOF'
import json, pathlib, sys
out, parts = sys.argv[1], pathlib.Path(sys.argv[2])
order = ["environment", "cuda_tests", "throughput_ulite", "throughput_segnet", "demo_data", "default_training",
         "torchrun_2", "ui_latency"]
report = {name: json.loads((parts / f"{name}.json").read_text()) for name in order if (parts / f"{name}.json").exists()}
failed = [n for n, r in report.items() if r.get("exit_code", 0) != 0 or (r.get("result") or {}).get("failed") or (r.get("result") or {}).get("ended") == "failed"]
report["summary"] = {"failed_steps": failed, "skipped_steps": [n for n, r in report.items() if "skipped" in r]}
pathlib.Path(out).write_text(json.dumps(report, indent=2) + "\n")
print(json.dumps(report["summary"]))
PYEOF
say "wrote $OUT (work folder $WORK)"
