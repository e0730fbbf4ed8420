#!/usr/bin/env python3
"""jgpt's GPT-2 tokenizer against tiktoken's "gpt2" encoding, corpus by corpus: one JSON line each with the
token count, whether the id sequences are identical, and the first position where they differ.
Usage: tiktoken_compare.py CORPUS_DIR JAVA...   (JAVA... runs the jgpt jar: java, flags, -jar, the jar)
Special-token text ("<|endoftext|>") is encoded as the special token on both sides."""
import glob
import json
import os
import subprocess
import sys

import tiktoken

corpus_dir, java = sys.argv[1], sys.argv[2:]
files = sorted(glob.glob(os.path.join(corpus_dir, "*.txt")))
if not files:
    print(json.dumps({"file": corpus_dir, "error": "no *.txt corpora here"}))
enc = tiktoken.get_encoding("gpt2")
for path in files:
    row = {"file": os.path.basename(path)}
    try:
        text = open(path, encoding="utf-8").read()
        theirs = enc.encode(text, allowed_special={"<|endoftext|>"})
        p = subprocess.run(java + ["tokenize", "--file", path, "--json"], capture_output=True, text=True, timeout=120)
        if p.returncode != 0:
            raise RuntimeError((p.stderr.strip().splitlines() or [f"exit {p.returncode}"])[-1])
        ours = json.loads(p.stdout.strip().splitlines()[-1])
        row["tokens"] = len(theirs)
        row["identical"] = ours == theirs
        if ours != theirs:
            i = next((k for k, (a, b) in enumerate(zip(ours, theirs)) if a != b), min(len(ours), len(theirs)))
            row["first_difference"] = f"position {i}: jgpt {ours[i:i + 5]} tiktoken {theirs[i:i + 5]} (lengths {len(ours)}, {len(theirs)})"
    except Exception as e:  # report and go on with the next corpus
        row["error"] = f"{type(e).__name__}: {e}"
    print(json.dumps(row), flush=True)
