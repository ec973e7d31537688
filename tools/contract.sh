#!/usr/bin/env bash
# The API contract checked from outside, against a live server on a seeded demo shop (127.0.0.1 only):
#   1. openapi-spec-validator (PyPI) validates /openapi.json as OpenAPI 3.1;
#   2. schemathesis (PyPI) sends every operation generated requests, valid and invalid, once as the demo admin and
#      once as a demo customer, and checks each answer: no server error, a status and content type the document
#      declares, a body its schema admits, invalid data refused. Any finding fails.
#
#   EMPORIUM_BIN=.build/debug/emporium tools/contract.sh [--examples N]   # N generated requests per operation (default 25)
#
# The Python tools go into a virtual environment of their own (CONTRACT_VENV, default /var/tmp/emporium-contract-venv).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${EMPORIUM_BIN:-.build/debug/emporium}
examples=25
[ "${1:-}" = "--examples" ] && examples=$2
venv=${CONTRACT_VENV:-/var/tmp/emporium-contract-venv}
port=${CONTRACT_PORT:-18480}
checks=not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,negative_data_rejection

if [ ! -x "$venv/bin/schemathesis" ] || [ ! -x "$venv/bin/openapi-spec-validator" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q openapi-spec-validator schemathesis
fi

dir=$(mktemp -d /var/tmp/emporium-contract.XXXXXX)
pid=""
finish() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$dir"
}
trap finish EXIT
"$bin" seed --data-dir "$dir/shop" >/dev/null  # the demo shop the README's run command serves (its examples' ids)
"$bin" serve --data-dir "$dir/shop" --port "$port" --expiry-sweep-seconds 60 >"$dir/serve.log" 2>&1 &
pid=$!
base="http://127.0.0.1:$port"
for _ in $(seq 1 100); do curl -sf "$base/health" >/dev/null && break; sleep 0.2; done
curl -sf "$base/openapi.json" -o "$dir/openapi.json"

echo "== openapi-spec-validator"
"$venv/bin/openapi-spec-validator" "$dir/openapi.json"

echo "== the document's command examples, as alice, on the demo shop they come from"
python3 - "$dir/openapi.json" "$base" <<'PY'
import json, sys, urllib.error, urllib.request
document, base = json.load(open(sys.argv[1])), sys.argv[2]
def send(body, token=None):
    request = urllib.request.Request(base + "/v1/commands", data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json", **({"Authorization": "Bearer " + token} if token else {})})
    try:
        with urllib.request.urlopen(request) as answer: return answer.status, json.load(answer)
    except urllib.error.HTTPError as refusal: return refusal.code, json.load(refusal)
status, answer = send({"type": "Login", "data": {"email": "alice@demo.emporium", "password": "demo-password"}})
token = answer["result"]["token"]
examples = document["paths"]["/v1/commands"]["post"]["requestBody"]["content"]["application/json"]["examples"]
failed = 0
for name, example in examples.items():
    status, answer = send(example["value"], None if name in ("RegisterUser", "Login") else token)
    print(f"  {name}: {status} {answer.get('error', {}).get('code', '')}")
    failed += status != 200
if failed: sys.exit(f"FAILED: {failed} of the document's examples refused on the demo shop")
PY

token() {
  curl -sf "$base/v1/commands" -H 'Content-Type: application/json' \
    -d "{\"type\":\"Login\",\"data\":{\"email\":\"$1\",\"password\":\"demo-password\"}}" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["result"]["token"])'
}

# The event feed's answer never ends (server-sent events): each generated request to it lasts until the request timeout,
# so the timeout is short (3 s; every other answer takes milliseconds: the slowest, a history diff, ~70 ms on the demo
# shop with the release binary).
status=0
for who in admin@demo.emporium alice@demo.emporium; do
  echo "== schemathesis as $who ($examples examples per operation)"
  "$venv/bin/schemathesis" --config-file tools/schemathesis.toml run "$dir/openapi.json" --url "$base" --checks "$checks" --max-examples "$examples" \
    --phases examples,coverage,fuzzing --workers 1 --seed 1 --suppress-health-check all --no-color --request-timeout 3 \
    -H "Authorization: Bearer $(token "$who")" || status=1
done
if [ "$status" != 0 ]; then
  echo "FAILED: schemathesis found answers the contract does not admit (above); the server's log ends:" >&2
  tail -20 "$dir/serve.log" >&2
  exit 1
fi
echo "OK: the document is valid OpenAPI 3.1 and every answer schemathesis provoked is one it declares"
