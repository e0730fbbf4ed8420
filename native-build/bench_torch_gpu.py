#!/usr/bin/env python3
"""GPT-2 small training throughput in eager PyTorch on the GPU, strict fp32 and TF32: one JSON line each."""
import argparse

import torch

from torch_gpt2 import bench, emit

p = argparse.ArgumentParser()
p.add_argument("--model", default="gpt2-small")
p.add_argument("--batch", type=int, default=4)
p.add_argument("--steps", type=int, default=10)
p.add_argument("--warmup", type=int, default=3)
a = p.parse_args()

for label, tf32 in (("fp32", False), ("tf32", True)):
    torch.backends.cuda.matmul.allow_tf32 = tf32
    torch.backends.cudnn.allow_tf32 = tf32
    result = bench(a.model, a.batch, a.steps, a.warmup, "cuda", label)
    result["gpu"] = torch.cuda.get_device_name()
    emit(result)
    torch.cuda.empty_cache()
