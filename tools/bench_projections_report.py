#!/usr/bin/env python3
"""Prints the read-model benchmark's table: Emporium beside PostgreSQL full-text search."""
import glob
import os
import re
import sys

work, config = sys.argv[1], sys.argv[2]


def fields(line):
    return dict(re.findall(r"(\w+)=([\w.,-]+)", line))


ours = {}
for line in open(os.path.join(work, "emporium.txt")):
    if line.startswith("#") or line.startswith("model"):
        continue
    ours[line.split(" ", 1)[0]] = fields(line)

values = []
for path in glob.glob(os.path.join(work, "pgb-search", "pgbench_log.*")):
    for row in open(path):
        parts = row.split()
        if len(parts) >= 3:
            values.append(int(parts[2]) / 1000.0)
values.sort()
at = lambda q: values[min(len(values) - 1, int(len(values) * q))] if values else float("nan")

rebuild = ours["rebuild_all"]
print()
print(f"Read-model benchmark ({config} build), {int(rebuild['events']):,} events")
print(f"{'workload':<46}{'Emporium':>20}{'PostgreSQL FTS':>20}  target")
print(f"{'rebuild all four projections (events/s)':<46}{float(rebuild['events_per_second']):>20,.0f}{'-':>20}  >= 200,000")
catch_up = ours["catch_up_empty"]
print(f"{'  (an empty store catching up, events/s)':<46}{float(catch_up['events_per_second']):>20,.0f}{'-':>20}")
search = ours["search"]
print(f"{'search p50 / p99 (ms)':<46}{search['p50_ms'] + ' / ' + search['p99_ms']:>20}{f'{at(0.5):.3f} / {at(0.99):.3f}':>20}  p99 <= 5 ms")
suggest = ours["suggest"]
print(f"{'suggest p50 / p99 (ms)':<46}{suggest['p50_ms'] + ' / ' + suggest['p99_ms']:>20}{'-':>20}  p99 <= 2 ms")
recommend = ours["recommend"]
print(f"{'recommendations p50 / p99 (ms)':<46}{recommend['p50_ms'] + ' / ' + recommend['p99_ms']:>20}{'-':>20}  p99 <= 2 ms")
print()
print("Emporium's search also applies filters, facets, typo tolerance, prefix matching and highlights; the PostgreSQL query")
print("is a plain ranked tsvector match (no typos, no prefixes, no facets; CJK runs are single tokens in the 'simple' parser).")
