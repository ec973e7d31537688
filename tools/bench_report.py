"""Prints the side-by-side table of tools/bench-log.sh (LMDB vs PostgreSQL)."""
import glob
import os
import re
import sys

work, seconds, scan_events, scan_start, scan_end = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
smoke = len(sys.argv) > 6 and sys.argv[6] != "release"
EVENTS_PER_TRANSACTION = {"single": 1, "concurrent": 1, "batch": 100}
TARGETS = {  # events/s, and the least ratio against PostgreSQL
    "single": (0, 2.0),
    "concurrent": (100_000, 8.0),
    "batch": (300_000, 2.0),
    "scan": (1_000_000, None),
}


def lmdb_results(backend="lmdb", file=None):
    results = {}
    for line in open(os.path.join(work, f"{file or backend}.txt")):
        match = re.match(backend + r" ([\w-]+) (.*)", line)
        if match:
            results[match.group(1)] = {k: float(v) for k, v in re.findall(r"(\w+)=([\d.]+)", match.group(2))}
    return results


def percentile(values, fraction):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * fraction))] if values else 0.0


def pg_results():
    results = {}
    for name, per_transaction in EVENTS_PER_TRANSACTION.items():
        latencies = []
        for log in glob.glob(os.path.join(work, f"pgb-{name}", "pgbench_log.*")):
            for line in open(log):
                fields = line.split()
                if len(fields) >= 3:
                    latencies.append(float(fields[2]))
        summary = open(os.path.join(work, f"pgb-{name}", "summary.txt")).read()
        tps = float(re.search(r"tps = ([\d.]+)", summary).group(1))
        results[name] = {"events_per_s": tps * per_transaction, "p50_us": percentile(latencies, 0.5), "p99_us": percentile(latencies, 0.99)}
    results["scan"] = {"events_per_s": scan_events / ((scan_end - scan_start) / 1e9)}
    return results


lmdb, pg, pglog = lmdb_results(), pg_results(), lmdb_results("pglog")
# One appender alternating append by append between a one-flush and a two-flush log (64 appenders: half a second on
# each in turn), so that both meet the disk at the same moments.
paired = os.path.exists(os.path.join(work, "paired.txt"))
one_flush = {k.removeprefix("paired-"): v for k, v in lmdb_results("one-flush", "paired").items()} if paired else {}
two_flushes = {k.removeprefix("paired-"): v for k, v in lmdb_results("two-flushes", "paired").items()} if paired else {}
rows = [
    ("single", "1 appender, 1 event per append"),
    ("concurrent", "64 concurrent appenders, 1 event each"),
    ("batch", "1 appender, 100 events per append"),
    ("scan", f"full scan + decode of {scan_events:,} events"),
]
print()
print(
    f"| workload ({seconds:g} s each) | Emporium LMDB events/s | p50 / p99 µs | PostgreSQL events/s | p50 / p99 µs | ratio "
    "| side by side: one flush events/s | p50 / p99 µs | two flushes events/s | p50 / p99 µs | one ÷ two |"
)
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
verdicts = []
for key, label in rows:
    ours, theirs = lmdb.get(key, {}), pg.get(key, {})
    ours_rate, their_rate = ours.get("events_per_s", 0), theirs.get("events_per_s", 0)
    ratio = ours_rate / their_rate if their_rate else float("nan")
    lat = lambda r: f"{r['p50_us']:.0f} / {r['p99_us']:.0f}" if "p50_us" in r else "–"
    one, two = one_flush.get(key, {}), two_flushes.get(key, {})
    one_rate, two_rate = one.get("events_per_s", 0), two.get("events_per_s", 0)
    versus_two = f"{one_rate / two_rate:.2f}×" if two_rate else "–"
    rate = lambda r: f"{r:,.0f}" if r else "–"
    print(
        f"| {label} | {ours_rate:,.0f} | {lat(ours)} | {their_rate:,.0f} | {lat(theirs)} | {ratio:.1f}× "
        f"| {rate(one_rate)} | {lat(one)} | {rate(two_rate)} | {lat(two)} | {versus_two} |"
    )
    if key in TARGETS:
        floor, least_ratio = TARGETS[key]
        met = ours_rate >= floor and (least_ratio is None or ratio >= least_ratio)
        want = (f"≥ {floor:,} events/s" if floor else "") + (f"{' and ' if floor else ''}≥ {least_ratio:g}× PostgreSQL" if least_ratio else "")
        # The log issue's targets (resolved long since): the README's Benchmarks say where each stands on this machine and
        # why (the disk's flushes, the CPU before any durability cost), so a miss is not news of this run.
        verdicts.append(
            f"log issue's target {key} (resolved; README, Benchmarks): {want}: {'met' if met else 'NOT met'} "
            f"({ours_rate:,.0f}/s, {ratio:.1f}×)")
    if key == "single" and "p99_us" in ours and "p99_us" in theirs:
        met = ours["p99_us"] <= theirs["p99_us"]
        verdicts.append(
            f"log issue's target single p99 (resolved; README, Benchmarks) ≤ PostgreSQL's: {'met' if met else 'NOT met'} "
            f"({ours['p99_us']:.0f} µs vs {theirs['p99_us']:.0f} µs)"
        )
print()
print("The Emporium log on PostgreSQL (the log of record of a cluster) against the classic table, same server:")
print()
print("| workload | Emporium on PostgreSQL events/s | p50 / p99 µs | classic table events/s | ratio |")
print("|---|---:|---:|---:|---:|")
for key, label in rows[:3]:
    ours, theirs = pglog.get(key, {}), pg.get(key, {})
    ours_rate, their_rate = ours.get("events_per_s", 0), theirs.get("events_per_s", 0)
    ratio = ours_rate / their_rate if their_rate else float("nan")
    latency = f"{ours['p50_us']:.0f} / {ours['p99_us']:.0f}" if "p50_us" in ours else "–"
    print(f"| {label} | {ours_rate:,.0f} | {latency} | {their_rate:,.0f} | {ratio:.1f}× |")
print()
# The same comparison in alternating rounds, each side first in every other one, so that the machine's drift between
# minutes (±20-50% here) falls on both sides alike: the target is the issue's, a ratio in the same run (the rounds'
# events over their transactions), and how many rounds held it on their own is said beside it. A round where either
# side printed no figure (a run that failed) fails the target, whatever the others gave.
# Each round also says what an event cost in CPU on each side: PostgreSQL's processes, and the client (the Emporium node
# with its 64 appenders; pgbench with its 64 clients), in µs per event.
def read_rounds(name):
    """Each round of a rounds file: (number, Emporium events/s, classic tx/s) and the four CPU costs (µs per event)."""
    rounds, costs = [], []
    path = os.path.join(work, name)
    if not os.path.exists(path):
        return rounds, costs
    for line in open(path):
        match = re.match(r"round (\d+) pglog=([\d.]*) classic=([\d.]*)", line)
        if match:
            rounds.append((int(match.group(1)), float(match.group(2) or 0), float(match.group(3) or 0)))
            fields = dict(re.findall(r"(\w+_us)=([\d.]+)", line))
            costs.append(tuple(float(fields[k]) if k in fields else None
                               for k in ("pglog_pg_us", "classic_pg_us", "pglog_client_us", "classic_client_us")))
    return rounds, costs


def print_rounds(rounds, costs, heading):
    """The rounds' table and the mean CPU per event; answers each round's ratio and the ratio over all."""
    print(f"| {heading} | Emporium on PostgreSQL events/s | classic table events/s | ratio "
          "| PostgreSQL CPU µs/event, Emporium | classic | client CPU µs/event, Emporium node | pgbench |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    ratios = [ours_rate / their_rate if ours_rate and their_rate else 0.0 for _, ours_rate, their_rate in rounds]
    def us(value):
        return "–" if value is None else f"{value:.1f}"
    for (number, ours_rate, their_rate), ratio, cost in zip(rounds, ratios, costs):
        print(f"| {number} | {ours_rate:,.0f} | {their_rate:,.0f} | {ratio:.1f}× | " + " | ".join(us(c) for c in cost) + " |")
    overall = sum(r[1] for r in rounds) / (sum(r[2] for r in rounds) or float("nan"))
    print()
    measured = [c for c in costs if c[0] and c[1]]
    if measured:
        ours_pg = sum(c[0] for c in measured) / len(measured)
        theirs_pg = sum(c[1] for c in measured) / len(measured)
        print(f"PostgreSQL's CPU per event, mean of the rounds: {ours_pg:.1f} µs for the Emporium log, {theirs_pg:.1f} µs for "
              f"the classic table ({theirs_pg / ours_pg:.1f}× as much)")
        print()
    return ratios, overall


rounds, costs = read_rounds("pgrounds.txt")
if rounds:
    ratios, overall = print_rounds(rounds, costs, "round (64 appenders, alternating)")
    met_in = sum(ratio >= 3 for ratio in ratios)
    failed = sum(not ours_rate or not their_rate for _, ours_rate, their_rate in rounds)
    verdicts.append(
        f"target PostgreSQL log, 64 appenders: ≥ 3× the classic table over the run's alternating rounds: "
        f"{'met' if overall >= 3 and not failed else 'NOT met'} ({overall:.1f}× over all;"
        f"{f' {failed} rounds failed;' if failed else ''} {met_in} of {len(ratios)} rounds ≥ 3× on their own, "
        f"{min(ratios):.1f}–{max(ratios):.1f}×)"
    )
else:
    verdicts.append("target PostgreSQL log, 64 appenders: ≥ 3× the classic table over the run's alternating rounds: NOT measured (no round)")
# A shop's shape (a stream per append): said beside the target, which is stated for the appenders' own streams.
shop, shop_costs = read_rounds("pgshop.txt")
if shop:
    shop_ratios, shop_overall = print_rounds(shop, shop_costs, "round, a stream per append (a shop's shape)")
    verdicts.append(
        f"in a shop's shape (a stream per append, 64 appenders): {min(shop_ratios):.1f}–{max(shop_ratios):.1f}× the classic "
        f"table, {shop_overall:.1f}× over all (not the target's shape)"
    )
if smoke:
    print("smoke run (debug build, short runs): the tool works; these figures are not measurements")
else:
    for verdict in verdicts:
        print(verdict)
