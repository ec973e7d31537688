#!/usr/bin/env python3
"""The peer side of tools/bench-recommend.sh: the `implicit` library's item-kNN
(cosine and BM25), ALS and BPR scored on exactly the split that
`emporium recommend evaluate --interactions FILE` makes, then one table with
Emporium's rows beside them.

The split, as RecommenderEvaluation does it: one order per basket (per line
when the file has no basket column); each customer's orders in time order,
ties in file order; the test split hides the last order of every customer
with at least two, the validation split leaves the last out and hides the one
before (customers with at least three). Every goods a customer bought in what
is not hidden is excluded from their top 10 (full ranking over the rest).
Each peer's hyperparameters are chosen on the validation split, then scored
once on the test split.

usage: recs_peer.py FILE EMPORIUM_TEST.json [--out report.json]
"""
import argparse
import json
import math
import time

import numpy as np
import scipy.sparse as sparse

CUTOFF = 10


def read_interactions(path):
    """(user, item, at_ms, basket) rows, read as emporium reads them."""
    columns = {"user": 0, "item": 1, "at": 2, "basket": 3}
    rows = []
    with open(path, encoding="utf-8") as handle:
        for offset, line in enumerate(handle.read().splitlines()):
            if not line.strip():
                continue
            fields = [f.strip() for f in line.replace(",", "\t").split("\t")]
            if offset == 0 and len(fields) > columns["at"]:
                try:
                    float(fields[columns["at"]])
                except ValueError:
                    names = [f.split(":")[0].lower() for f in fields]

                    def column(candidates, default):
                        return next((i for i, n in enumerate(names) if n in candidates), default)

                    columns = {
                        "user": column({"user", "user_id", "userid"}, 0),
                        "item": column({"item", "item_id", "itemid"}, 1),
                        "at": column({"timestamp", "time", "at"}, 2),
                        "basket": column({"basket", "order", "session"}, None),
                    }
                    continue
            stamp = float(fields[columns["at"]])
            at = int(stamp if stamp >= 1e11 else stamp * 1000)
            b = columns["basket"]
            basket = fields[b] if b is not None and b < len(fields) and fields[b] else None
            rows.append((fields[columns["user"]], fields[columns["item"]], at, basket))
    return rows


def split(rows, which):
    """(train pairs, {user: target items}, items) as the Swift evaluation splits."""
    orders = []  # [index, user, at, set(items)]
    baskets = {}
    for user, item, at, basket in rows:
        key = (user, basket)
        if basket is not None and key in baskets:
            order = orders[baskets[key]]
            order[3].add(item)
            order[2] = max(order[2], at)
            continue
        if basket is not None:
            baskets[key] = len(orders)
        orders.append([len(orders), user, at, {item}])
    orders.sort(key=lambda o: (o[2], o[0]))
    by_user = {}
    for order in orders:
        by_user.setdefault(order[1], []).append(order)
    hidden = 1 if which == "test" else 2
    train, targets = [], {}
    for user, placed in by_user.items():
        if len(placed) > hidden:
            targets[user] = placed[-hidden][3]
            kept = placed[:-hidden]
        else:
            kept = placed
        for order in kept:
            train.extend((user, item) for item in order[3])
    items = sorted({item for _, item, _, _ in rows})
    return train, targets, items


def digest(targets):
    """FNV-1a (64 bits, hex) of the sorted lines "user\titem\n" asked for: emporium's heldOutDigest."""
    value = 0xcbf29ce484222325
    for byte in "".join(sorted(f"{user}\t{item}\n" for user, items in targets.items() for item in items)).encode():
        value = ((value ^ byte) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return format(value, "x")


def matrix(train, users, items):
    u = {name: i for i, name in enumerate(users)}
    g = {name: i for i, name in enumerate(items)}
    pairs = {(u[a], g[b]) for a, b in train}
    r = np.array([p[0] for p in pairs], dtype=np.int32)
    c = np.array([p[1] for p in pairs], dtype=np.int32)
    return sparse.csr_matrix((np.ones(len(pairs), dtype=np.float32), (r, c)), shape=(len(users), len(items))), u, g


def score(model, user_items, targets, u, g):
    ids = np.array([u[name] for name in targets], dtype=np.int32)
    started = time.perf_counter()
    recommended, _ = model.recommend(ids, user_items[ids], N=CUTOFF, filter_already_liked_items=True)
    seconds = time.perf_counter() - started
    hits = ndcg = 0.0
    for row, name in zip(recommended, targets):
        wanted = {g[i] for i in targets[name]}
        dcg = sum(1 / math.log2(rank + 2) for rank, item in enumerate(row[:CUTOFF]) if item in wanted)
        ideal = sum(1 / math.log2(rank + 2) for rank in range(min(len(wanted), CUTOFF)))
        hits += 1 if dcg > 0 else 0
        ndcg += dcg / ideal if ideal else 0
    n = max(len(targets), 1)
    return hits / n, ndcg / n, seconds / n * 1e6


def peers():
    from implicit.als import AlternatingLeastSquares
    from implicit.bpr import BayesianPersonalizedRanking
    from implicit.nearest_neighbours import BM25Recommender, CosineRecommender

    yield "implicit item-kNN cosine", [
        (f"K={k}", lambda k=k: CosineRecommender(K=k)) for k in (20, 50, 100, 200)]
    yield "implicit item-kNN BM25", [
        (f"K={k} B={b}", lambda k=k, b=b: BM25Recommender(K=k, K1=1.2, B=b)) for k in (50, 100, 200) for b in (0.25, 0.75)]
    yield "implicit ALS", [
        (f"factors={f} reg={r} alpha={a}",
         lambda f=f, r=r, a=a: AlternatingLeastSquares(factors=f, regularization=r, alpha=a, iterations=15, random_state=7))
        for f in (32, 64) for r in (0.01, 0.1) for a in (1.0, 10.0)]
    yield "implicit BPR", [
        (f"factors={f} lr={lr}",
         lambda f=f, lr=lr: BayesianPersonalizedRanking(factors=f, learning_rate=lr, regularization=0.01, iterations=100,
                                                        random_state=7))
        for f in (32, 64) for lr in (0.01, 0.05)]


def evaluate(rows):
    valid_train, valid_targets, items = split(rows, "validation")
    test_train, test_targets, _ = split(rows, "test")
    users = sorted({r[0] for r in rows})
    valid_matrix, u, g = matrix(valid_train, users, items)
    test_matrix, _, _ = matrix(test_train, users, items)
    results = []
    for name, settings in peers():
        best = None
        for label, make in settings:
            model = make()
            model.fit(valid_matrix, show_progress=False)
            hr, nd, _ = score(model, valid_matrix, valid_targets, u, g)
            if best is None or (hr, nd) > best[0]:
                best = ((hr, nd), label, make)
        model = best[2]()
        started = time.perf_counter()
        model.fit(test_matrix, show_progress=False)
        fit_seconds = time.perf_counter() - started
        hr, nd, micros = score(model, test_matrix, test_targets, u, g)
        results.append({"recommender": name, "setting": best[1], "hitRate": hr, "ndcg": nd, "microsPerUser": micros,
                        "fitSeconds": fit_seconds, "validationHitRate": best[0][0]})
    return results, len(test_targets), digest(test_targets)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("file")
    parser.add_argument("emporium", help="emporium recommend evaluate --interactions FILE --json (test split)")
    parser.add_argument("--out")
    args = parser.parse_args()
    rows = read_interactions(args.file)
    results, users, split_digest = evaluate(rows)
    with open(args.emporium, encoding="utf-8") as handle:
        ours = json.load(handle)
    if ours["users"] != users or ours.get("heldOutDigest") != split_digest:
        raise SystemExit(f"the splits differ: emporium hid {ours['users']} customers' goods (digest "
                         f"{ours.get('heldOutDigest')}), the peers {users} ({split_digest})")
    popular = next(r["hitRate"] for r in ours["rows"] if r["recommender"] == "popular")
    best_peer = max(r["hitRate"] for r in results)
    knn = max(r["hitRate"] for r in results if "kNN" in r["recommender"])
    print(f"{len(rows)} interactions, {users} customers evaluated (test split: each one's last order hidden; "
          f"the same goods hidden on both sides, digest {split_digest})")
    print(f"{'model':34} {'HR@10':>7} {'NDCG@10':>8} {'vs popular':>10} {'vs best peer':>12}  setting / time")
    for row in ours["rows"]:
        print(f"{'Emporium ' + row['recommender']:34} {row['hitRate']:7.4f} {row['ndcg']:8.4f} "
              f"{row['hitRate'] / popular:9.2f}× {row['hitRate'] / best_peer:11.2f}×  "
              f"{row['meanMicros']:.0f} µs mean, {row['p99Micros']:.0f} µs p99 per customer")
    for row in results:
        print(f"{row['recommender']:34} {row['hitRate']:7.4f} {row['ndcg']:8.4f} "
              f"{row['hitRate'] / popular:9.2f}× {row['hitRate'] / best_peer:11.2f}×  "
              f"{row['setting']} (validation HR {row['validationHitRate']:.4f}); fit {row['fitSeconds']:.1f} s, "
              f"{row['microsPerUser']:.0f} µs per customer (batched)")
    feed = next(r["hitRate"] for r in ours["rows"] if r["recommender"] == "feed")
    also = next(r["hitRate"] for r in ours["rows"] if r["recommender"] == "also-bought")
    print(f"targets: feed ≥ 1.2× best peer: {feed / best_peer:.2f}×;  feed ≥ 2.5× popular: {feed / popular:.2f}×;  "
          f"also-bought ≥ implicit item-kNN: {also / knn:.2f}×")
    if args.out:
        with open(args.out, "w", encoding="utf-8") as handle:
            json.dump({"emporium": ours, "peers": results}, handle, indent=2)


if __name__ == "__main__":
    main()
