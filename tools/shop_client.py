"""What the cluster checks (tools/cluster_check.py, tools/failover.py) share: calls to a shop's HTTP API, and the
checks that every acknowledged order is on every node and every node's replica is the log of record."""
import json
import subprocess
import time
import urllib.error
import urllib.request


def request(base, path, body=None, token=None, headers=None, timeout=10):
    """(status, parsed JSON body or {}, response headers); raises urllib.error.HTTPError for 4xx/5xx."""
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    if token:
        all_headers["Authorization"] = f"Bearer {token}"
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(f"{base}{path}", data, all_headers, method="GET" if body is None else "POST")
    with urllib.request.urlopen(req, timeout=timeout) as response:
        raw = response.read()
        return response.status, (json.loads(raw) if raw.startswith(b"{") else {}), response.headers


def call(base, body, token=None, timeout=10, headers=None):
    """A command's answer (the JSON body)."""
    return request(base, "/v1/commands", body, token, headers, timeout)[1]


def get(base, path, token, timeout=10):
    status, body, _ = request(base, path, token=token, timeout=timeout)
    return status, body


def error_code(error):
    """The stable code of an HTTP error answer (or the status when the body is not ours: HAProxy's own 503)."""
    try:
        return json.loads(error.read())["error"]["code"]
    except Exception:  # noqa: BLE001 - any body that is not our error JSON
        return f"http_{error.code}"


def login(base, email, password="demo-password"):
    return call(base, {"type": "Login", "data": {"email": email, "password": password}})["result"]["token"]


def feed(base, admin, event_type):
    """Every event of one type, from the event feed (read until it goes quiet)."""
    events = []
    subscription = urllib.request.Request(f"{base}/v1/events?type={event_type}", headers={"Authorization": f"Bearer {admin}"})
    try:
        with urllib.request.urlopen(subscription, timeout=2) as response:
            for line in response:
                if line.startswith(b"data: "):
                    events.append(json.loads(line[6:]))
    except TimeoutError:
        pass
    return events


def listed_goods(base, admin):
    """The ids of every goods listed plainly (one variant, so a command may leave the variant out): goods sold in
    variants (a size, a colour) need a variantId in Restock and PlaceOrder and are left out."""
    in_variants = {event["stream"] for event in feed(base, admin, "VariantAdded")}
    return [event["payload"]["goodsId"] for event in feed(base, admin, "GoodsListed")
            if f"goods-{event['payload']['goodsId']}" not in in_variants]


def cluster_status(binary, log_url):
    return json.loads(subprocess.run([binary, "cluster", "status", "--log", log_url, "--json"],
                                     capture_output=True, text=True, check=True).stdout)


def wait_until_caught_up(binary, log_url, nodes, seconds=60):
    """True once every node reports itself copied through the log of record's head."""
    deadline = time.time() + seconds
    report = None
    while True:
        try:
            report = cluster_status(binary, log_url)
            if len(report["nodes"]) == nodes and all(n["lag"] == 0 and n["secondsSinceSeen"] < 3 for n in report["nodes"]):
                print("cluster status:", json.dumps(report))
                return True
        except subprocess.CalledProcessError:
            pass  # the log of record is failing over: ask again
        if time.time() > deadline:
            print("cluster status (not caught up):", json.dumps(report))
            return False
        time.sleep(0.5)


def check_replicas(binary, log_url, node_bases, admin, acknowledged):
    """Problems found: the log of record does not verify; a node lacks an acknowledged order; a node's head (position
    and hash: the hash chains every byte before it) is not the log of record's."""
    problems = []
    verify = subprocess.run([binary, "cluster", "verify", "--log", log_url], capture_output=True, text=True)
    print(verify.stdout.strip())
    if verify.returncode != 0:
        problems.append("the PostgreSQL log does not verify")
    head_hash = next((line.split("hash ")[1].strip() for line in verify.stdout.splitlines() if line.startswith("head:")), None)
    for name, base in node_bases:
        missing = 0
        for order_id, token in acknowledged:
            try:
                get(base, f"/v1/orders/{order_id}", token)
            except urllib.error.HTTPError:
                missing += 1
        if missing:
            problems.append(f"{name} lacks {missing} acknowledged order(s)")
        _, digest = get(base, "/v1/audit/digest", admin)
        print(f"{name}: {len(acknowledged) - missing} of {len(acknowledged)} orders; head {digest}")
        if head_hash and head_hash not in json.dumps(digest):
            problems.append(f"{name}'s head hash is not the log of record's")
    return problems
