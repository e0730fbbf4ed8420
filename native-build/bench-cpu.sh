#!/usr/bin/env bash
# CPU training throughput, jgpt against eager PyTorch on the same model and thread count, for the
# book-124m (batch 2 x 256) and small (batch 4 x 128) configurations; prints a markdown table.
# Usage: native-build/bench-cpu.sh [THREADS] [STEPS] [ROUNDS]. Each round runs jgpt, then PyTorch; with
# several rounds the table shows the medians and the range of the per-round ratios (a shared 2-core VM
# drifts by several per cent between minutes, so alternating the two is fairer than one run of each).
# Installs Debian's python3-torch if no torch is found.
set -euo pipefail
cd "$(dirname "$0")/.."
export JAVA_HOME=${JGPT_JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}
threads=${1:-$(nproc)}
steps=${2:-3}
rounds=${3:-1}
# Debian's torch belongs to Debian's python, not to a pyenv python that may come first on PATH.
py=/usr/bin/python3
if ! "$py" -c 'import torch' 2>/dev/null; then
  echo "bench-cpu: installing python3-torch (Debian) ..." >&2
  timeout 300 apt-get install -y -q python3-torch libopenblas0-pthread >&2 \
    || { echo "bench-cpu: could not install torch; jgpt columns only" >&2; py=""; }
fi

echo "| model | batch x context | threads | rounds | jgpt ms/step | torch ms/step | jgpt tok/s | torch tok/s | jgpt / torch | per-round range |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---|"
# jgpt's model flags per configuration, matching torch_gpt2.py's CONFIGS exactly. jgpt has no "small"
# preset: it is gpt2-small (qkv bias, tied head) cut down, with dropout 0 as in torch's Config default.
declare -A jgpt_model=(
  [book-124m]="--model book-124m --context 256"
  [small]="--model gpt2-small --n-layer 4 --n-head 4 --n-embd 256 --context 128 --dropout 0"
)
commands=()
details=$(mktemp)
trap 'rm -f "$details"' EXIT
for spec in "book-124m 2" "small 4"; do
  read -r model batch <<< "$spec"
  # ActiveProcessorCount bounds every thread pool the JVM sizes from the CPU count.
  jgpt_cmd="JGPT_JAVA_OPTS=-XX:ActiveProcessorCount=$threads ./jgpt bench --device cpu ${jgpt_model[$model]} --batch $batch --steps $steps --json"
  torch_cmd="$py native-build/bench_torch_cpu.py --model $model --batch $batch --threads $threads --steps $steps"
  commands+=("$jgpt_cmd" "$torch_cmd")
  runs=()  # one "jgpt_json<TAB>torch_json" per round
  for ((round = 1; round <= rounds; round++)); do
    # shellcheck disable=SC2086  # the model flags are meant to split into words
    jgpt_json=$(JGPT_JAVA_OPTS="-XX:ActiveProcessorCount=$threads" timeout 1200 ./jgpt bench --device cpu \
      ${jgpt_model[$model]} --batch "$batch" --steps "$steps" --json 2>/dev/null | grep '^{' | tail -1) \
      || jgpt_json=""
    torch_json=""
    if [[ -n "$py" ]]; then
      torch_json=$("$py" native-build/bench_torch_cpu.py --model "$model" --batch "$batch" --threads "$threads" \
        --steps "$steps" 2>/dev/null | tail -1) || torch_json=""
    fi
    runs+=("${jgpt_json:-"{}"}"$'\t'"${torch_json:-"{}"}")
  done
  # Medians per engine, the ratio of the medians, and the per-round ratios' range.
  printf '%s\n' "${runs[@]}" | python3 -c '
import json, statistics, sys
model, batch, threads = sys.argv[1:4]
jg, to = [], []
for line in sys.stdin:
    j, t = (json.loads(x) for x in line.rstrip("\n").split("\t"))
    jg.append(j); to.append(t)
def med(rows, key):
    vals = [r[key] for r in rows if key in r]
    return statistics.median(vals) if vals else None
ctx = next((r["context"] for r in jg if "context" in r), "-")
jm, tm = med(jg, "ms_per_step"), med(to, "ms_per_step")
jt, tt = med(jg, "tokens_per_s"), med(to, "tokens_per_s")
ratios = sorted(j["tokens_per_s"] / t["tokens_per_s"] for j, t in zip(jg, to) if "tokens_per_s" in j and "tokens_per_s" in t)
f = lambda v, d: "-" if v is None else f"{v:.{d}f}"
ratio = f(jt / tt, 2) if jt and tt else "-"
spread = f"{ratios[0]:.2f}-{ratios[-1]:.2f}" if ratios else "-"
print(f"| {model} | {batch}x{ctx} | {threads} | {len(jg)} | {f(jm, 0)} | {f(tm, 0)} | {f(jt, 1)} | {f(tt, 1)} | {ratio} | {spread} |")
with open(sys.argv[4], "a") as out:
    for i, (j, t) in enumerate(zip(jg, to), 1):
        r = j["tokens_per_s"] / t["tokens_per_s"] if "tokens_per_s" in j and "tokens_per_s" in t else None
        jms, tms = f(j.get("ms_per_step"), 0), f(t.get("ms_per_step"), 0)
        out.write(f"    {model} round {i}: jgpt {jms} ms/step, torch {tms} ms/step, ratio {f(r, 2)}\n")
' "$model" "$batch" "$threads" "$details"
done
echo
echo "Rounds (each: jgpt, then torch):"
cat "$details"
echo
echo "Commands:"
for c in "${commands[@]}"; do echo "    $c"; done
