"""Prints the table of tools/bench-http.sh from two wrk outputs."""
import re
import sys

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
    return rate, latency(50), latency(99), int(errors.group(1)) if errors else 0, int(total.group(1)) if total else 0

engine, echo = parse(sys.argv[1]), parse(sys.argv[2])
orders = engine[0] / 2
print()
print("| workload (wrk, 64 connections) | requests/s | PlaceOrder/s | p50 ms | p99 ms | non-2xx |")
print("|---|---:|---:|---:|---:|---:|")
print(f"| AddToCart + PlaceOrder pairs (durable) | {engine[0]:,.0f} | {orders:,.0f} | {engine[1]:.2f} | {engine[2]:.2f} | {engine[3]} of {engine[4]} |")
print(f"| bare Hummingbird JSON echo | {echo[0]:,.0f} | – | {echo[1]:.2f} | {echo[2]:.2f} | {echo[3]} |")
print()
print(f"PlaceOrder/s is {orders / echo[0] * 100:.1f}% of the echo ceiling; all commands answered: {engine[0] / echo[0] * 100:.1f}% of it")
print(f"target: >= 15,000 PlaceOrder/s with p99 <= 10 ms: {'met' if orders >= 15_000 and engine[2] <= 10 else 'NOT met'}")
