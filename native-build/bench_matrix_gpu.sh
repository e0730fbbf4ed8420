#!/usr/bin/env bash
# gpu-check.sh's precision x batch matrix: jgpt bench on GPT-2 small (context 1024, dropout 0, as the PyTorch
# peer has none) in bf16, TF32 and fp32 at batch 4, 16 and 32, then eager PyTorch at the same batches in fp32,
# TF32 and bf16 autocast with SDPA attention. One JSON line per run in OUT_JSONL; a jgpt run that fails (bf16
# before its GPU path exists, say) leaves a line with its error instead of a figure.
# Usage: bench_matrix_gpu.sh OUT_JSONL JAVA [JVM_FLAGS...]   (run from the repository root)
set -uo pipefail
out=${1:?usage: bench_matrix_gpu.sh OUT_JSONL JAVA [JVM_FLAGS...]}; shift
java=("$@")
: > "$out"
for batch in 4 16 32; do
  for precision in bf16 tf32 fp32; do
    log=$(mktemp)
    if "${java[@]}" -jar .gpu/jgpt.jar bench --device cuda --model gpt2-small --context 1024 --dropout 0 \
        --batch "$batch" --steps 5 --max-warmup 5 --precision "$precision" --json > "$log.out" 2> "$log"; then
      tail -1 "$log.out" >> "$out"
    else
      python3 -c 'import json,sys; print(json.dumps({"engine": "jgpt", "precision": sys.argv[1], "batch": int(sys.argv[2]), "error": sys.argv[3]}))' \
        "$precision" "$batch" "$(tail -1 "$log" | cut -c1-300)" >> "$out"
    fi
    rm -f "$log" "$log.out"
  done
  python3 native-build/bench_torch_gpu.py --batch "$batch" --steps 5 --warmup 2 --modes fp32,tf32,bf16 >> "$out" || true
done
