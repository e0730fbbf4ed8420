"""GPT-2 in plain PyTorch, written out like jgpt's model (pre-LN blocks, fused qkv, causal mask buffer,
tanh GELU), as the yardstick for jgpt's benchmarks. Shared by bench_torch_gpu.py and bench_torch_cpu.py."""
import dataclasses
import json
import math
import time
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class Config:
    vocab: int = 50257
    context: int = 1024
    emb: int = 768
    heads: int = 12
    layers: int = 12
    dropout: float = 0.0
    qkv_bias: bool = True
    tied_head: bool = True
    sdpa: bool = False  # attention through F.scaled_dot_product_attention (PyTorch's fused kernels)


CONFIGS = {
    "gpt2-small": Config(),
    "book-124m": Config(context=256, qkv_bias=False, tied_head=False, dropout=0.1),
    "small": Config(context=128, emb=256, heads=4, layers=4),
    "gpt2-medium": Config(emb=1024, heads=16, layers=24),
    "gpt2-large": Config(emb=1280, heads=20, layers=36),
    "gpt2-xl": Config(emb=1600, heads=25, layers=48),
}


class Attention(nn.Module):
    def __init__(self, c: Config):
        super().__init__()
        self.heads = c.heads
        self.sdpa = c.sdpa
        self.qkv = nn.Linear(c.emb, 3 * c.emb, bias=c.qkv_bias)
        self.proj = nn.Linear(c.emb, c.emb)
        self.drop = nn.Dropout(c.dropout)
        self.register_buffer("mask", torch.triu(torch.ones(c.context, c.context, dtype=torch.bool), 1),
                             persistent=False)

    def forward(self, x):
        b, t, c = x.shape
        q, k, v = self.qkv(x).view(b, t, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        if self.sdpa:
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True,
                                               dropout_p=self.drop.p if self.training else 0.0)
            return self.drop(self.proj(y.transpose(1, 2).reshape(b, t, c)))
        att = (q @ k.transpose(-2, -1)) / math.sqrt(c // self.heads)
        att = self.drop(att.masked_fill(self.mask[:t, :t], float("-inf")).softmax(-1))
        return self.drop(self.proj((att @ v).transpose(1, 2).reshape(b, t, c)))


class Block(nn.Module):
    def __init__(self, c: Config):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(c.emb), nn.LayerNorm(c.emb)
        self.attn = Attention(c)
        self.mlp = nn.Sequential(nn.Linear(c.emb, 4 * c.emb), nn.GELU(approximate="tanh"),
                                 nn.Linear(4 * c.emb, c.emb), nn.Dropout(c.dropout))

    def forward(self, x):
        x = x + self.attn(self.ln1(x))
        return x + self.mlp(self.ln2(x))


class GPT(nn.Module):
    def __init__(self, c: Config):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(c.vocab, c.emb), nn.Embedding(c.context, c.emb)
        self.drop = nn.Dropout(c.dropout)
        self.blocks = nn.ModuleList(Block(c) for _ in range(c.layers))
        self.ln_f = nn.LayerNorm(c.emb)
        self.head = nn.Linear(c.emb, c.vocab, bias=False)
        if c.tied_head:
            self.head.weight = self.wte.weight

    def forward(self, idx):
        x = self.drop(self.wte(idx) + self.wpe(torch.arange(idx.shape[1], device=idx.device)))
        for block in self.blocks:
            x = block(x)
        return self.head(self.ln_f(x))


def bench(config_name, batch, steps, warmup, device, label, bf16=False, compiled=False):
    """Times full training steps (forward, loss, backward, AdamW) on random tokens; returns a dict. With bf16:
    autocast to bf16 (fp32 weights and optimizer), SDPA attention and, on CUDA, the fused AdamW kernel:
    PyTorch's usual mixed precision. compiled: the model under torch.compile (nanoGPT's fastest setup)."""
    c = dataclasses.replace(CONFIGS[config_name], sdpa=bf16)
    torch.manual_seed(0)
    model = GPT(c).to(device).train()
    fused = bf16 and device.startswith("cuda")
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.1, **({"fused": True} if fused else {}))
    forward = torch.compile(model) if compiled else model
    x = torch.randint(0, c.vocab, (batch, c.context), device=device)
    y = torch.randint(0, c.vocab, (batch, c.context), device=device)

    def step():
        with torch.autocast(device_type=device.split(":")[0], dtype=torch.bfloat16, enabled=bf16):
            loss = F.cross_entropy(forward(x).view(-1, c.vocab), y.view(-1))
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        return loss

    def sync():
        if device.startswith("cuda"):
            torch.cuda.synchronize()

    for _ in range(warmup):
        step()
    sync()
    start = time.perf_counter()
    for _ in range(steps):
        loss = step()
    sync()
    seconds = time.perf_counter() - start
    ms = 1e3 * seconds / steps
    return {"engine": "torch", "mode": label, "model": config_name, "device": device, "batch": batch,
            "context": c.context, "steps": steps, "ms_per_step": round(ms, 3),
            "tokens_per_s": round(batch * c.context * steps / seconds, 1), "final_loss": round(loss.item(), 4),
            "params": sum(p.numel() for p in model.parameters()), "torch": torch.__version__,
            "autocast": "bf16" if bf16 else None, "attention": "sdpa" if c.sdpa else "explicit",
            "fused_adamw": fused, "compiled": compiled}


def emit(result):
    print(json.dumps(result), flush=True)
