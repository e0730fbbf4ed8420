#!/usr/bin/env bash
# The one-shot GPU check, run on the GPU machine from the repository root after
# native-build/package-gpu-check.sh built .gpu/ here: device info, `jgpt info`, the JUnit tests tagged "gpu",
# the flash-attention kernels standalone and under compute-sanitizer, the training step against PyTorch's best
# at batch 4-64 (see "issue 11" below), then while time lasts the batch-64 profile, the tokenizer against
# tiktoken, the larger models, decoding and the workflow; one markdown report, $OUT/gpu-report.md, with the
# trace, logs and raw results beside it (OUT defaults to ./gpu-report).
# Every stage has a time limit and may fail without stopping the others; the whole run stays under 8 min.
# --dry-run checks the environment only (no bundle, no Java stages).
# Exit codes: 0 done (stage failures are in the report), 2 bundle missing, 3 no NVIDIA GPU here.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
dry_run=false
[[ "${1:-}" == "--dry-run" ]] && dry_run=true
OUT=${OUT:-./gpu-report}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
log="$OUT/stages.log"
: > "$log"
: > "$work/stages.tsv"
deadline=$((SECONDS + 450))
# Seconds guaranteed to the stages the first run on a GPU must not lose (the verification and the headline
# table), kept free until each has run: a stage before them is cut short rather than pushing them out of the
# budget. Their sum plus the quick preparation stages stays well inside the deadline; a new stage goes after
# them, with a short limit, and needs no entry here.
declare -A reserve=([junit-gpu]=60 [flash-check]=10 [flash-memcheck]=25 [flash-racecheck]=40 [steps-small]=100
  [torch-peers]=60 [torch-compiled]=70)

# stage NAME LIMIT_S CMD...: runs CMD with its output in the log, records status and seconds, never fails.
stage() {
  local name=$1 limit=$2; shift 2
  unset 'reserve[$name]'
  local kept=0 r
  for r in "${reserve[@]}"; do kept=$((kept + r)); done
  local left=$((deadline - SECONDS - kept))
  (( limit > left )) && limit=$left
  if (( limit < 5 )); then
    printf '%s\tskipped\t0\tout of time\n' "$name" >> "$work/stages.tsv"; return 0
  fi
  echo "===== $name (limit ${limit}s): $*" >> "$log"
  local start=$SECONDS rc=0
  timeout --kill-after=10 "$limit" "$@" >> "$log" 2>&1 || rc=$?
  local note=""
  (( rc == 124 || rc == 137 )) && note="timed out after ${limit}s"
  printf '%s\t%s\t%s\t%s\n' "$name" "$rc" "$((SECONDS - start))" "$note" >> "$work/stages.tsv"
  echo "===== $name: exit $rc in $((SECONDS - start))s $note" >> "$log"
}

report() {
  python3 native-build/gpu_report.py "$work" "$OUT" "$@" \
    || { echo "# jgpt GPU check"; echo; echo "report generator failed; see stages.log"; echo "$*"; } > "$OUT/gpu-report.md"
  echo "gpu-check: wrote $OUT/gpu-report.md"
}

# ---- preparation (no GPU needed) -----------------------------------------------------------------
if [[ -f .gpu/COMMIT ]]; then cp .gpu/COMMIT "$work/commit"
else { git rev-parse HEAD 2>/dev/null || echo unknown; } > "$work/commit"; fi

# cuBLAS that came with PyTorch's wheels (nvidia-cublas), for jgpt's library search.
wheel_dirs=$(python3 - 2>/dev/null <<'PY' || true
import glob, os, nvidia
dirs = [d for root in nvidia.__path__ for d in glob.glob(os.path.join(root, "*", "lib"))
        if glob.glob(os.path.join(d, "libcublas.so.*"))]
print(":".join(sorted(dirs)))
PY
)
export JGPT_CUBLAS_DIRS=${JGPT_CUBLAS_DIRS:+$JGPT_CUBLAS_DIRS:}$wheel_dirs
echo "JGPT_CUBLAS_DIRS=$JGPT_CUBLAS_DIRS" > "$work/env"
# NCCL from the same wheels (nvidia-nccl-cu12, with include/nccl.h beside lib/), for the NCCL binding's
# gpu-tagged tests in junit-gpu: io.jgpt.dist.NcclGpuTest (every collective of a one-rank communicator on
# device buffers against hand-computed values; two ranks on one GPU refused) and NcclHeaderTest (enums, id
# size and prototypes against nccl.h).
nccl_lib=$(python3 - 2>/dev/null <<'PY' || true
import glob, os, nvidia
libs = sorted(p for root in nvidia.__path__ for p in glob.glob(os.path.join(root, "nccl", "lib", "libnccl.so.2")))
print(libs[0] if libs else "")
PY
)
if [[ -z "${JGPT_NCCL:-}" && -n "$nccl_lib" ]]; then export JGPT_NCCL=$nccl_lib; fi
echo "JGPT_NCCL=${JGPT_NCCL:-}" >> "$work/env"

java=""
for candidate in "$root/.gpu/java/bin/java" "${JAVA_HOME:+$JAVA_HOME/bin/java}" "$(command -v java || true)"; do
  if [[ -n "$candidate" && -x "$candidate" ]]; then java=$candidate; break; fi
done
echo "java=${java:-none}" >> "$work/env"
jvm_flags=(--add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED)

if ! $dry_run; then
  if [[ ! -f .gpu/jgpt.jar || ! -f .gpu/junit-console.jar || -z "$java" ]]; then
    report --stop "bundle missing (.gpu/jgpt.jar, .gpu/junit-console.jar or a java): run native-build/package-gpu-check.sh first"
    exit 2
  fi
  stage java-version 20 "$java" -version
  stage info 30 "$java" "${jvm_flags[@]}" -jar .gpu/jgpt.jar info
fi

if ! timeout 20 nvidia-smi -L > "$work/gpus" 2>&1 || ! grep -q '^GPU ' "$work/gpus"; then
  echo "gpu-check: no NVIDIA GPU: stopping before GPU stages" >&2
  report --stop "no NVIDIA GPU: stopping before GPU stages"
  exit 3
fi
timeout 20 nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv,noheader \
  > "$work/device" 2>&1 || true
stage nvidia-smi 10 nvidia-smi
# Where cuBLAS lives on this machine, in case jgpt's search misses it.
stage find-cublas 10 bash -c 'ldconfig -p | grep -i cublas; find / -xdev -name "libcublas.so*" 2>/dev/null | head -20'
if $dry_run; then
  report --stop "dry run: GPU present, Java stages not run"
  exit 0
fi

# ---- GPU stages -----------------------------------------------------------------------------------
# In order of what the first run on a GPU must bring back: the verification (GPU tests, flash kernels under
# the sanitizers), then the headline table of issue 11, then everything else while time lasts. The stages
# named in `reserve` above are guaranteed those seconds: no stage before them can eat into them.
stage junit-gpu 120 "$java" "${jvm_flags[@]}" -jar .gpu/junit-console.jar execute \
  --class-path .gpu/jgpt.jar:.gpu/test-classes --select-package io.jgpt --include-tag gpu \
  --exclude-classname '.*Bf16ExhaustiveGpuTest' --reports-dir "$work/junit" --details=tree --disable-banner
cp "$work/junit/TEST-junit-jupiter.xml" "$OUT/junit.xml" 2>/dev/null || true

# Flash attention: the kernels in a standalone binary (built by package-gpu-check.sh), fp32 and bf16 forward and
# backward, against a double reference at small ragged shapes (flash-check.jsonl, a table in the report), the same
# run under compute-sanitizer's memcheck and racecheck, then kernel times beside PyTorch's fused attention at
# 64x12x1024x64 (flash.jsonl: a table and the jgpt/PyTorch time ratios in the report). The Java parity tests of
# the op (CudaParityTest.attention and attentionBf16: T from 1 to 1024, dropout on and off) ran in junit-gpu above.
flash=.gpu/flash-attention-check
sanitizer=$(command -v compute-sanitizer || ls /usr/local/cuda/bin/compute-sanitizer /usr/local/cuda-*/bin/compute-sanitizer \
  2>/dev/null | head -1 || true)
echo "compute-sanitizer=${sanitizer:-none}" >> "$work/env"
stage flash-check 20 bash -c '"$0" check > "$1"; rc=$?; cat "$1"; exit $rc' "$flash" "$work/flash-check.jsonl"
if [[ -n "$sanitizer" ]]; then
  stage flash-memcheck 50 "$sanitizer" --tool memcheck --error-exitcode 1 "$flash" check
  stage flash-racecheck 70 "$sanitizer" --tool racecheck --error-exitcode 1 "$flash" check
else
  printf 'flash-sanitizer\tskipped\t0\tno compute-sanitizer found\n' >> "$work/stages.tsv"
  unset 'reserve[flash-memcheck]' 'reserve[flash-racecheck]'
fi

# ---- the training step against PyTorch's best (issue 11) -------------------------------------------------------
# jgpt on GPT-2 small at context 1024, batch 64/32/16/4 (bf16, TF32, fp32; CUDA graphs replay the step), then
# PyTorch in the same run at the same batches: eager fp32/TF32, bf16 = autocast + SDPA + fused AdamW, and bf16
# under torch.compile (batch 64). Each stage appends JSON lines as runs finish, so one that runs out of time keeps
# what it measured; step_report.py turns them into the report's tables (tokens/s, llm.c-formula MFU, ratios).
# These replace the older batch-4 stages jgpt-bench, jgpt-bench-tf32 and torch-bench (the same runs at batch 4).
jgpt=("$java" "${jvm_flags[@]}" -jar "$root/.gpu/jgpt.jar")
stage steps-small 150 python3 native-build/step_bench.py small "$work/steps-small.jsonl" "${jgpt[@]}"
stage torch-peers 100 bash -c 'python3 native-build/bench_torch_gpu.py --modes bf16,tf32,fp32 --batch 64,32,16,4 --steps 5 > "$0"' \
  "$work/torch-peers.jsonl"
stage torch-compiled 90 bash -c 'python3 native-build/bench_torch_gpu.py --modes compiled --batch 64 --steps 5 >> "$0"' \
  "$work/torch-peers.jsonl"

# Decoding on the GPU (issue 14's only GPU figures, so ahead of the stages below): GPT-2 small (preset weights)
# through the model's KV-cache path, greedy, tokens/s at batch 1 and 32, each step replayed from a recorded
# CUDA graph and, interleaved in the same rounds, issued eagerly (decode_tok_s_*_eager), so the graph's gain is
# measured; graph_replay says the replays happened.
stage decode-cuda 45 bash -c '"$@" > "$0/decode.jsonl"' "$work" "${jgpt[@]}" bench-generate --device cuda \
  --model gpt2-small --batch 32 --new-tokens 32 --rounds 2 --json
cp "$work/decode.jsonl" "$OUT/decode.jsonl" 2>/dev/null || true

# ---- while time lasts: each short, none needed by another ------------------------------------------------------
# The batch-64 step per kernel with its roofline points (the trace beside it), in bf16 where steps-small could run
# bf16, else TF32; jgpt's tokenizer against tiktoken on the shared corpora package-gpu-check.sh copied into
# .gpu/shared-data; gpt2-medium/large/xl at the largest batch that fits.
stage profile-b64 60 python3 native-build/step_bench.py profile "$work/profile-b64.jsonl" "${jgpt[@]}"
stage tiktoken 40 bash -c 'python3 native-build/tiktoken_compare.py "$@" > "$0"' "$work/tiktoken.jsonl" \
  .gpu/shared-data "${jgpt[@]}"
stage flash-time 30 bash -c "'$flash' time > '$work/flash.jsonl'"
stage torch-flash 40 bash -c "python3 native-build/bench_flash_attention.py >> '$work/flash.jsonl'"
cp "$work/flash.jsonl" "$OUT/flash.jsonl" 2>/dev/null || true
stage steps-scale 110 python3 native-build/step_bench.py scale "$work/steps-scale.jsonl" "${jgpt[@]}"
for f in steps-small.jsonl torch-peers.jsonl profile-b64.jsonl profile-b64-trace.json steps-scale.jsonl tiktoken.jsonl; do
  cp "$work/$f" "$OUT/$f" 2>/dev/null || true
done

# bf16: the device's fp32 -> bf16 rounding against io.jgpt.tensor.Bf16 over all 2^32 float bit patterns (its
# own stage: about half a minute).
stage bf16-exhaustive 60 "$java" "${jvm_flags[@]}" -jar .gpu/junit-console.jar execute \
  --class-path .gpu/jgpt.jar:.gpu/test-classes --select-class io.jgpt.cuda.Bf16ExhaustiveGpuTest \
  --reports-dir "$work/junit-bf16" --details=tree --disable-banner

# Data parallelism: two train ranks on this one GPU are refused with a clear message by both (NCCL's
# duplicate-GPU check, reported by NcclCommunicator). One-rank NCCL training against no communicator is in
# junit-gpu (io.jgpt.dist.NcclGpuTest).
stage nccl-same-gpu 30 native-build/nccl_same_gpu.sh "$work" "${jgpt[@]}"


# The workflow on the GPU: train (with evaluation, a sample and a checkpoint), then generate and evaluate.
stage demo-cuda 60 "${jgpt[@]}" demo --device cuda --steps 40 --out "$work/demo"
stage generate-cuda 30 "${jgpt[@]}" generate --device cuda --model "$work/demo" --prompt "One morning" --max-new-tokens 20
# Prompts of different lengths decoded together on the GPU (batched steps replayed from one graph), greedy and sampled.
printf '%s\n' "One morning" "The fox said that it would" "Mara" "In the village by the river there lived" > "$work/prompts.txt"
stage generate-batch-cuda 30 "${jgpt[@]}" generate --device cuda --model "$work/demo" --prompts "$work/prompts.txt" --max-new-tokens 24
stage generate-batch-sampled-cuda 30 "${jgpt[@]}" generate --device cuda --model "$work/demo" --prompts "$work/prompts.txt" \
  --max-new-tokens 24 --temperature 0.8 --top-k 40
stage eval-cuda 30 "${jgpt[@]}" eval --device cuda --model "$work/demo" --data "$work/demo/corpus.txt" --context 64 --json

report
