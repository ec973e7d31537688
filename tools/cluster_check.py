"""The check tools/cluster.sh smoke runs against a local cluster: customers
place orders through HAProxy while the script's caller kills one node with
kill -9 and restarts it; then every acknowledged order must be readable on
every node, every node's replica must have caught up, and every node's log
head (position and hash: the hash chains every byte before it) must be the
PostgreSQL log's.

    python3 tools/cluster_check.py HAPROXY_PORT CLUSTER_DIR LOG_URL EMPORIUM_BIN"""
import json
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

port, cluster_dir, log_url, binary = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
seconds = 8
nodes = int(open(f"{cluster_dir}/nodes").read())


def call(base, body, token=None, timeout=10):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(f"{base}/v1/commands", json.dumps(body).encode(), headers)
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.load(response)


def get(base, path, token):
    request = urllib.request.Request(f"{base}{path}", headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, response.read()


shop = f"http://127.0.0.1:{port}"
login = lambda email: call(shop, {"type": "Login", "data": {"email": email, "password": "demo-password"}})["result"]["token"]
admin = login("admin@demo.emporium")
goods = []
feed = urllib.request.Request(f"{shop}/v1/events?type=GoodsListed", headers={"Authorization": f"Bearer {admin}"})
try:  # the feed stays open for new events: read what is there until it goes quiet
    with urllib.request.urlopen(feed, timeout=2) as response:
        for line in response:
            if line.startswith(b"data: "):
                goods.append(json.loads(line[6:])["payload"]["goodsId"])
except TimeoutError:
    pass
for goods_id in goods:
    call(shop, {"type": "Restock", "data": {"goodsId": goods_id, "quantity": 100_000}}, admin)
customers = [("alice@demo.emporium", login("alice@demo.emporium"))]
customers += [(f"customer{i}@demo.emporium", login(f"customer{i}@demo.emporium")) for i in range(1, 8)]

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

# Every node back and caught up.
deadline = time.time() + 60
while True:
    report = json.loads(subprocess.run([binary, "cluster", "status", "--log", log_url, "--json"],
                                       capture_output=True, text=True, check=True).stdout)
    healthy = len(report["nodes"]) == nodes and all(node["lag"] == 0 and node["secondsSinceSeen"] < 3 for node in report["nodes"])
    if healthy or time.time() > deadline:
        break
    time.sleep(0.5)
print("cluster status:", json.dumps(report))
if not healthy:
    problems.append("not every node caught up within 60 s")

# Every acknowledged order on every node; every node's head is the log of record's.
verify = subprocess.run([binary, "cluster", "verify", "--log", log_url], capture_output=True, text=True)
print(verify.stdout.strip())
if verify.returncode != 0:
    problems.append("the PostgreSQL log does not verify")
head_hash = next((line.split("hash ")[1].strip() for line in verify.stdout.splitlines() if line.startswith("head:")), None)
for n in range(1, nodes + 1):
    base = f"http://127.0.0.1:{port + n}"
    missing = 0
    for order_id, token in acknowledged:
        try:
            get(base, f"/v1/orders/{order_id}", token)
        except urllib.error.HTTPError:
            missing += 1
    if missing:
        problems.append(f"node{n} lacks {missing} acknowledged order(s)")
    status, body = get(base, "/v1/audit/digest", admin)
    digest = json.loads(body)
    print(f"node{n}: {len(acknowledged) - missing} of {len(acknowledged)} orders; head {digest}")
    if head_hash and head_hash not in json.dumps(digest):
        problems.append(f"node{n}'s head hash is not the log of record's")
if problems:
    print("FAILED:", "; ".join(problems))
    sys.exit(1)
print("OK: every acknowledged order is on every node, and every replica is the log of record")
