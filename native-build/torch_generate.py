#!/usr/bin/env python3
"""PyTorch's KV-cache decoding of a jgpt/Hugging Face GPT-2 checkpoint on the CPU: the peer of
`jgpt bench-generate`. Same measurements: time to first token from process start (load, prefill, argmax),
peak RSS after single-sequence decoding, then rounds of greedy decoding at batch 1 and batch N; one JSON line.
The model is torch_gpt2.GPT (jgpt's architecture in plain PyTorch); the cache is the usual one that grows
by torch.cat each step, as Hugging Face's GPT-2 does.
Usage: torch_generate.py DIR [--threads T --prompt-tokens P --new-tokens N --batch B --rounds R]"""
import argparse
import json
import math
import os
import resource
import statistics
import struct
import time

import torch

from torch_gpt2 import GPT, Config

DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}
SIZES = {"F32": 4, "F16": 2, "BF16": 2}


def process_start():
    """Wall-clock time at which this process started (from /proc, so interpreter start-up counts)."""
    ticks = os.sysconf("SC_CLK_TCK")
    with open("/proc/self/stat") as f:
        started = int(f.read().rsplit(")", 1)[1].split()[19]) / ticks
    with open("/proc/uptime") as f:
        uptime = float(f.read().split()[0])
    return time.time() - (uptime - started)


def load(directory):
    cfg = json.load(open(f"{directory}/config.json"))
    with open(f"{directory}/model.safetensors", "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = bytearray(f.read())
    w = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        b, e = t["data_offsets"]
        w[name.removeprefix("transformer.")] = torch.frombuffer(data, dtype=DTYPES[t["dtype"]], offset=b,
                                                                count=(e - b) // SIZES[t["dtype"]]).view(t["shape"]).float()
    c = Config(vocab=cfg["vocab_size"], context=cfg["n_positions"], emb=cfg["n_embd"], heads=cfg["n_head"],
               layers=cfg["n_layer"], qkv_bias="h.0.attn.c_attn.bias" in w,
               tied_head="lm_head.weight" not in w)
    model = GPT(c).eval()
    with torch.no_grad():
        model.wte.weight.copy_(w["wte.weight"])
        model.wpe.weight.copy_(w["wpe.weight"])
        for i, blk in enumerate(model.blocks):
            p = f"h.{i}."
            for mod, name in ((blk.ln1, "ln_1"), (blk.ln2, "ln_2")):
                mod.weight.copy_(w[p + name + ".weight"]); mod.bias.copy_(w[p + name + ".bias"])
            for lin, name in ((blk.attn.qkv, "attn.c_attn"), (blk.attn.proj, "attn.c_proj"),
                              (blk.mlp[0], "mlp.c_fc"), (blk.mlp[2], "mlp.c_proj")):
                lin.weight.copy_(w[p + name + ".weight"].t())
                if lin.bias is not None:
                    lin.bias.copy_(w[p + name + ".bias"])
        model.ln_f.weight.copy_(w["ln_f.weight"]); model.ln_f.bias.copy_(w["ln_f.bias"])
        if not c.tied_head:
            model.head.weight.copy_(w["lm_head.weight"])
    del w, data
    return model, c


@torch.no_grad()
def forward(model, c, idx, pos, cache):
    """Logits of the last position for idx (B, T) at positions pos.. ; appends keys/values to cache."""
    b, t = idx.shape
    hs = c.emb // c.heads
    x = model.wte(idx) + model.wpe(torch.arange(pos, pos + t))
    for i, blk in enumerate(model.blocks):
        a = blk.attn
        q, k, v = a.qkv(blk.ln1(x)).view(b, t, 3, c.heads, hs).permute(2, 0, 3, 1, 4)
        if cache[i] is not None:
            k, v = torch.cat([cache[i][0], k], 2), torch.cat([cache[i][1], v], 2)
        cache[i] = (k, v)
        att = q @ k.transpose(-2, -1) / math.sqrt(hs)
        if t > 1:
            att = att.masked_fill(a.mask[pos:pos + t, :pos + t], float("-inf"))
        x = x + a.proj((att.softmax(-1) @ v).transpose(1, 2).reshape(b, t, c.emb))
        x = x + blk.mlp(blk.ln2(x))
    return model.head(model.ln_f(x[:, -1]))


def decode(model, c, prompt, batch, steps):
    """Tokens/s over all sequences of `steps` greedy steps after a prefill of `prompt` in each sequence."""
    cache = [None] * c.layers
    idx = torch.tensor([prompt] * batch)
    nxt = forward(model, c, idx, 0, cache).argmax(-1, keepdim=True)
    start = time.perf_counter()
    for i in range(steps):
        nxt = forward(model, c, nxt, len(prompt) + i, cache).argmax(-1, keepdim=True)
    return batch * steps / (time.perf_counter() - start)


def main():
    started = process_start()
    p = argparse.ArgumentParser()
    p.add_argument("dir")
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--prompt-tokens", type=int, default=16)
    p.add_argument("--new-tokens", type=int, default=64)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--rounds", type=int, default=3)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    model, c = load(a.dir)
    prompt = [(464 + 37 * i) % c.vocab for i in range(a.prompt_tokens)]
    cache = [None] * c.layers
    forward(model, c, torch.tensor([prompt]), 0, cache).argmax(-1)
    first = time.time() - started
    decode(model, c, prompt, 1, a.new_tokens)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    one = [decode(model, c, prompt, 1, a.new_tokens) for _ in range(a.rounds)]
    many = [decode(model, c, prompt, a.batch, a.new_tokens) for _ in range(a.rounds)]
    print(json.dumps({"engine": "torch", "torch": torch.__version__, "threads": a.threads,
                      "prompt_tokens": a.prompt_tokens, "new_tokens": a.new_tokens, "batch": a.batch,
                      "first_token_s": round(first, 3), "decode_tok_s_b1": round(statistics.median(one), 2),
                      "decode_tok_s_bn": round(statistics.median(many), 2), "peak_rss_bytes_b1": peak,
                      "decode_tok_s_b1_rounds": [round(x, 2) for x in one],
                      "decode_tok_s_bn_rounds": [round(x, 2) for x in many]}), flush=True)


main()
