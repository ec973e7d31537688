"""The check tools/cluster.sh smoke runs against a local cluster: customers
place orders through HAProxy while the script's caller kills one node with
kill -9 and restarts it; then every acknowledged order must be readable on
every node, every node's replica must have caught up, and every node's log
head (position and hash: the hash chains every byte before it) must be the
PostgreSQL log's.

    python3 tools/cluster_check.py HAPROXY_PORT CLUSTER_DIR LOG_URL EMPORIUM_BIN"""
import sys
import threading
import time
import urllib.error
import urllib.request

from shop_client import call, check_replicas, listed_goods, login, wait_until_caught_up

port, cluster_dir, log_url, binary = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
seconds = 8
nodes = int(open(f"{cluster_dir}/nodes").read())
shop = f"http://127.0.0.1:{port}"
admin = login(shop, "admin@demo.emporium")
goods = listed_goods(shop, admin)
for goods_id in goods:
    call(shop, {"type": "Restock", "data": {"goodsId": goods_id, "quantity": 100_000}}, admin)
customers = [("alice@demo.emporium", login(shop, "alice@demo.emporium"))]
customers += [(f"customer{i}@demo.emporium", login(shop, f"customer{i}@demo.emporium")) for i in range(1, 8)]

acknowledged, failures, lock = [], {}, threading.Lock()


def buyer(index):
    deadline = time.time() + seconds
    count = 0
    while time.time() < deadline:
        email, token = customers[(index + count) % len(customers)]
        item = goods[count % len(goods)]
        count += 1
        try:
            answer = call(shop, {"type": "PlaceOrder", "data": {"items": [{"goodsId": item, "quantity": 1}]}}, token)
            with lock:
                acknowledged.append((answer["result"]["orderId"], token))
        except (urllib.error.URLError, ConnectionError, TimeoutError) as error:
            key = getattr(error, "code", type(error).__name__)
            with lock:
                failures[key] = failures.get(key, 0) + 1


open(f"{cluster_dir}/buying", "w").close()  # tools/cluster.sh kills a node once this exists
threads = [threading.Thread(target=buyer, args=(i,)) for i in range(4)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print(f"orders acknowledged: {len(acknowledged)}; failed requests (not acknowledged): {failures}")
problems = []
if len(acknowledged) < 10:
    problems.append("too few orders were acknowledged for the check to mean anything")

# Every node back and caught up; every acknowledged order on every node; every node's head the log of record's.
if not wait_until_caught_up(binary, log_url, nodes):
    problems.append("not every node caught up within 60 s")
problems += check_replicas(binary, log_url, [(f"node{n}", f"http://127.0.0.1:{port + n}") for n in range(1, nodes + 1)],
                           admin, acknowledged)
# Each node counts its writes to the log of record at /metrics (the restarted one since its restart).
written = 0
for n in range(1, nodes + 1):
    with urllib.request.urlopen(f"http://127.0.0.1:{port + n}/metrics", timeout=10) as answer:
        totals = {line.split()[0]: float(line.split()[1]) for line in answer.read().decode().splitlines()
                  if line.startswith("emporium_log_of_record_")}
    transactions = totals.get("emporium_log_of_record_transactions_total")
    placed_again = totals.get("emporium_log_of_record_writes_placed_again_total")
    if transactions is None or placed_again is None:
        problems.append(f"node{n}'s /metrics has no emporium_log_of_record_ counters")
        continue
    written += transactions
    print(f"node{n}: {transactions:.0f} transactions to the log of record, {placed_again:.0f} writes placed again by PostgreSQL")
if written == 0:
    problems.append("no node counted a transaction to the log of record")
if problems:
    print("FAILED:", "; ".join(problems))
    sys.exit(1)
print("OK: every acknowledged order is on every node, and every replica is the log of record")
