"""Faults under load on a replicated cluster (tools/cluster.sh start --ha --netns --seed; tools/cluster.sh ha-smoke runs
this). Customers place and pay orders through HAProxy, some of them in a flash sale of a goods with little stock, and
record every acknowledged (2xx) answer; each request is retried after a 503, a 502 or a dropped connection with the
same Idempotency-Key and X-Request-Id, as a client should. Meanwhile:

  - the primary's machine is lost (kill -9 of its Patroni and postmaster), once per seed, at a moment the seed picks;
    the lost member rejoins as a standby before the next;
  - the primary's postmaster alone is killed (kill -9), once per --postmaster-seeds seed: its Patroni restarts it in
    place or fails over;
  - both standbys are lost at once: the primary, alone, must acknowledge no commit (strict synchronous mode) until
    they rejoin, and a write sent meanwhile, retried after, happens once;
  - an engine node is killed with kill -9 and restarted;
  - the namespaced node's link to PostgreSQL goes down: it must refuse writes at once with 503 log_unavailable, serve
    reads marked stale, say `degraded` on /health, and catch up once the link is back.

Then: every acknowledged order and payment is in the log of record, no order is placed twice for one request, no
payment is captured twice, the flash sale did not sell more than its stock, the log of record verifies, and every
node's replica equals it. Prints a report (failover times, 503s, lost and duplicated commands) and, with --json,
writes it.

    python3 tools/failover.py --port 18080 --dir /var/tmp/emporium-cluster --log postgres://… --bin .build/release/emporium
"""
import argparse
import json
import random
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import uuid

from shop_client import call, check_replicas, error_code, get, listed_goods, login, request, wait_until_caught_up

parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
parser.add_argument("--port", type=int, required=True, help="HAProxy's HTTP port (nodes take the next ones)")
parser.add_argument("--dir", required=True, help="the cluster's directory (CLUSTER_DIR)")
parser.add_argument("--log", required=True, help="the log of record's URL")
parser.add_argument("--bin", required=True, help="the emporium binary")
parser.add_argument("--seeds", default="1,2,3", help="one primary failover per seed (comma separated; empty: none)")
parser.add_argument("--postmaster-seeds", default="7", help="one kill -9 of the primary's postmaster alone per seed")
parser.add_argument("--clients", type=int, default=6)
parser.add_argument("--flash-stock", type=int, default=25)
parser.add_argument("--no-isolation", action="store_true", help="skip losing both standbys")
parser.add_argument("--no-node-kill", action="store_true")
parser.add_argument("--no-partition", action="store_true")
parser.add_argument("--json", help="write the report here")
args = parser.parse_args()

shop = f"http://127.0.0.1:{args.port}"
nodes = int(open(f"{args.dir}/nodes").read())
netns_node = int(open(f"{args.dir}/netns").read()) if not args.no_partition else None
cluster_sh = ["tools/cluster.sh"]


def cluster(*command):
    return subprocess.run(cluster_sh + list(command), capture_output=True, text=True, check=True).stdout.strip()


def node_base(n):
    return f"http://10.213.1.2:{args.port + n}" if n == netns_node else f"http://127.0.0.1:{args.port + n}"


admin = login(shop, "admin@demo.emporium")
merchant = login(shop, "merchant1@demo.emporium")
goods = listed_goods(shop, admin)
for goods_id in goods:
    call(shop, {"type": "Restock", "data": {"goodsId": goods_id, "quantity": 100_000}}, admin)
flash = call(shop, {"type": "ListGoods", "data": {"title": "Flash sale 秒杀", "category": "tea", "price": 990,
                                                   "stock": args.flash_stock}}, merchant)["result"]["goodsId"]
customers = [login(shop, "alice@demo.emporium")] + [login(shop, f"customer{i}@demo.emporium") for i in range(1, 8)]

lock = threading.Lock()
stopping = threading.Event()
acks = []            # (attempt started, answered, kind): kind "order" only for a PlaceOrder's first attempt
refusals = {}        # code -> count (4xx answers: insufficient stock in the flash sale, …)
server_errors = {}   # any 5xx but 502/503/504 (a server error is never an answer)
retried = {}         # what made a client retry -> count
retry_times = []     # (when a retried attempt failed, its HTTP status or 0 for a dropped connection)
orders, payments, flash_orders = [], [], []


def note(table, key):
    with lock:
        table[key] = table.get(key, 0) + 1


def step(path, body, token, key, kind, request_id=None):
    """Sends one request until it is answered: its JSON on 2xx, None on a refusal (4xx). Every attempt carries the same
    Idempotency-Key and X-Request-Id (the correlation id of what it appends)."""
    headers = {"Idempotency-Key": key, "X-Request-Id": request_id or str(uuid.uuid4())}
    give_up = time.time() + 120
    first = True
    while time.time() < give_up:
        started = time.time()
        try:
            _, answer, _ = request(shop, path, body, token, headers, timeout=15)
            with lock:
                acks.append((started, time.time(), kind if first else "retry"))
            return answer
        except urllib.error.HTTPError as error:
            code = error_code(error)
            if error.code in (502, 503, 504) or code == "version_conflict":
                note(retried, code)
                with lock:
                    retry_times.append((time.time(), error.code))
                first = False
                time.sleep(0.2 + random.random() * 0.3)
                continue
            note(refusals, code)
            if error.code >= 500:
                note(server_errors, f"{error.code} {code}")
            return None
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError) as error:
            note(retried, type(error).__name__)
            with lock:
                retry_times.append((time.time(), 0))
            first = False
            time.sleep(0.2 + random.random() * 0.3)
    note(refusals, "gave_up")
    return None


def buyer(index):
    count = 0
    while not stopping.is_set():
        count += 1
        token = customers[(index + count) % len(customers)]
        item = flash if count % 4 == 0 else goods[(index * 7 + count) % len(goods)]
        key = f"{index}-{count}-{uuid.uuid4().hex[:8]}"
        placed = step("/v1/commands", {"type": "PlaceOrder", "data": {"items": [{"goodsId": item, "quantity": 1}]}},
                      token, key + "-order", "order")
        if not placed:
            continue
        order_id = placed["result"]["orderId"]
        with lock:
            orders.append((order_id, token))
            if item == flash:
                flash_orders.append(order_id)
        initiated = step("/v1/commands", {"type": "InitiatePayment", "data": {"orderId": order_id}}, token,
                         key + "-pay", "payment")
        if not initiated:
            continue
        payment_id = initiated["result"]["paymentId"]
        if step(f"/v1/payments/sandbox/checkout/{payment_id}", {}, token, key + "-checkout", "payment"):
            with lock:
                payments.append(payment_id)


def first_ack_after(moment, kind="order", seconds=120):
    """When the first new order sent after `moment` was acknowledged (waits for it): a new order must be appended, where
    a retry may be answered from what a node already holds."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        with lock:
            done = [answered for started, answered, k in acks if started >= moment and (kind is None or k == kind)]
        if done:
            return min(done)
        time.sleep(0.05)
    return None


def retries_between(start, end):
    """(503 answers, other retried failures) between `start` and `end`."""
    with lock:
        window = [status for moment, status in retry_times if start <= moment <= end]
    return sum(1 for status in window if status == 503), sum(1 for status in window if status != 503)


def members():
    for m in range(1, 4):
        try:
            _, body = get(f"http://127.0.0.1:{args.port + 200 + m}", "/cluster", None, timeout=1)
            return body.get("members", [])
        except Exception:  # noqa: BLE001 - that member is down: ask the next
            continue
    return []


def wait_for_full_strength(seconds=120):
    """Three members running, one of them a synchronous standby."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        found = members()
        if len(found) == 3 and all(m.get("state") in ("running", "streaming") for m in found) \
                and any(m.get("role") == "sync_standby" for m in found):
            return True
        time.sleep(0.5)
    return False


report = {"failovers": [], "node_kill": None, "partition": None}
problems = []
threads = [threading.Thread(target=buyer, args=(i,)) for i in range(args.clients)]
for thread in threads:
    thread.start()
time.sleep(3)

faults = [(int(seed), "machine") for seed in args.seeds.split(",") if seed]
faults += [(int(seed), "postmaster") for seed in args.postmaster_seeds.split(",") if seed]
for seed, fault in faults:
    time.sleep(random.Random(seed).uniform(0.5, 3.0))
    old = cluster("primary")
    cluster("failover" if fault == "machine" else "kill-postmaster")
    killed = time.time()  # after the kill: a request sent before it may still be answered
    promoted = None
    while time.time() - killed < 120:
        try:
            now_primary = cluster("primary")
            # A lost machine's member cannot come back by itself; a killed postmaster may be restarted in place.
            if now_primary and (now_primary != old or fault == "postmaster") and time.time() - killed > 1:
                promoted = time.time()
                break
        except subprocess.CalledProcessError:
            pass
        time.sleep(0.2)
    recovered = first_ack_after(killed)
    entry = {"seed": seed, "fault": "the primary's machine" if fault == "machine" else "the primary's postmaster",
             "killed": f"pg{old}", "primary_after": f"pg{cluster('primary')}",
             "primary_again_after_s": round(promoted - killed, 2) if promoted else None,
             "writes_recovered_after_s": round(recovered - killed, 2) if recovered else None}
    entry["answered_503"], entry["other_retries"] = retries_between(killed, recovered or time.time())
    print("failover:", json.dumps(entry), flush=True)
    report["failovers"].append(entry)
    if not recovered:
        problems.append(f"writes did not recover after {entry['fault']} was lost (seed {seed})")
    cluster("rejoin")
    if not wait_for_full_strength():
        problems.append(f"the cluster did not come back to three members after seed {seed}")

if not args.no_isolation:
    time.sleep(1.5)
    primary = cluster("primary")
    standbys = [m for m in ("1", "2", "3") if m != primary]
    for member in standbys:
        cluster("lose", member)
    alone = time.time()
    time.sleep(1)
    entry = {"primary": f"pg{primary}", "lost": [f"pg{m}" for m in standbys]}
    key, request_id = f"alone-{uuid.uuid4().hex[:8]}", str(uuid.uuid4())
    body = {"type": "ListGoods", "data": {"title": "Listed while alone", "category": "tea", "price": 1, "stock": 1}}
    started = time.time()
    try:
        request(shop, "/v1/commands", body, merchant, {"Idempotency-Key": key, "X-Request-Id": request_id}, timeout=30)
        problems.append("a primary without a standby acknowledged a commit")
    except urllib.error.HTTPError as error:
        entry["write"] = f"{error.code} {error_code(error)} after {round(time.time() - started, 1)} s"
        if error.code != 503:
            problems.append(f"a write to a primary without a standby was answered {error.code}, not 503")
    time.sleep(2)
    with lock:
        acknowledged_alone = sum(1 for started_at, _, _ in acks if started_at >= alone + 1)
    entry["acknowledged_while_alone"] = acknowledged_alone
    if acknowledged_alone:
        problems.append(f"{acknowledged_alone} commands were acknowledged while the primary had no standby")
    cluster("rejoin")
    back = time.time()
    if not wait_for_full_strength():
        problems.append("the lost standbys did not rejoin")
    recovered = first_ack_after(back)
    entry["writes_recovered_after_rejoin_s"] = round(recovered - back, 2) if recovered else None
    # The same request again: it committed once the standbys were back, or runs now; either way once.
    retry = step("/v1/commands", body, merchant, key, "goods", request_id)
    entry["retried_write"] = "acknowledged" if retry else "refused"
    report["isolation"] = entry
    print("primary alone:", json.dumps(entry), flush=True)

if not args.no_node_kill:
    time.sleep(1.5)
    killed = time.time()
    cluster("kill", "2")
    time.sleep(2)
    cluster("restart", "2")
    recovered = first_ack_after(killed)
    answered_503, other = retries_between(killed, time.time())
    report["node_kill"] = {"node": "node2", "answered_503": answered_503, "other_retries": other,
                           "writes_recovered_after_s": round(recovered - killed, 2) if recovered else None}
    print("node kill:", json.dumps(report["node_kill"]), flush=True)

if netns_node:
    base = node_base(netns_node)
    cluster("partition")
    cut = time.time()
    time.sleep(7)  # past the node's answer timeout: it knows it is cut off
    entry = {"node": f"node{netns_node}"}
    started = time.time()
    try:
        request(base, "/v1/commands", {"type": "ListGoods", "data": {"title": "Cut off", "category": "tea", "price": 1,
                                                                    "stock": 1}}, merchant, timeout=15)
        problems.append("a node cut off from PostgreSQL took a write")
    except urllib.error.HTTPError as error:
        entry["write"] = f"{error.code} {error_code(error)} Retry-After {error.headers.get('Retry-After')}"
        entry["write_refused_in_s"] = round(time.time() - started, 2)
        if error.code != 503 or error.headers.get("Retry-After") is None:
            problems.append(f"a cut-off node answered a write {error.code}, not 503 with Retry-After")
    status, body, headers = request(base, f"/v1/goods/{flash}")
    entry["read"] = f"{status}, X-Emporium-Stale-Seconds {headers.get('X-Emporium-Stale-Seconds')}"
    if status != 200 or headers.get("X-Emporium-Stale-Seconds") is None:
        problems.append("a cut-off node's read is not served, or not marked stale")
    _, health, _ = request(base, "/health")
    entry["health"] = health.get("status")
    if health.get("status") != "degraded":
        problems.append(f"a cut-off node's /health says {health.get('status')}, not degraded")
    cluster("heal")
    healed = time.time()
    while time.time() - healed < 60:
        try:
            if request(base, "/health")[1].get("status") == "ok":
                break
        except urllib.error.HTTPError:
            pass
        time.sleep(0.2)
    entry["answers_again_after_heal_s"] = round(time.time() - healed, 2)
    report["partition"] = entry
    print("partition:", json.dumps(entry), flush=True)

time.sleep(2)
stopping.set()
for thread in threads:
    thread.join()

# What the log of record holds, read from the current primary through HAProxy.
psql = subprocess.run(
    ["psql", "-h", "127.0.0.1", "-p", str(args.port + 100), "-U", "postgres", "-d", "emporium", "-At", "-F", "|", "-c",
     "SELECT u.s, u.ty, encode(substr(u.rec, 47, 16), 'hex')::uuid FROM emporium_writes AS w, "
     "UNNEST(w.streams, w.types, w.records) AS u(s, ty, rec) WHERE u.ty IN ('OrderPlaced', 'PaymentSucceeded', 'GoodsListed')"],
    capture_output=True, text=True, check=True).stdout.splitlines()
placed_streams, captured, by_request, listed_by_request = set(), {}, {}, {}
for line in psql:
    stream, kind, correlation = line.split("|")
    if kind == "GoodsListed":
        listed_by_request[correlation] = listed_by_request.get(correlation, 0) + 1
    elif kind == "OrderPlaced":
        placed_streams.add(stream)
        by_request[correlation] = by_request.get(correlation, 0) + 1
    else:
        captured[stream] = captured.get(stream, 0) + 1
lost_orders = [o for o, _ in orders if f"order-{o}" not in placed_streams]
lost_payments = [p for p in payments if captured.get(f"payment-{p}", 0) == 0]
placed_twice = sum(1 for count in by_request.values() if count > 1)
captured_twice = sum(1 for count in captured.values() if count > 1)
report["totals"] = {
    "orders_acknowledged": len(orders), "payments_acknowledged": len(payments),
    "flash_orders_acknowledged": len(flash_orders), "flash_stock": args.flash_stock,
    "acknowledged_lost": len(lost_orders) + len(lost_payments),
    "orders_placed_twice_for_one_request": placed_twice, "payments_captured_twice": captured_twice,
    "retried": retried, "refused": refusals, "server_errors": server_errors,
}
if server_errors:
    problems.append(f"server errors: {server_errors}")
if lost_orders or lost_payments:
    problems.append(f"acknowledged but not in the log of record: {len(lost_orders)} orders, {len(lost_payments)} payments")
if placed_twice or captured_twice:
    problems.append(f"duplicated: {placed_twice} orders placed twice, {captured_twice} payments captured twice")
if "isolation" in report:
    listed = listed_by_request.get(request_id, 0)
    report["isolation"]["goods_listed_by_it"] = listed
    if listed != 1:
        problems.append(f"the write sent while the primary was alone was listed {listed} times, not once")
if len(flash_orders) > args.flash_stock:
    problems.append(f"oversold: {len(flash_orders)} flash orders for a stock of {args.flash_stock}")
for n in range(1, nodes + 1):
    _, flash_goods = get(node_base(n), f"/v1/goods/{flash}", admin)
    if flash_goods.get("available", 0) < 0:
        problems.append(f"node{n} shows negative stock for the flash goods")
if len(orders) < 20 or len(payments) < 10:
    problems.append("too few orders and payments were acknowledged for the check to mean anything")

if not wait_until_caught_up(args.bin, args.log, nodes):
    problems.append("not every node caught up within 60 s")
problems += check_replicas(args.bin, args.log, [(f"node{n}", node_base(n)) for n in range(1, nodes + 1)], admin, orders)

for fault in ("the primary's machine", "the primary's postmaster"):
    times = [f["writes_recovered_after_s"] for f in report["failovers"]
             if f["fault"] == fault and f["writes_recovered_after_s"] is not None]
    if times:
        report.setdefault("writes_recovered_s", {})[fault] = {"runs": len(times), "p50": statistics.median(times),
                                                              "max": max(times)}
print(json.dumps(report, indent=2))
if args.json:
    with open(args.json, "w") as out:
        json.dump(report, out, indent=2)
if problems:
    print("FAILED:", "; ".join(problems))
    sys.exit(1)
print("OK: nothing acknowledged was lost, nothing was duplicated, nothing oversold; every replica is the log of record")
