#!/usr/bin/env python3
"""GPT-2 small training throughput in eager PyTorch on the GPU: one JSON line per mode (--modes: fp32 strict,
tf32, bf16 = autocast bf16 with SDPA attention and TF32 for what stays fp32)."""
import argparse

import torch

from torch_gpt2 import bench, emit

p = argparse.ArgumentParser()
p.add_argument("--model", default="gpt2-small")
p.add_argument("--batch", type=int, default=4)
p.add_argument("--steps", type=int, default=10)
p.add_argument("--warmup", type=int, default=3)
p.add_argument("--modes", default="fp32,tf32")
a = p.parse_args()

for label in a.modes.split(","):
    if label not in ("fp32", "tf32", "bf16"):
        p.error(f"--modes: {label!r} is not fp32, tf32 or bf16")
    tf32 = label != "fp32"
    torch.backends.cuda.matmul.allow_tf32 = tf32
    torch.backends.cudnn.allow_tf32 = tf32
    result = bench(a.model, a.batch, a.steps, a.warmup, "cuda", label, bf16=label == "bf16")
    result["gpu"] = torch.cuda.get_device_name()
    emit(result)
    torch.cuda.empty_cache()
