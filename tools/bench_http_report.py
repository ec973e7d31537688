"""Prints the table of tools/bench-http.sh from its three wrk outputs (buy now, pairs, echo)."""
import os
import re
import sys

connections = os.environ.get("BENCH_CONNECTIONS", "64")


def parse(path):
    text = open(path).read()
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    def latency(p):
        match = re.search(rf"\s{p}%\s+([\d.]+)(us|ms|s)", text)
        if not match:
            return float("nan")
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    total = re.search(r"(\d+) requests in", text)
    ticks = re.search(r"server CPU ticks: (\d+) of (\d+) per second", text)
    count = int(total.group(1)) if total else 0
    cpu_us = float(ticks.group(1)) / float(ticks.group(2)) * 1e6 / count if ticks and count else float("nan")
    return rate, latency(50), latency(99), int(errors.group(1)) if errors else 0, count, cpu_us

def check(paths):
    """The smoke's verdict (tools/bench-http.sh --smoke): every run completed requests, none answered outside 2xx."""
    failed = []
    for path in paths:
        try:
            rate, _, _, errors, count, _ = parse(path)
        except (OSError, AttributeError):  # no output, or wrk's without its summary
            failed.append(f"{path}: no wrk summary")
            continue
        if count == 0 or rate == 0 or errors > 0:
            failed.append(f"{path}: {count} requests, {errors} answered outside 2xx")
    for line in failed:
        print(f"FAILED: {line}", file=sys.stderr)
    print(f"{'FAILED' if failed else 'OK'}: {len(paths) - len(failed)} of {len(paths)} runs answered every request with 2xx")
    return not failed


if __name__ == "__main__" and sys.argv[1:2] == ["--check"]:
    sys.exit(0 if check(sys.argv[2:]) else 1)
elif __name__ == "__main__":
    buynow, pairs, echo = parse(sys.argv[1]), parse(sys.argv[2]), parse(sys.argv[3])
    pair_orders = pairs[0] / 2
    print()
    print(f"| workload (wrk, {connections} connections) | requests/s | PlaceOrder/s | p50 ms | p99 ms | server CPU µs/request | non-2xx |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    print(f"| PlaceOrder, buy now (durable) | {buynow[0]:,.0f} | {buynow[0]:,.0f} | {buynow[1]:.2f} | {buynow[2]:.2f} | {buynow[5]:.0f} | {buynow[3]} of {buynow[4]} |")
    print(f"| AddToCart + PlaceOrder pairs (durable) | {pairs[0]:,.0f} | {pair_orders:,.0f} | {pairs[1]:.2f} | {pairs[2]:.2f} | {pairs[5]:.0f} | {pairs[3]} of {pairs[4]} |")
    print(f"| bare Hummingbird JSON echo | {echo[0]:,.0f} | – | {echo[1]:.2f} | {echo[2]:.2f} | – | {echo[3]} |")
    print()
    print(f"buy now: PlaceOrder/s is {buynow[0] / echo[0] * 100:.1f}% of the echo ceiling (target >= 30%); "
          f"pairs: {pair_orders / echo[0] * 100:.1f}% (all their commands: {pairs[0] / echo[0] * 100:.1f}%)")
    met = buynow[0] >= 15_000 and buynow[2] <= 10
    print(f"target: >= 15,000 PlaceOrder/s with p99 <= 10 ms: {'met' if met else 'NOT met'}")
