"""The training-step sections of gpu-check.sh's report (issue 11): jgpt against PyTorch's best on GPT-2 small,
the larger models, the batch-64 profile with its roofline, and the tokenizer against tiktoken. Imported by
gpu_report.py; reads the JSON lines the stages left in WORK."""
import json
import os

TARGET = 550_000  # tokens/s: jgpt bf16, GPT-2 small, batch 64 x 1024, on one H200 (issue 11)
PEAK = {"fp32": 67.0, "tf32": 495.0, "bf16": 989.0, "compiled": 989.0}  # H100/H200 SXM dense TFLOP/s


def rows(work, name):
    out = []
    try:
        with open(os.path.join(work, name), errors="replace") as f:
            for line in f:
                try:
                    out.append(json.loads(line))
                except ValueError:
                    pass
    except OSError:
        pass
    return out


def flops_per_token(jgpt_rows, model):
    """llm.c's FLOPs per token (6N + 6LCT), as jgpt's bench computed it for this model at context 1024."""
    for r in jgpt_rows:
        if r.get("model") == model and r.get("tflops_llmc") and r.get("tokens_per_s"):
            return r["tflops_llmc"] * 1e12 / r["tokens_per_s"]
    return None


def mfu(r, fpt):
    if not fpt or not r.get("tokens_per_s"):
        return "-"
    return f"{100 * r['tokens_per_s'] * fpt / (PEAK[r['mode']] * 1e12):.1f} %"


def small_section(work):
    jg = [r for r in rows(work, "steps-small.jsonl")]
    to = [r for r in rows(work, "torch-peers.jsonl") if r.get("model", "gpt2-small") == "gpt2-small"]
    if not jg and not to:
        return ["(no results; see stages.log)"]
    fpt = flops_per_token(jg, "gpt2-small")
    md = [f"llm.c's FLOP count ({fpt / 1e9:.3f} GFLOP per token) against each mode's dense peak "
          f"(fp32 67, TF32 495, bf16 989 TFLOP/s)." if fpt else "(no jgpt run finished: no FLOP count)", "",
          "| batch | engine | mode | ms/step | tokens/s | MFU | best jgpt / this |", "|---:|---|---|---:|---:|---:|---:|"]
    for batch in (64, 32, 16, 4):
        mine = [r for r in jg if r.get("batch") == batch and r.get("tokens_per_s")]
        best = max(mine, key=lambda r: r["tokens_per_s"], default=None)
        for r in [r for r in jg if r.get("batch") == batch] + [r for r in to if r.get("batch") == batch]:
            if "error" in r:
                md.append(f"| {batch} | {r['engine']} | {r['mode']} | - | - | - | {r['error'][:120]} |")
                continue
            ratio = f"{best['tokens_per_s'] / r['tokens_per_s']:.2f}" if best else "-"
            md.append(f"| {batch} | {r['engine']} | {r['mode']} | {r['ms_per_step']:.1f} | {r['tokens_per_s']:,.0f} | "
                      f"{mfu(r, fpt)} | {ratio} |")
    head = [r for r in jg if r.get("batch") == 64 and r.get("tokens_per_s")]
    bf16 = [r for r in head if r["mode"] == "bf16"]
    pick = bf16[0] if bf16 else max(head, key=lambda r: r["tokens_per_s"], default=None)
    md.append("")
    if pick:
        peers = [r for r in to if r.get("batch") == 64 and r.get("tokens_per_s")]
        against = "; ".join(f"{pick['tokens_per_s'] / r['tokens_per_s']:.2f}x torch {r['mode']}" for r in peers)
        md.append(f"**Headline: jgpt {pick['mode']} batch 64: {pick['tokens_per_s']:,.0f} tokens/s = "
                  f"{pick['tokens_per_s'] / TARGET:.2f} of the {TARGET:,} target**"
                  + (f" ({against})" if against else "")
                  + ("" if bf16 else " (this build has no bf16 training; the target is for bf16)."))
    md += ["", "Like with like (jgpt / PyTorch, tokens/s; bf16 also against compiled):", ""]
    md += like_with_like(jg, to)
    md.append("")
    md.append("Commands: " + "; ".join(sorted({r["command"] for r in jg if "command" in r})[:3]) + " …")
    return md


def like_with_like(jg, to):
    """jgpt / PyTorch at each batch for the same precision (jgpt bf16 against eager bf16 and compiled)."""
    pairs = (("fp32", "fp32"), ("tf32", "tf32"), ("bf16", "bf16"), ("bf16", "compiled"))
    md = []
    for batch in (64, 32, 16, 4):
        def speed(runs, mode):
            return next((r["tokens_per_s"] for r in runs if r.get("batch") == batch and r.get("mode") == mode
                         and r.get("tokens_per_s")), None)
        found = [(m, p, speed(jg, m), speed(to, p)) for m, p in pairs]
        parts = [f"{m} / {p} {a / b:.2f}" for m, p, a, b in found if a and b]
        if parts:
            md.append(f"- batch {batch}: " + ", ".join(parts))
    return md or ["- (no pair measured)"]


def scale_section(work):
    rs = rows(work, "steps-scale.jsonl")
    if not rs:
        return ["(no results; see stages.log)"]
    md = ["| model | mode | batch | ms/step | tokens/s | MFU (llm.c) | what limited the batch |", "|---|---|---:|---:|---:|---:|---|"]
    for model in ("gpt2-medium", "gpt2-large", "gpt2-xl"):
        tries = [r for r in rs if r.get("model") == model]
        ok = [r for r in tries if "error" not in r]
        limit = "; ".join(f"batch {r['batch']}: {r['error'][:100]}" for r in tries if "error" in r) or (
            "the largest batch tried" if tries else "not run (see stages.log)")
        for r in ok:
            md.append(f"| {model} | {r['mode']} | {r['batch']} | {r['ms_per_step']:.0f} | {r['tokens_per_s']:,.0f} | "
                      f"{mfu(r, flops_per_token(ok, model))} | {limit} |")
        if not ok:
            md.append(f"| {model} | - | - | - | - | - | {limit} |")
    return md


def profile_section(work):
    rs = rows(work, "profile-b64.jsonl")
    if not rs or "error" in rs[-1]:
        return ["(no profile; see stages.log)" + (f": {rs[-1]['error']}" if rs else "")]
    r = rs[-1]
    md = [f"`{r.get('command', '')}` (profiled steps run eagerly, without the graph)", "",
          r.get("profile_markdown", "(no table)"), ""]
    roof = r.get("roofline")
    if roof:
        md += [f"Roofline (roof: {roof['bandwidthGbs']:.0f} GB/s, {roof['peakTflops']:.0f} TFLOP/s"
               + (", best measured" if roof.get("measuredRoof") else "")
               + "; the GPU bundle's runtime cannot draw: `./jgpt roofline --from profile-b64.jsonl --out roofline.png` "
               "on a machine whose Java has java.desktop draws `roofline.png` from these points):", "",
               "| kernel | FLOP/byte | TFLOP/s | share of roof |", "|---|---:|---:|---:|"]
        for p in sorted(roof["points"], key=lambda p: p["intensity"]):
            md.append(f"| {p['name']} | {p['intensity']:.2f} | {p['tflops']:.2f} | {100 * p['share']:.0f} % |")
    return md


def tokenizer_section(work):
    rs = rows(work, "tiktoken.jsonl")
    if not rs:
        return ["(no results; see stages.log)"]
    md = ["| corpus | tokens | identical to tiktoken gpt2 | first difference |", "|---|---:|---|---|"]
    for r in rs:
        md.append(f"| {r.get('file')} | {r.get('tokens', '-')} | {r.get('identical', '-')} | {r.get('first_difference', r.get('error', ''))} |")
    return md


def sections(work):
    md = ["## Training step against PyTorch (GPT-2 small, context 1024, dropout 0, full AdamW)", ""]
    md += small_section(work) + ["", "## Larger models (largest batch that fits)", ""] + scale_section(work)
    md += ["", "## Per-kernel profile, batch 64", ""] + profile_section(work)
    md += ["", "## jgpt's tokenizer against tiktoken (../shared corpora)", ""] + tokenizer_section(work)
    md += ["", "The Hugging Face check (`GPT2LMHeadModel.from_pretrained` on a jgpt checkpoint, logits against jgpt's "
           "on the GPU) is the JUnit case `io.jgpt.checkpoint.HuggingFaceTransformersTest` above.", ""]
    return md
