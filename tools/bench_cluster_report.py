"""Prints the cluster table of tools/bench-http.sh --cluster: buy-now PlaceOrder on
one LMDB node, then on 1, 2 and 3 nodes over PostgreSQL, from one run."""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(__file__))
import bench_http_report  # noqa: E402

work = sys.argv[1]


def parse(path):
    rate, p50, p99, errors, total, cpu = bench_http_report.parse(path)
    text = open(path).read()
    transactions = sum(int(v) for v in re.findall(r"transactions=(\d+)", text))
    events = sum(int(v) for v in re.findall(r"events=(\d+)", text))
    return rate, p50, p99, cpu, errors, total, transactions, events


rows = [("1 node, LMDB (embedded)", parse(f"{work}/cluster-lmdb.txt"))]
rows += [(f"{n} node{'s' if n > 1 else ''}, PostgreSQL log of record", parse(f"{work}/cluster-{n}.txt")) for n in (1, 2, 3)]
print()
print("| buy now, wrk 64 connections | PlaceOrder/s | p50 ms | p99 ms | node CPU µs / PlaceOrder | events / PostgreSQL transaction | non-2xx |")
print("|---|---:|---:|---:|---:|---:|---:|")
for label, (rate, p50, p99, cpu, errors, total, transactions, events) in rows:
    per_tx = f"{events / transactions:.1f}" if transactions else "–"
    print(f"| {label} | {rate:,.0f} | {p50:.2f} | {p99:.2f} | {cpu:.0f} | {per_tx} | {errors} of {total} |")
lmdb_cpu = rows[0][1][3]
one = rows[1][1][3]
print()
print(f"node CPU per PlaceOrder, 1 PostgreSQL node / LMDB: {one / lmdb_cpu:.2f}× (target ≤ 1.5×): {'met' if one / lmdb_cpu <= 1.5 else 'NOT met'}")
