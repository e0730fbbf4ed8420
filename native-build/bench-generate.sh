#!/usr/bin/env bash
# CPU decoding: jgpt with f32 weights, with bf16 weights rounded at load (--weights bf16) and with a bf16
# checkpoint mapped as stored (convert --dtype bf16), against PyTorch's KV-cache decode (Debian's python3-torch),
# same model, same threads, alternating rounds (jgpt f32, jgpt bf16 rounded, jgpt bf16 stored, torch, jgpt f32,
# ...); prints a markdown table of medians, the ratios, every round and the exact commands.
# Usage: native-build/bench-generate.sh [THREADS] [ROUNDS] [NEW_TOKENS] [BATCH]
# The checkpoint is $JGPT_BENCH_CHECKPOINT, else runs/bench-gpt2-small, created if missing as the gpt2-small
# preset's random initial weights (decoding speed does not depend on the values).
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${1:-$(nproc)}
rounds=${2:-3}
steps=${3:-64}
batch=${4:-8}
ckpt=${JGPT_BENCH_CHECKPOINT:-runs/bench-gpt2-small}
py=/usr/bin/python3
if ! "$py" -c 'import torch' 2>/dev/null; then
  echo "bench-generate: installing python3-torch (Debian) ..." >&2
  timeout 300 apt-get install -y -q python3-torch >&2 || { echo "bench-generate: no torch; jgpt rows only" >&2; py=""; }
fi
./jgpt bench-generate --help > /dev/null 2>&1 || true # builds the jar and records the start-up cache first: the first-token time starts with the process
if [[ ! -f "$ckpt/model.safetensors" ]]; then
  ./jgpt convert --from gpt2-small --to "$ckpt" >&2
fi
ckpt=$(realpath "$ckpt")
ckpt_bf16="$ckpt-bf16" # the same weights, matrices stored as bf16
[[ -f "$ckpt_bf16/model.safetensors" ]] || ./jgpt convert --from "$ckpt" --to "$ckpt_bf16" --dtype bf16 >&2
cat "$ckpt/model.safetensors" "$ckpt_bf16/model.safetensors" > /dev/null # a warm page cache, as the start-up target assumes
export JGPT_JAVA_OPTS="-XX:ActiveProcessorCount=$threads ${JGPT_JAVA_OPTS:-}"
common="--threads $threads --new-tokens $steps --batch $batch --rounds 1"
jgpt_f32="./jgpt bench-generate --model $ckpt $common --weights f32 --json"
jgpt_bf16="./jgpt bench-generate --model $ckpt $common --weights bf16 --json"
jgpt_stored="./jgpt bench-generate --model $ckpt_bf16 $common --json"
results=$(mktemp)
trap 'rm -f "$results"' EXIT
for ((round = 1; round <= rounds; round++)); do
  # shellcheck disable=SC2086  # the flags are meant to split into words
  { $jgpt_f32 2>/dev/null | grep '^{' || echo '{"engine":"jgpt","weights":"f32","failed":true}'; } >> "$results"
  # shellcheck disable=SC2086
  { $jgpt_bf16 2>/dev/null | grep '^{' || echo '{"engine":"jgpt","weights":"bf16","failed":true}'; } >> "$results"
  # shellcheck disable=SC2086
  { $jgpt_stored 2>/dev/null | grep '^{' | sed 's/^{/{"stored":true,/' \
      || echo '{"stored":true,"engine":"jgpt","weights":"bf16","failed":true}'; } >> "$results"
  if [[ -n "$py" ]]; then
    # shellcheck disable=SC2086
    { (cd native-build && $py torch_generate.py "$ckpt" --threads "$threads" --new-tokens "$steps" --batch "$batch" --rounds 1) 2>/dev/null \
        | grep '^{' || echo '{"engine":"torch","failed":true}'; } >> "$results"
  fi
done
python3 - "$results" "$threads" "$batch" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
threads, batch = sys.argv[2], sys.argv[3]
def runs(engine, weights=None, stored=False):
    return [r for r in rows if r.get("engine") == engine and not r.get("failed")
            and (weights is None or r.get("weights") == weights) and r.get("stored", False) == stored]
def med(rs, key):
    v = [r[key] for r in rs if key in r]
    return statistics.median(v) if v else None
groups = {"jgpt f32": runs("jgpt", "f32"), "jgpt bf16, rounded at load": runs("jgpt", "bf16"),
          "jgpt bf16, stored": runs("jgpt", "bf16", stored=True), "PyTorch f32": runs("torch")}
f = lambda v, d=2: "-" if v is None else f"{v:.{d}f}"
print(f"| engine, weights | rounds | first token s | decode tok/s, batch 1 | decode tok/s, batch {batch} | read GB/s | bound tok/s | fraction of bound | peak RSS MB | RSS / (weights + KV) |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for name, rs in groups.items():
    rss = med(rs, "peak_rss_bytes_b1")
    print(f"| {name} | {len(rs)} | {f(med(rs, 'first_token_s'))} | {f(med(rs, 'decode_tok_s_b1'))} | {f(med(rs, 'decode_tok_s_bn'))} "
          f"| {f(med(rs, 'read_gb_s'), 1)} | {f(med(rs, 'bound_tok_s'), 1)} | {f(med(rs, 'bandwidth_fraction'), 3)} "
          f"| {f(rss / 1e6 if rss else None, 0)} | {f(med(rs, 'rss_over_weights_and_cache'))} |")
def ratio(a, b, key):
    x, y = med(groups[a], key), med(groups[b], key)
    return f"{x / y:.2f}" if x and y else "-"
print()
for a, b in (("jgpt f32", "PyTorch f32"), ("jgpt bf16, stored", "PyTorch f32"), ("jgpt bf16, rounded at load", "jgpt f32"),
             ("jgpt bf16, stored", "jgpt f32")):
    print(f"{a} / {b}: batch 1 {ratio(a, b, 'decode_tok_s_b1')}, batch {batch} {ratio(a, b, 'decode_tok_s_bn')} (ratio of medians)")
print()
print("Rounds:")
for r in rows:
    print("   ", json.dumps({k: r[k] for k in r if not k.endswith("_rounds")}))
PY
echo
echo "Commands (each round runs them in this order; $threads threads):"
echo "    $jgpt_f32"
echo "    $jgpt_bf16"
echo "    $jgpt_stored"
[[ -z "$py" ]] || echo "    (cd native-build && $py torch_generate.py $ckpt --threads $threads --new-tokens $steps --batch $batch --rounds 1)"
