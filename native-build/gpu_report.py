#!/usr/bin/env python3
"""Writes gpu-check.sh's markdown report from the files its stages left in WORK.
Usage: gpu_report.py WORK OUT [--stop REASON]."""
import datetime
import json
import os
import sys
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import step_report  # noqa: E402  (beside this file)

work, out = sys.argv[1], sys.argv[2]
stop = sys.argv[4] if len(sys.argv) > 4 and sys.argv[3] == "--stop" else None


def read(*parts):
    try:
        with open(os.path.join(work, *parts), errors="replace") as f:
            return f.read().strip()
    except OSError:
        return ""


def jsonl(name):
    """The JSON objects of a file in WORK, one per line; lines that do not parse are skipped."""
    rows = []
    for line in read(name).splitlines():
        try:
            rows.append(json.loads(line))
        except ValueError:
            pass
    return rows


def stages():
    rows = [line.split("\t") for line in read("stages.tsv").splitlines() if line]
    if not rows:
        return "(no stages run)\n"
    lines = ["| stage | exit | seconds | note |", "|---|---:|---:|---|"]
    lines += [f"| {r[0]} | {r[1]} | {r[2]} | {r[3] if len(r) > 3 else ''} |" for r in rows]
    return "\n".join(lines) + "\n"


def junit():
    path = os.path.join(work, "junit", "TEST-junit-jupiter.xml")
    if not os.path.exists(path):
        return "no JUnit XML report (the stage did not run or crashed; see stages.log)\n"
    cases = ET.parse(path).getroot().iter("testcase")
    passed, failed, skipped = [], [], []
    for c in cases:
        name = f"{c.get('classname')}.{c.get('name')}"
        bad = c.find("failure") if c.find("failure") is not None else c.find("error")
        skip = c.find("skipped")
        if bad is not None:
            failed.append((name, (bad.get("message") or bad.text or "").strip().splitlines()[:3]))
        elif skip is not None:
            skipped.append((name, (skip.get("message") or skip.text or "").strip().splitlines()[:2]))
        else:
            passed.append(name)
    text = f"**{len(passed)} passed, {len(failed)} failed, {len(skipped)} skipped**\n\n"
    text += "".join(f"- FAILED `{n}`: {' / '.join(m)}\n" for n, m in failed)
    text += "".join(f"- skipped `{n}`: {' / '.join(m)}\n" for n, m in skipped)
    text += "".join(f"- passed `{n}`\n" for n in passed)
    return text


def flash_table():
    """The flash kernels' parity checks, their times beside PyTorch's, and jgpt / PyTorch time ratios (bf16)."""
    md = ["| check | out | lse | dqkv | ok |", "|---|---:|---:|---:|---|"]
    for r in jsonl("flash-check.jsonl"):
        md.append(f"| {r.get('check')} | {r.get('out')} | {r.get('lse')} | {r.get('dqkv', '-')} | {'yes' if r.get('ok') else 'NO'} |")
    if len(md) == 2:
        md = ["(no parity results; see stages.log)"]
    rows = jsonl("flash.jsonl")
    if not rows:
        return "\n".join(md + ["", "(no timings; see stages.log)"])
    md += ["", "| implementation | pass | ms | TFLOP/s |", "|---|---|---:|---:|"]
    ms = {}
    for r in rows:
        if "error" in r:
            md.append(f"| {r.get('impl')} | - | - | {r['error']} |")
            continue
        parts = "".join(f", {k[3:]} {r[k]}" for k in ("ms_delta", "ms_dkdv", "ms_dq") if k in r)
        md.append(f"| {r.get('impl')} | {r.get('pass')} | {r.get('ms')}{' (' + parts[2:] + ')' if parts else ''} "
                  f"| {r.get('tflops')} |")
        ms[(r.get("impl"), r.get("pass"))] = r.get("ms")
    md.append("")
    for p in ("forward", "backward"):
        mine, theirs = ms.get(("jgpt flash bf16 (mma.sync)", p)), ms.get(("torch sdpa flash bf16", p))
        if mine and theirs:
            md.append(f"- bf16 {p}: jgpt / PyTorch SDPA flash time = {mine / theirs:.2f} (the issue expects <= 1.3)")
    return "\n".join(md)


def decode_table():
    """Tokens/s of the graph-replayed and the eager steps at batch 1 and N, and the graph's gain (median rounds)."""
    rows = [json.loads(l) for l in read("decode.jsonl").splitlines() if l.startswith("{")]
    if not rows:
        return ""
    r = rows[-1]
    out = ["| batch | graph replay tok/s | eager tok/s | graph / eager |", "|---:|---:|---:|---:|"]
    for key, batch in (("b1", 1), ("bn", r.get("batch"))):
        g, e = r.get(f"decode_tok_s_{key}"), r.get(f"decode_tok_s_{key}_eager")
        gain = f"{g / e:.2f}" if g and e else "-"
        out.append(f"| {batch} | {g} | {e} | {gain} |")
    out += ["", f"graph replay happened: {r.get('graph_replay')}; first token {r.get('first_token_s')} s from process start", ""]
    return "\n".join(out)


def main():
    md = ["# jgpt GPU check", ""]
    md.append(f"- date: {datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds')}")
    md.append(f"- commit: {read('commit') or 'unknown'}")
    md.append(f"- device: {read('device') or read('gpus') or 'none'}")
    md += [f"- {line}" for line in read("env").splitlines()]
    if stop:
        md += ["", f"**{stop}**"]
    md += ["", "## Stages", "", stages()]
    if stop:
        md.append("Preparation only; see stages.log.")
    else:
        md += ["## GPU tests (JUnit, tag gpu)", "", junit()]
        md += step_report.sections(work)
        md += ["", "## Flash attention kernels vs PyTorch (64x12x1024x64, causal)", "", flash_table(), ""]
        md += ["", "## Decoding (GPT-2 small, KV cache, greedy; bench-generate --device cuda)", "", decode_table(), "```json"]
        md += [l for l in read("decode.jsonl").splitlines() if l.startswith("{")] or ["(no results; see stages.log)"]
        md += ["```", ""]
        md.append("Files here: " + ", ".join(sorted(os.listdir(out))))
    with open(os.path.join(out, "gpu-report.md"), "w") as f:
        f.write("\n".join(md) + "\n")


main()
