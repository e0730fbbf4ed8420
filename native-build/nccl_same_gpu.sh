#!/usr/bin/env bash
# Two jgpt train ranks on one GPU (torchrun-style variables, both LOCAL_RANK 0): both must end with a
# non-zero exit within the stage's limit and say that two ranks share a GPU, rather than hang or crash.
# Usage: nccl_same_gpu.sh WORKDIR JGPT-COMMAND...
set -uo pipefail
work=$1; shift
mkdir -p "$work/nccl-same-gpu"
corpus="$work/nccl-same-gpu/corpus.txt"
for i in $(seq 200); do echo "Mara walked to the bakery and met a small fox near the river."; done > "$corpus"
pids=()
for rank in 0 1; do
  RANK=$rank WORLD_SIZE=2 LOCAL_RANK=0 MASTER_ADDR=127.0.0.1 MASTER_PORT=29517 "$@" train --device cuda \
    --data "$corpus" --model book-124m --n-layer 1 --n-head 2 --n-embd 16 --context 16 --steps 2 --no-progress \
    --comm-timeout 30 --out "$work/nccl-same-gpu/run$rank" > "$work/nccl-same-gpu/rank$rank.log" 2>&1 &
  pids+=($!)
done
ok=0
for rank in 0 1; do
  wait "${pids[$rank]}"; rc=$?
  echo "rank $rank: exit $rc"; cat "$work/nccl-same-gpu/rank$rank.log"
  if (( rc == 0 )); then echo "rank $rank trained although another rank used its GPU"; ok=1; fi
done
grep -qi "one GPU" "$work/nccl-same-gpu/rank0.log" "$work/nccl-same-gpu/rank1.log" \
  || { echo "neither rank said that two ranks share one GPU"; ok=1; }
exit $ok
