"""Parameter sets against payload at each codec point: how much of a stream is fixed headers.

    python -m perf.header_share --results results/reference/embedded [--methods x265,vvenc,svtav1]
        [--points qp51-d16-t32,qp63-d16-t32]

Reads the records (bits per stream: `parameter_sets` is what a session sends once, out of band,
RFC 7798 `sprop-*`; every other stream is payload) and prints, per method, configuration and rate
point, the mean over the clips of each, and the headers' share of the total.
"""

from __future__ import annotations

import argparse
from collections import defaultdict

from benchmark.data.store import STATUS_OK, ResultStore


def header_rows(store: ResultStore, methods: set[str] | None,
                points: set[str] | None) -> list[tuple[str, str, str, float, float, int]]:
    """(method, configuration, rate point, mean header bits, mean payload bits, clips)."""
    groups: dict[tuple[str, str, str], list[tuple[int, int]]] = defaultdict(list)
    for record in store.records():
        method, point = record.get("method", ""), record.get("rate_point", {}).get("label", "")
        if record.get("status") != STATUS_OK or (methods and method not in methods) \
                or (points and point not in points):
            continue
        bits = record.get("bits", {})
        config = record.get("method_config", {})
        label = ", ".join(f"{k}={config[k]}" for k in ("preset", "qpa") if k in config)
        header = int(bits.get("parameter_sets", 0))
        groups[(method, label, point)].append((header, sum(bits.values()) - header))
    return [(m, c, p, sum(h for h, _ in v) / len(v), sum(b for _, b in v) / len(v), len(v))
            for (m, c, p), v in sorted(groups.items())]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", required=True, help="a results store")
    parser.add_argument("--methods", default="x265,vvenc,svtav1")
    parser.add_argument("--points", help="rate point labels (default: all)")
    args = parser.parse_args()
    methods = set(args.methods.split(",")) if args.methods else None
    points = set(args.points.split(",")) if args.points else None
    print("| method | configuration | point | parameter sets (bits) | payload (bits) "
          "| headers' share | clips |")
    print("|---|---|---|---|---|---|---|")
    for method, config, point, header, payload, clips in header_rows(
            ResultStore(args.results), methods, points):
        share = header / (header + payload) if header + payload else float("nan")
        print(f"| {method} | {config} | `{point}` | {header:.0f} | {payload:.0f} | "
              f"{100 * share:.0f}% | {clips} |")


if __name__ == "__main__":
    main()
