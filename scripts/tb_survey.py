#!/usr/bin/env python3
"""Loads every Tinybird project under a folder with the command line and tallies what loads.

    python3 scripts/tb_survey.py DIR [--bin target/release/llm-metrics] [-v] [--run]

A project is a folder holding `.datasource` or `.pipe` files (the parent of `datasources/`,
`pipes/`, `endpoints/`, `materializations/`, `copies/`, `sinks/`, `connections/` or
`includes/` when the files are in one of those). Each is loaded with
`llm-metrics ingest --project PROJECT` over an empty stream; the problems it prints
(`FILE:LINE: message`) say which files did not load. Printed: per project, datasources and
pipes loaded of those it has; the totals; and the load errors grouped by cause (quoted names
and numbers blanked), most files first (`-v`: up to three files of each). With `--run`, every
pipe that loaded and is not materialized, copy or sink is also run with
`llm-metrics pipe NAME --project PROJECT` and no parameters, its refusals grouped the same way
(a pipe that needs a parameter says so).
"""

import collections
import os
import re
import subprocess
import sys
import tempfile

KINDS = {
    "datasources",
    "pipes",
    "endpoints",
    "materializations",
    "copies",
    "sinks",
    "connections",
    "includes",
}


def arg(name, default):
    if name in sys.argv:
        i = sys.argv.index(name)
        if i + 1 < len(sys.argv):
            return sys.argv[i + 1]
    return default


def projects(root):
    found = set()
    for d, _, files in os.walk(root):
        if any(f.endswith((".datasource", ".pipe")) for f in files):
            found.add(os.path.dirname(d) if os.path.basename(d) in KINDS else d)
    # A project holding another (a folder of examples) is left to the inner ones.
    return sorted(r for r in found if not any(o != r and o.startswith(r + "/") for o in found))


def cause(message):
    m = re.sub(r"'[^']*'", "'…'", message)
    m = re.sub(r"`[^`]*`", "`…`", m)
    return re.sub(r"\d+", "N", m)[:110]


def files_of(project, ext):
    out = []
    for d, _, fs in os.walk(project):
        if "/." in d[len(project):]:
            continue
        out += [os.path.relpath(os.path.join(d, f), project) for f in fs if f.endswith(ext)]
    return out


def main():
    if len(sys.argv) < 2 or sys.argv[1].startswith("-"):
        print(__doc__)
        return 2
    root = sys.argv[1]
    binary = arg("--bin", "target/release/llm-metrics")
    verbose = "-v" in sys.argv
    with tempfile.NamedTemporaryFile(suffix=".ndjson") as stream:
        return survey(root, binary, verbose, stream.name)


def survey(root, binary, verbose, empty):
    totals = collections.Counter()
    causes = collections.Counter()
    examples = collections.defaultdict(list)
    roots = projects(root)
    for r in roots:
        ds, ps = files_of(r, ".datasource"), files_of(r, ".pipe")
        p = subprocess.run([binary, "ingest", "--project", r, empty], capture_output=True, text=True)
        bad = collections.defaultdict(list)
        for line in p.stderr.splitlines():
            m = re.match(r"llm-metrics: (.*?):(\d+): (.*)", line)
            if m:
                bad[os.path.relpath(m.group(1), r)].append(m.group(3))
        ds_ok = len([f for f in ds if f not in bad])
        ps_ok = len([f for f in ps if f not in bad])
        totals.update(projects=1, ds=len(ds), ds_ok=ds_ok, pipes=len(ps), pipes_ok=ps_ok)
        print("%-70s datasources %d/%d pipes %d/%d" % (os.path.relpath(r, root), ds_ok, len(ds), ps_ok, len(ps)))
        for f, messages in bad.items():
            c = cause(messages[0])
            causes[c] += 1
            examples[c].append(f"{os.path.relpath(r, root)}/{f}: {messages[0][:200]}")
    print()
    print(
        "projects %d  datasources %d/%d  pipes %d/%d"
        % (totals["projects"], totals["ds_ok"], totals["ds"], totals["pipes_ok"], totals["pipes"])
    )
    for c, n in causes.most_common():
        print(f"{n:4d}  {c}")
        if verbose:
            for e in examples[c][:3]:
                print("        ", e)
    if "--run" not in sys.argv:
        return 0
    ran = answered = 0
    run_causes = collections.Counter()
    run_examples = collections.defaultdict(list)
    for r in roots:
        for f in files_of(r, ".pipe"):
            with open(os.path.join(r, f)) as fh:
                text = fh.read()
            if re.search(r"(?im)^\s*TYPE\s+(materialized|copy|sink)\b", text):
                continue
            name = os.path.basename(f)[: -len(".pipe")]
            p = subprocess.run(
                [binary, "pipe", name, "--project", r, empty], capture_output=True, text=True
            )
            ran += 1
            if p.returncode == 0:
                answered += 1
                continue
            lines = [l for l in p.stderr.splitlines() if not re.match(r"llm-metrics: .*?:\d+: ", l)]
            message = lines[-1] if lines else p.stderr.strip()[-200:]
            c = cause(message)
            run_causes[c] += 1
            run_examples[c].append(f"{os.path.relpath(r, root)}/{name}: {message[:200]}")
    print()
    print(f"pipes run with no parameters: {answered}/{ran} answered")
    for c, n in run_causes.most_common():
        print(f"{n:4d}  {c}")
        if verbose:
            for e in run_examples[c][:3]:
                print("        ", e)
    return 0


if __name__ == "__main__":
    sys.exit(main())
