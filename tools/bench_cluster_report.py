"""Prints the cluster table of tools/bench-http.sh --cluster: buy-now PlaceOrder on
one LMDB node and one node over PostgreSQL in turns (three rounds each), then on
2 and 3 nodes over PostgreSQL, from one run; and the CPU ratio of the first two,
per round and over all."""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(__file__))
import bench_http_report  # noqa: E402

work = sys.argv[1]


connections = os.environ.get("BENCH_CONNECTIONS", "64")


def parse(path):
    rate, p50, p99, errors, total, cpu = bench_http_report.parse(path)
    text = open(path).read()
    transactions = sum(int(v) for v in re.findall(r"transactions=(\d+)", text))
    events = sum(int(v) for v in re.findall(r"events=(\d+)", text))
    return rate, p50, p99, cpu, errors, total, transactions, events


rounds = (1, 2, 3)
rows = []
for r in rounds:
    rows.append((f"round {r}: 1 node, LMDB (embedded)", parse(f"{work}/cluster-lmdb-{r}.txt")))
    rows.append((f"round {r}: 1 node, PostgreSQL log of record", parse(f"{work}/cluster-1-{r}.txt")))
rows += [(f"{n} nodes, PostgreSQL log of record", parse(f"{work}/cluster-{n}.txt")) for n in (2, 3)]
print()
print(f"| buy now, wrk {connections} connections | PlaceOrder/s | p50 ms | p99 ms | node CPU µs / PlaceOrder | events / PostgreSQL transaction | non-2xx |")
print("|---|---:|---:|---:|---:|---:|---:|")
for label, (rate, p50, p99, cpu, errors, total, transactions, events) in rows:
    per_tx = f"{events / transactions:.1f}" if transactions else "–"
    print(f"| {label} | {rate:,.0f} | {p50:.2f} | {p99:.2f} | {cpu:.0f} | {per_tx} | {errors} of {total} |")
lmdb = [rows[2 * i][1] for i in range(len(rounds))]
node = [rows[2 * i + 1][1] for i in range(len(rounds))]
ratios = [n[3] / l[3] for l, n in zip(lmdb, node)]


def overall(runs):  # CPU µs per PlaceOrder over all rounds: their CPU over their orders
    return sum(run[3] * run[5] for run in runs) / sum(run[5] for run in runs)


ratio = overall(node) / overall(lmdb)
print()
print("node CPU per PlaceOrder, 1 PostgreSQL node / LMDB, per round: " + ", ".join(f"{r:.2f}×" for r in ratios))
print(f"over all rounds: {overall(node):.0f} / {overall(lmdb):.0f} µs = {ratio:.2f}× (target ≤ 1.5×): {'met' if ratio <= 1.5 else 'NOT met'}")
