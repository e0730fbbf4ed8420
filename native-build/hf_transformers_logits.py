#!/usr/bin/env python3
"""Logits of a jgpt checkpoint directory as Hugging Face's own GPT2LMHeadModel.from_pretrained computes them
(float32, eval mode) for the token ids on the command line, printed as one JSON array. The GPU check's
HuggingFaceTransformersTest compares them with jgpt's. Usage: hf_transformers_logits.py DIR ID [ID ...]"""
import json
import sys

import torch
from transformers import GPT2LMHeadModel

directory, ids = sys.argv[1], [int(x) for x in sys.argv[2:]]
model = GPT2LMHeadModel.from_pretrained(directory, torch_dtype=torch.float32).eval()
with torch.no_grad():
    logits = model(torch.tensor([ids])).logits[0]
print(json.dumps(logits.flatten().tolist()))
