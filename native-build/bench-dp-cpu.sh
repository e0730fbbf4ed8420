#!/usr/bin/env bash
# Data parallelism on the CPU: two MPI ranks of one thread each against one process of two threads on the
# same cores, with the same model and global batch (one process: --batch 4 --accum 2; each rank: --batch 4
# --accum 1), rounds interleaved. Prints tokens/s over steps WARM..STEPS (from metrics.jsonl's cumulative
# rates) and, from rank 0's --profile table, the time in collectives as a share of those steps' wall time.
# Usage: native-build/bench-dp-cpu.sh [ROUNDS] [STEPS] [WARM]   (needs Open MPI: openmpi-bin)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-2} steps=${2:-16} warm=${3:-6}
export JAVA_HOME=${JGPT_JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}
export PATH="$JAVA_HOME/bin:$PATH"
[[ -f target/jgpt.jar ]] || mvn -q -B -ntp -DskipTests package
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
python3 - "$work/corpus.txt" <<'PY'
import random, sys
random.seed(1)
words = "the a fox bakery coat wind morning cold blue small walked asked met there and she he it was".split()
open(sys.argv[1], "w").write(" ".join(random.choice(words) for _ in range(200000)))
PY
# The "small" configuration of bench-cpu.sh: gpt2-small cut to 4 layers, 4 heads, 256 wide, context 128.
common=(train --data "$work/corpus.txt" --model gpt2-small --n-layer 4 --n-head 4 --n-embd 256 --context 128
  --dropout 0 --batch 4 --steps "$steps" --seed 1 --lr 1e-4 --eval-batches 1 --no-progress --profile --val-fraction 0.01)
jvm=(java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -XX:+UseParallelGC -jar target/jgpt.jar)
# tokens/s between steps WARM and STEPS, and the seconds that took.
rate() { python3 - "$1" "$warm" "$steps" <<'PY'
import json, sys
recs = {r["step"]: r for r in map(json.loads, open(sys.argv[1] + "/metrics.jsonl")) if r["type"] == "train"}
a, b = recs[int(sys.argv[2])], recs[int(sys.argv[3])]
ta, tb = a["tokens_seen"] / a["tokens_per_s"], b["tokens_seen"] / b["tokens_per_s"]
print(f'{(b["tokens_seen"] - a["tokens_seen"]) / (tb - ta):.1f} {tb:.3f}')
PY
}
for r in $(seq 1 "$rounds"); do
  "${jvm[@]}" "${common[@]}" --accum 2 --threads 2 --out "$work/one-$r" > "$work/one-$r.log" 2>&1
  mpirun --allow-run-as-root --oversubscribe --bind-to none -np 2 -x PATH "${jvm[@]}" "${common[@]}" --accum 1 \
    --threads 1 --out "$work/two-$r" > "$work/two-$r.log" 2>&1
  read -r one _ < <(rate "$work/one-$r")
  read -r two secs < <(rate "$work/two-$r")
  # Collective spans of every profiled step (rank 0's table), against the whole training time of the run.
  comm_ms=$(awk '$1 ~ /^(reduce_scatter|all_gather|all_gather_scalar)$/ {s += $3} END {print s + 0}' "$work/two-$r.log")
  echo "round $r: 1 process x 2 threads $one tokens/s | 2 ranks x 1 thread $two tokens/s | ratio $(python3 -c "print(f'{$two/$one:.2f}')") | collectives ${comm_ms} ms of ${secs} s training ($(python3 -c "print(f'{$comm_ms/10/$secs:.1f}')") %)"
done
echo "one process: ${jvm[*]} ${common[*]} --accum 2 --threads 2"
echo "two ranks:   mpirun --allow-run-as-root --oversubscribe --bind-to none -np 2 ${jvm[*]} ${common[*]} --accum 1 --threads 1"
