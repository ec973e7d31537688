#!/usr/bin/env python3
"""Prints the history benchmark's table: Emporium beside PostgreSQL."""
import glob
import os
import re
import sys

work, config = sys.argv[1], sys.argv[2]


def fields(line):
    return dict(re.findall(r"(\w+)=([\w.]+)", line))


ours = {}
for line in open(os.path.join(work, "emporium.txt")):
    name = line.split(" ", 1)[0]
    ours[name] = fields(line)

pg = fields(open(os.path.join(work, "pg.txt")).read())


def pg_latencies(name):
    values = []
    for path in glob.glob(os.path.join(work, f"pgb-{name}", "pgbench_log.*")):
        for row in open(path):
            parts = row.split()
            if len(parts) >= 3:
                values.append(int(parts[2]) / 1000.0)
    values.sort()
    if not values:
        return None
    at = lambda q: values[min(len(values) - 1, int(len(values) * q))]
    return at(0.5), at(0.99), len(values)


replay = ours["replay_full"]
events = int(replay["events"])
pg_seconds = int(pg["nanoseconds"]) / 1e9
print()
print(f"History benchmark ({config} build), {events:,} events")
print(f"{'workload':<44}{'Emporium':>22}{'PostgreSQL':>22}  target")
print(f"{'full replay to the head (events/s)':<44}{float(replay['events_per_second']):>22,.0f}"
      f"{events / pg_seconds:>22,.0f}  >= 500,000 (PG: rows read, not folded)")
for name, label, script, target in [("order_at_time", "one order at a past time p50 / p99 (ms)", "order", "p99 <= 1 ms"),
                                    ("audit_actor_first_page", "audit by actor, first page p50 / p99 (ms)", "audit", "p99 <= 10 ms")]:
    mine = ours[name]
    theirs = pg_latencies(script)
    theirs_text = f"{theirs[0]:.3f} / {theirs[1]:.3f}" if theirs else "-"
    print(f"{label:<44}{mine['p50_ms'] + ' / ' + mine['p99_ms']:>22}{theirs_text:>22}  {target}")
