#!/usr/bin/env python3
"""Training throughput of a jgpt model configuration in PyTorch on the CPU: one JSON line."""
import argparse

import torch

from torch_gpt2 import CONFIGS, bench, emit

p = argparse.ArgumentParser()
p.add_argument("--model", choices=sorted(CONFIGS), default="small")
p.add_argument("--batch", type=int, default=4)
p.add_argument("--threads", type=int, default=torch.get_num_threads())
p.add_argument("--steps", type=int, default=5)
p.add_argument("--warmup", type=int, default=1)
a = p.parse_args()

torch.set_num_threads(a.threads)
result = bench(a.model, a.batch, a.steps, a.warmup, "cpu", "fp32")
result["threads"] = a.threads
emit(result)
