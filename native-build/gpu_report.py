#!/usr/bin/env python3
"""Writes gpu-check.sh's markdown report from the files its stages left in WORK.
Usage: gpu_report.py WORK OUT [--stop REASON]. Also writes OUT/bench.json (the bench's JSON object)."""
import datetime
import json
import os
import re
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


def bench_json(folder="bench"):
    """A bench's JSON object: all of stdout if it parses, else its last line that does."""
    raw = read(folder, "stdout")
    candidates = [raw] + [l for l in reversed(raw.splitlines()) if l.startswith("{")]
    for c in candidates:
        try:
            value = json.loads(c)
            if isinstance(value, dict):
                return value
        except ValueError:
            pass
    return None


def tokens_per_s(d):
    for key in ("tokens_per_s", "tokens_per_second", "tok_per_s"):
        if d and isinstance(d.get(key), (int, float)):
            return float(d[key])
    return None


def profile_table(bench):
    """A table the bench put in its JSON, else the text table it printed (header line to 'total' line)."""
    for key in ("profile_markdown", "profile_table", "profile"):
        if bench and isinstance(bench.get(key), str):
            value = bench[key]
            return value if value.lstrip().startswith("|") else f"```\n{value}\n```"
    text = read("bench", "stderr") + "\n" + read("bench", "stdout")
    m = re.search(r"^.*\bcalls\b.*$(?:\n.*)*?^\s*\**total\b.*$", text, re.M)
    if m:
        return m.group(0) if m.group(0).lstrip().startswith("|") else f"```\n{m.group(0)}\n```"
    return "no profiler table found in the bench output"


def flash_table():
    rows = jsonl("flash.jsonl")
    if not rows:
        return "(no results; see stages.log)"
    md = ["| implementation | pass | ms | TFLOP/s |", "|---|---|---:|---:|"]
    for r in rows:
        if "error" in r:
            md.append(f"| {r.get('impl')} | - | - | {r['error']} |")
        else:
            md.append(f"| {r.get('impl')} | {r.get('pass')} | {r.get('ms')} | {r.get('tflops')} |")
    return "\n".join(md)


def main():
    bench = bench_json()
    if bench is not None:
        with open(os.path.join(out, "bench.json"), "w") as f:
            json.dump(bench, f, indent=2)
    torch_runs = jsonl("torch.jsonl")

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
        md += ["## jgpt bench", "", "```json", json.dumps(bench, indent=2) if bench else
               "(no JSON from the bench; see stages.log)", "```", ""]
        bench_tf32 = bench_json("bench-tf32")
        md += ["## jgpt bench with --tf32", "", "```json", json.dumps(bench_tf32, indent=2) if bench_tf32 else
               "(no JSON from the TF32 bench; see stages.log)", "```", ""]
        md += ["## PyTorch eager (same model)", "", "```json"]
        md += [json.dumps(r) for r in torch_runs] or ["(no results; see stages.log)"]
        md += ["```", ""]
        ours = tokens_per_s(bench)
        md += ["## Throughput ratio (jgpt / PyTorch, tokens/s)", ""]
        for r in torch_runs:
            theirs = tokens_per_s(r)
            mine = tokens_per_s(bench_tf32) if r.get("mode") == "tf32" else ours
            ratio = f"{mine / theirs:.3f}" if mine and theirs else "n/a"
            md.append(f"- jgpt {r.get('mode')} vs torch {r.get('mode')}: {ratio} (jgpt {mine}, torch {theirs})")
        md += ["", "## Decoding (GPT-2 small, KV cache, greedy; bench-generate --device cuda)", "", "```json"]
        md += [l for l in read("decode.jsonl").splitlines() if l.startswith("{")] or ["(no results; see stages.log)"]
        md += ["```", ""]
        md += ["", "## Flash attention kernels vs PyTorch (64x12x1024x64, causal)", "", flash_table(), ""]
        md += ["", "## Profile", "", profile_table(bench), ""]
        md += step_report.sections(work)
        md.append("Files here: " + ", ".join(sorted(os.listdir(out))))
    with open(os.path.join(out, "gpu-report.md"), "w") as f:
        f.write("\n".join(md) + "\n")


main()
