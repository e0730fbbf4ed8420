#!/usr/bin/env python3
"""PyTorch's fused causal attention at the shape native-build/flash_attention_check times (B=64, NH=12,
T=1024, hs=64): scaled_dot_product_attention with the flash backend in bf16 (the peer of a bf16 tensor-core
kernel) and the memory-efficient backend in fp32 (flash has no fp32 kernel; the peer of jgpt's fp32 kernel).
One JSON line per (backend, pass) with milliseconds and causal TFLOP/s counted as FlashAttention does:
4*B*NH*T*T*hs/2 forward, 2.5 times that backward. Backward time = (forward + backward) - forward."""
import json

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

B, NH, T, HS = 64, 12, 1024, 64
WARMUP, ITERATIONS = 3, 10
FORWARD_FLOPS = 4.0 * B * NH * T * T * HS / 2


def timed(fn):
    for _ in range(WARMUP):
        fn()
    start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(ITERATIONS):
        fn()
    stop.record()
    torch.cuda.synchronize()
    return start.elapsed_time(stop) / ITERATIONS


def run(label, backend, dtype):
    q, k, v = (torch.randn(B, NH, T, HS, device="cuda", dtype=dtype, requires_grad=True) for _ in range(3))
    grad = torch.randn(B, NH, T, HS, device="cuda", dtype=dtype)
    with sdpa_kernel(backend):
        forward = timed(lambda: F.scaled_dot_product_attention(q, k, v, is_causal=True))

        def both():
            F.scaled_dot_product_attention(q, k, v, is_causal=True).backward(grad)

        total = timed(both)
    for name, ms, flops in (("forward", forward, FORWARD_FLOPS), ("backward", total - forward, 2.5 * FORWARD_FLOPS)):
        print(json.dumps({"impl": label, "pass": name, "shape": f"{B}x{NH}x{T}x{HS}", "ms": round(ms, 4),
                          "tflops": round(flops / (ms * 1e-3) / 1e12, 2), "torch": torch.__version__,
                          "gpu": torch.cuda.get_device_name()}), flush=True)


for label, backend, dtype in (("torch sdpa flash bf16", SDPBackend.FLASH_ATTENTION, torch.bfloat16),
                              ("torch sdpa efficient fp32", SDPBackend.EFFICIENT_ATTENTION, torch.float32)):
    try:
        run(label, backend, dtype)
    except RuntimeError as e:  # a backend this build or GPU lacks: say so and go on
        print(json.dumps({"impl": label, "error": str(e).splitlines()[0]}), flush=True)
    torch.cuda.empty_cache()
