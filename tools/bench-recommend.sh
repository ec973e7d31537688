#!/usr/bin/env bash
# Recommendations on real data beside the `implicit` library, in one run.
#
# The data is MovieLens 100k (943 people, 1,682 films, 100,000 ratings, each
# rating read as a one-item order), as shipped inside RecBole's wheel on PyPI
# (recbole 1.2.0, recbole/dataset_example/ml-100k/ml-100k.inter); nothing is
# downloaded at run time but that wheel and the peers' packages, and nothing
# is committed. `emporium recommend evaluate --interactions` scores Emporium's
# recommenders (the serving code) on each customer's last order, hidden;
# tools/recs_peer.py scores implicit's item-kNN (cosine, BM25), ALS and BPR on
# exactly that split (checked: the same goods hidden, by digest), each with
# hyperparameters chosen on the validation split.
#
#   tools/bench-recommend.sh                 # release build; prints the table and the targets
#   tools/bench-recommend.sh --file F.csv    # any interaction file: user, item, timestamp[, basket]
#   tools/bench-recommend.sh --smoke         # debug build, the first 20,000 ratings (CI)
#   tools/bench-recommend.sh --tune          # also print the feed's validation grid (how the weights were chosen)
set -euo pipefail
cd "$(dirname "$0")/.."

config=release
file=""
smoke=0
tune=0
while [ $# -gt 0 ]; do
  case "$1" in
    --file) file="$2"; shift 2 ;;
    --smoke) config=debug; smoke=1; shift ;;
    --tune) tune=1; shift ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

cache=/var/tmp/emporium-recs
venv=/var/tmp/emporium-recs-venv
mkdir -p "$cache"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import implicit, scipy" 2>/dev/null; then
  echo "== installing implicit 0.7.3 (PyPI) into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "implicit==0.7.3" scipy numpy
fi
if [ -z "$file" ]; then
  file="$cache/ml-100k.inter"
  if [ ! -s "$file" ]; then
    echo "== MovieLens 100k from RecBole's wheel (PyPI)"
    "$venv/bin/pip" download -q --no-deps "recbole==1.2.0" -d "$cache"
    python3 -m zipfile -e "$cache"/recbole-1.2.0-py3-none-any.whl "$cache/wheel" >/dev/null
    cp "$cache/wheel/recbole/dataset_example/ml-100k/ml-100k.inter" "$file"
    rm -rf "$cache/wheel"
  fi
  if [ "$smoke" = 1 ]; then
    head -n 20001 "$file" > "$cache/ml-100k-smoke.inter"
    file="$cache/ml-100k-smoke.inter"
  fi
fi

bin="${EMPORIUM_BIN:-}"
if [ -z "$bin" ]; then
  swift build -c "$config" --product emporium >/dev/null
  bin=".build/$config/emporium"
fi

if [ "$tune" = 1 ]; then
  echo "== the feed's weightings on the validation split (best first)"
  "$bin" recommend evaluate --interactions "$file" --tune | head -n 11
fi
echo "== $bin recommend evaluate --interactions $file --json, beside implicit on the same split"
"$bin" recommend evaluate --interactions "$file" --json > "$cache/emporium.json"
OPENBLAS_NUM_THREADS=1 PYTHONWARNINGS=ignore "$venv/bin/python" tools/recs_peer.py "$file" "$cache/emporium.json" --out "$cache/report.json"
