#!/usr/bin/env python3
"""Logits of a GPT-2 checkpoint directory computed the way Hugging Face's GPT2LMHeadModel computes them.

Reads config.json and model.safetensors directly (no transformers needed), applies GPT-2's conventions
(Conv1D weights stored (in, out), `transformer.` prefixes, tied head unless lm_head.weight is present,
gelu_new), and prints the logits for the token ids given on the command line as one JSON array.
Used by a jgpt test to prove its checkpoints mean the same model to a GPT-2 implementation.
Usage: hf_gpt2_logits.py DIR ID [ID ...]
"""
import json
import math
import struct
import sys

import torch

DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}


def load(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        begin, end = t["data_offsets"]
        out[name.removeprefix("transformer.")] = (
            torch.frombuffer(bytearray(data[begin:end]), dtype=DTYPES[t["dtype"]]).float().reshape(t["shape"]))
    return out


def main():
    directory, ids = sys.argv[1], [int(x) for x in sys.argv[2:]]
    cfg = json.load(open(f"{directory}/config.json"))
    w = load(f"{directory}/model.safetensors")
    c, nh, eps = cfg["n_embd"], cfg["n_head"], cfg["layer_norm_epsilon"]
    hs = c // nh
    t = len(ids)
    ln = lambda x, p: torch.nn.functional.layer_norm(x, (c,), w[p + ".weight"], w[p + ".bias"], eps)
    conv1d = lambda x, p: x @ w[p + ".weight"] + w[p + ".bias"]
    gelu_new = lambda x: 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))
    h = w["wte.weight"][ids] + w["wpe.weight"][:t]
    mask = torch.triu(torch.ones(t, t, dtype=torch.bool), 1)
    for layer in range(cfg["n_layer"]):
        p = f"h.{layer}"
        q, k, v = conv1d(ln(h, p + ".ln_1"), p + ".attn.c_attn").split(c, dim=-1)
        q, k, v = (x.view(t, nh, hs).transpose(0, 1) for x in (q, k, v))
        att = (q @ k.transpose(-1, -2) / math.sqrt(hs)).masked_fill(mask, float("-inf")).softmax(-1)
        h = h + conv1d((att @ v).transpose(0, 1).reshape(t, c), p + ".attn.c_proj")
        h = h + conv1d(gelu_new(conv1d(ln(h, p + ".ln_2"), p + ".mlp.c_fc")), p + ".mlp.c_proj")
    head = w.get("lm_head.weight", w["wte.weight"])
    print(json.dumps((ln(h, "ln_f") @ head.T).flatten().tolist()))


main()
