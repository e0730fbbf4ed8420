#!/usr/bin/env bash
# CPU training throughput, jgpt against eager PyTorch on the same model and thread count, for the
# book-124m (batch 2 x 256) and small (batch 4 x 128) configurations; prints a markdown table.
# Usage: native-build/bench-cpu.sh [THREADS] [STEPS]. Installs Debian's python3-torch if no torch is found.
set -euo pipefail
cd "$(dirname "$0")/.."
export JAVA_HOME=${JGPT_JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}
threads=${1:-$(nproc)}
steps=${2:-3}
# Debian's torch belongs to Debian's python, not to a pyenv python that may come first on PATH.
py=/usr/bin/python3
if ! "$py" -c 'import torch' 2>/dev/null; then
  echo "bench-cpu: installing python3-torch (Debian) ..." >&2
  timeout 300 apt-get install -y -q python3-torch libopenblas0-pthread >&2 \
    || { echo "bench-cpu: could not install torch; jgpt columns only" >&2; py=""; }
fi

# field JSON KEY...: the first of the keys present in a JSON object, or "-".
field() {
  python3 -c 'import json,sys
try: d = json.loads(sys.argv[1])
except Exception: print("-"); sys.exit()
print(next((d[k] for k in sys.argv[2:] if k in d), "-"))' "$@"
}

echo "| model | batch x context | threads | jgpt ms/step | torch ms/step | jgpt tok/s | torch tok/s | jgpt / torch |"
echo "|---|---|---:|---:|---:|---:|---:|---:|"
# jgpt's model flags per configuration, matching torch_gpt2.py's CONFIGS exactly. jgpt has no "small"
# preset: it is gpt2-small (qkv bias, tied head) cut down, with dropout 0 as in torch's Config default.
declare -A jgpt_model=(
  [book-124m]="--model book-124m --context 256"
  [small]="--model gpt2-small --n-layer 4 --n-head 4 --n-embd 256 --context 128 --dropout 0"
)
commands=()
for spec in "book-124m 2" "small 4"; do
  read -r model batch <<< "$spec"
  # ActiveProcessorCount bounds every thread pool the JVM sizes from the CPU count.
  jgpt_cmd="JGPT_JAVA_OPTS=-XX:ActiveProcessorCount=$threads ./jgpt bench --device cpu ${jgpt_model[$model]} --batch $batch --steps $steps --json"
  torch_cmd="$py native-build/bench_torch_cpu.py --model $model --batch $batch --threads $threads --steps $steps"
  commands+=("$jgpt_cmd" "$torch_cmd")
  # shellcheck disable=SC2086  # the model flags are meant to split into words
  jgpt_json=$(JGPT_JAVA_OPTS="-XX:ActiveProcessorCount=$threads" timeout 1200 ./jgpt bench --device cpu \
    ${jgpt_model[$model]} --batch "$batch" --steps "$steps" --json 2>/dev/null | grep '^{' | tail -1) \
    || jgpt_json=""
  context=$(field "$jgpt_json" context)
  torch_json=""
  if [[ -n "$py" ]]; then
    torch_json=$("$py" native-build/bench_torch_cpu.py --model "$model" --batch "$batch" --threads "$threads" \
      --steps "$steps" 2>/dev/null | tail -1) || torch_json=""
  fi
  jt=$(field "$jgpt_json" tokens_per_s tokens_per_second)
  tt=$(field "$torch_json" tokens_per_s)
  ratio=$(python3 -c 'import sys
try: print(f"{float(sys.argv[1]) / float(sys.argv[2]):.2f}")
except Exception: print("-")' "$jt" "$tt")
  echo "| $model | ${batch}x${context} | $threads | $(field "$jgpt_json" ms_per_step) | $(field "$torch_json" ms_per_step) | $jt | $tt | $ratio |"
done
echo
echo "Commands:"
for c in "${commands[@]}"; do echo "    $c"; done
