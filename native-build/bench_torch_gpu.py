#!/usr/bin/env python3
"""GPT-2 training throughput in PyTorch on the GPU, the peers jgpt is compared with: one JSON line per
(batch, mode). --modes: fp32 strict, tf32, bf16 = autocast bf16 + scaled_dot_product_attention (flash) + fused
AdamW with TF32 for what stays fp32, compiled = bf16 under torch.compile (nanoGPT's fastest setup). Dropout 0,
random tokens, as jgpt's bench. A run that fails (out of memory, say) prints a line with its error instead."""
import argparse
import traceback

import torch

from torch_gpt2 import bench, emit

MODES = ("fp32", "tf32", "bf16", "compiled")

p = argparse.ArgumentParser()
p.add_argument("--model", default="gpt2-small")
p.add_argument("--batch", default="4", help="a batch size or a comma-separated list")
p.add_argument("--steps", type=int, default=10)
p.add_argument("--warmup", type=int, default=3)
p.add_argument("--modes", default="fp32,tf32")
a = p.parse_args()
modes = a.modes.split(",")
for label in modes:
    if label not in MODES:
        p.error(f"--modes: {label!r} is not one of {', '.join(MODES)}")

for batch in (int(b) for b in a.batch.split(",")):
    for label in modes:
        tf32 = label != "fp32"
        torch.backends.cuda.matmul.allow_tf32 = tf32
        torch.backends.cudnn.allow_tf32 = tf32
        try:
            result = bench(a.model, batch, a.steps, a.warmup, "cuda", label, bf16=label in ("bf16", "compiled"),
                           compiled=label == "compiled")
            result["gpu"] = torch.cuda.get_device_name()
            emit(result)
        except Exception as e:  # one failed configuration must not hide the others
            first = str(e).splitlines()[0] if str(e) else ""
            emit({"engine": "torch", "mode": label, "model": a.model, "batch": batch, "error": f"{type(e).__name__}: {first}"})
            traceback.print_exc()
        torch.cuda.empty_cache()
