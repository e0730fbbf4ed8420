#!/usr/bin/env python3
"""jgpt's training-step benchmarks for gpu-check.sh, one JSON line per run in OUT (appended as each finishes,
so a stage that runs out of time keeps what it measured):

  step_bench.py small OUT JAVA...   GPT-2 small, context 1024, batch 64/32/16/4, bf16, TF32 and fp32, the
                                    headline (batch 64, bf16) first; a failed run keeps its error line
  step_bench.py scale OUT JAVA...   gpt2-medium/large/xl: the largest batch that fits, tried from the top down;
                                    a failed try keeps its error line, which says what limited the batch
  step_bench.py profile OUT JAVA... the batch-64 GPT-2 small step per kernel, with the roofline points (the
                                    trace goes beside OUT)
scale and profile run bf16 when the small runs (steps-small.jsonl beside OUT) trained in bf16, else TF32.

JAVA... is the command that runs the jgpt jar (java, flags, -jar, the jar). Each run: 5 timed steps after
2-4 warm-up steps (CUDA graphs replay from the second step on), --dropout 0 like the PyTorch peers."""
import json
import os
import subprocess
import sys



def run(java, out, model, precision, batch, limit, extra=(), keep_profile=False):
    cmd = java + ["bench", "--device", "cuda", "--model", model, "--context", "1024", "--dropout", "0", "--batch", str(batch),
                  "--precision", precision, *extra, "--json"]
    row = {"engine": "jgpt", "model": model, "mode": precision, "batch": batch, "command": " ".join(cmd[cmd.index("bench"):])}
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=limit)
        lines = [l for l in p.stdout.splitlines() if l.startswith("{")]
        if p.returncode == 0 and lines:
            row.update(json.loads(lines[-1]))
            if not keep_profile:
                row.pop("profile_markdown", None)
        else:
            err = [l for l in p.stderr.splitlines() if l.strip()]
            row["error"] = err[-1] if err else f"exit {p.returncode}"
    except subprocess.TimeoutExpired:
        row["error"] = f"timed out after {limit}s"
    with open(out, "a") as f:
        f.write(json.dumps(row) + "\n")
    print(json.dumps({k: row.get(k) for k in ("model", "mode", "batch", "tokens_per_s", "error")}), flush=True)
    return "error" not in row


def small(java, out):
    timed = ["--steps", "5", "--warmup", "2", "--max-warmup", "4"]
    for batch in (64, 32, 16, 4):
        for precision in ("bf16", "tf32", "fp32"):
            run(java, out, "gpt2-small", precision, batch, 90, timed)


def fastest_mode(out):
    """bf16 where the small-model runs beside OUT could train in bf16 (a build whose GPU path has it), else TF32."""
    try:
        with open(os.path.join(os.path.dirname(out), "steps-small.jsonl")) as f:
            ran = [json.loads(line) for line in f if line.startswith("{")]
    except OSError:
        ran = []
    return "bf16" if any(r.get("mode") == "bf16" and "error" not in r for r in ran) else "tf32"


def scale(java, out):
    precision = fastest_mode(out)
    timed = ["--steps", "3", "--warmup", "2", "--max-warmup", "2"]
    for model, batches in (("gpt2-medium", (32, 16, 8)), ("gpt2-large", (16, 8, 4)), ("gpt2-xl", (8, 4, 2, 1))):
        for batch in batches:
            if run(java, out, model, precision, batch, 120, timed):
                break


def profile(java, out):
    precision = fastest_mode(out)
    trace = out.rsplit(".", 1)[0] + "-trace.json"
    run(java, out, "gpt2-small", precision, 64, 90,
        ["--steps", "3", "--warmup", "2", "--max-warmup", "3", "--profile", "--trace", trace], keep_profile=True)


if __name__ == "__main__":
    what, out, java = sys.argv[1], sys.argv[2], sys.argv[3:]
    {"small": small, "scale": scale, "profile": profile}[what](java, out)
