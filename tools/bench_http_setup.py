"""Prepares tools/bench-http.sh: restocks the demo goods, logs in the demo
customers and prints the wrk Lua script that sends pipelined AddToCart +
PlaceOrder pairs, each pair for one customer."""
import json
import sys
import urllib.request

port, users, goods_count = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
base = f"http://127.0.0.1:{port}"


def call(body, token=None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(f"{base}/v1/commands", json.dumps(body).encode(), headers)
    with urllib.request.urlopen(request) as response:
        return json.load(response)


def login(email):
    return call({"type": "Login", "data": {"email": email, "password": "demo-password"}})["result"]["token"]


admin = login("admin@demo.emporium")
feed = urllib.request.Request(f"{base}/v1/events?type=GoodsListed&limit={goods_count}", headers={"Authorization": f"Bearer {admin}"})
goods = []
with urllib.request.urlopen(feed, timeout=5) as response:
    for line in response.read().decode().splitlines():
        if line.startswith("data: "):
            goods.append(json.loads(line[6:])["payload"]["goodsId"])
for goods_id in goods:
    call({"type": "Restock", "data": {"goodsId": goods_id, "quantity": 10_000_000}}, admin)
emails = ["alice@demo.emporium"] + [f"customer{i}@demo.emporium" for i in range(1, users)]
tokens = [login(email) for email in emails]

print("tokens = {" + ",".join(json.dumps(t) for t in tokens) + "}")
print("goods = {" + ",".join(json.dumps(g) for g in goods) + "}")
print("""
local threads = 0
function setup(thread)
  thread:set("offset", threads)
  threads = threads + 1
end
counter = 0
-- One pipelined pair per call: AddToCart then PlaceOrder for one customer.
-- Consecutive calls of a thread use different customers (offset + 2k), so a
-- customer's pair is normally alone in flight.
function request()
  counter = counter + 1
  local token = tokens[((counter * 2 + offset) % #tokens) + 1]
  local item = goods[(counter % #goods) + 1]
  local headers = {["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json"}
  return wrk.format("POST", "/v1/commands", headers, '{"type":"AddToCart","data":{"goodsId":"' .. item .. '","quantity":1}}')
      .. wrk.format("POST", "/v1/commands", headers, '{"type":"PlaceOrder","data":{}}')
end
""")
