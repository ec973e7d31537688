"""Prepares tools/bench-http.sh: restocks the demo goods, logs in the demo
customers and writes three wrk Lua scripts into OUTDIR: buynow.lua sends one
PlaceOrder naming its goods per request, pairs.lua a pipelined AddToCart +
PlaceOrder pair for one customer per request, and warmup.lua buys now until
each of wrk's two threads has gone once through its customer-and-goods pairs
(then every customer has bought everything the runs will buy: the recommender
has nothing new to train on).

    python3 tools/bench_http_setup.py PORT CUSTOMERS GOODS OUTDIR"""
import json
import math
import sys
import urllib.request

port, users, goods_count, outdir = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
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

common = ("tokens = {" + ",".join(json.dumps(t) for t in tokens) + "}\n"
          + "goods = {" + ",".join(json.dumps(g) for g in goods) + "}\n" + """
local threads = 0
function setup(thread)
  thread:set("offset", threads)
  threads = threads + 1
end
counter = 0
-- Consecutive calls of a thread use different customers (offset + 2k), so a
-- customer's commands are normally alone in flight.
function customer()
  counter = counter + 1
  local token = tokens[((counter * 2 + offset) % #tokens) + 1]
  return {["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json"}, goods[(counter % #goods) + 1]
end
""")
with open(f"{outdir}/pairs.lua", "w") as out:
    out.write(common + """
-- One pipelined pair per call: AddToCart then PlaceOrder (from the cart) for one customer.
function request()
  local headers, item = customer()
  return wrk.format("POST", "/v1/commands", headers, '{"type":"AddToCart","data":{"goodsId":"' .. item .. '","quantity":1}}')
      .. wrk.format("POST", "/v1/commands", headers, '{"type":"PlaceOrder","data":{}}')
end
""")
buy_now = """
-- One PlaceOrder per call, naming its goods (buy now).
function request()
  local headers, item = customer()
  return wrk.format("POST", "/v1/commands", headers, '{"type":"PlaceOrder","data":{"items":[{"goodsId":"' .. item .. '","quantity":1}]}}')
end
"""
with open(f"{outdir}/buynow.lua", "w") as out:
    out.write(common + buy_now)
# A thread's customers repeat every len(tokens) / 2 calls and its goods every len(goods): the pairs, every lcm of both.
pairs_per_thread = math.lcm(len(tokens) // math.gcd(len(tokens), 2), len(goods))
with open(f"{outdir}/warmup.lua", "w") as out:
    out.write(common + buy_now + f"""
-- Stops once this thread has gone through its pairs (wrk itself runs on until its duration or a kill).
function response()
  if counter >= {pairs_per_thread} then wrk.thread:stop() end
end
""")
