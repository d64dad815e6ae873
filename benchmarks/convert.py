"""Benchmark: convert CSV readings (era dates, mixed units, local codes) into the shared model.

Prints rows/s of the conversion next to rows/s of plain `csv` reading of the same file, and
their ratio (target: >= 0.2, i.e. conversion costs at most five times parsing). The source is
streamed, so memory stays flat; peak RSS is printed after each phase. The shared-model CSV is
written to a temporary file (about five times the input's size: full IRIs); ``--output FILE``
keeps it, ``--output /dev/null`` leaves the disk out of the measurement.

SHACL validation is sampled: the records of rows 1, N+1, 2N+1, ... (N = --validate-every,
default 10000) are checked with pyshacl in batches; --validate-every 0 turns it off.

    python benchmarks/convert.py                 # 1,000,000 rows
    python benchmarks/convert.py --rows 200000
"""

from __future__ import annotations

import sys as _sys
from pathlib import Path as _Path

# Run as a script, this folder comes first on sys.path, and benchmarks/catalog.py would stand
# in for the catalog package: leave the folder off.
_sys.path[:] = [
    p for p in _sys.path if _Path(p or ".").resolve() != _Path(__file__).parent.resolve()
]

import argparse
import csv
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

from vocab.bulk import bulk_convert
from vocab.mapping import Mapping, mapping_from_dict

STATIONS = 40
STATION_BASE = "https://w3id.org/tsunagu/id/station/bench-"


def mapping() -> Mapping:
    return mapping_from_dict(
        {
            "source": {"name": "benchmark readings", "format": "csv"},
            "time": {"field": "観測日時", "era_boundary": "lenient"},
            "station": {
                "field": "観測所",
                "codes": {f"S{n:03d}": f"{STATION_BASE}{n:03d}" for n in range(STATIONS)},
            },
            "municipality": {"field": "団体コード"},
            "observations": [
                {"property": "water-level", "field": "水位", "unit_field": "単位"},
            ],
        }
    )


def write_source(path: Path, rows: int) -> None:
    """Ten-minute readings of 40 stations in 和暦: half the stations' systems write R6.6.1 09:10,
    the other half 令和6年6月1日 9時10分; levels come in cm, m or mm (the unit column)."""
    rng = random.Random(20240901)
    units = (("cm", 100.0), ("m", 1.0), ("mm", 1000.0))
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["観測所", "団体コード", "観測日時", "水位", "単位"])
        minute = 0
        for n in range(rows):
            station = n % STATIONS
            if station == 0:
                minute += 10
            day, rest = divmod(minute, 24 * 60)
            hour, mins = divmod(rest, 60)
            month, mday = 6 + day // 30, 1 + day % 30
            if station < STATIONS // 2:
                stamp = f"R6.{month}.{mday} {hour:02d}:{mins:02d}"
            else:
                stamp = f"令和6年{month}月{mday}日 {hour}時{mins}分"
            unit, factor = units[(n // 7) % 3]
            level = round(rng.uniform(0.5, 6.0) * factor, 2)
            writer.writerow([f"S{station:03d}", "08201", stamp, level, unit])


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--validate-every", type=int, default=10_000)
    parser.add_argument("--output", type=Path, help="write the shared-model CSV here")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "readings.csv"
        target = args.output or Path(tmp) / "shared.csv"
        write_source(source, args.rows)
        loaded = mapping()

        start = time.perf_counter()
        with source.open(encoding="utf-8", newline="") as handle:
            count = sum(1 for _ in csv.reader(handle)) - 1
        plain = time.perf_counter() - start
        plain_rss = peak_rss_mb()

        start = time.perf_counter()
        with target.open("w", encoding="utf-8", newline="") as out:
            summary = bulk_convert(source, loaded, out, validate_every=args.validate_every)
        converted = time.perf_counter() - start

    plain_rate = count / plain
    convert_rate = summary.rows / converted
    print(f"rows                 {count:>12,}")
    print(f"plain csv reading    {plain_rate:>12,.0f} rows/s   (peak RSS {plain_rss:,.0f} MB)")
    print(
        f"conversion           {convert_rate:>12,.0f} rows/s   (peak RSS {peak_rss_mb():,.0f} MB)"
    )
    print(f"ratio                {convert_rate / plain_rate:>12.3f}   (target >= 0.2)")
    print(f"summary              {summary.text()}")
    print(
        f"SHACL sample         1 row in {args.validate_every:,}"
        if args.validate_every
        else "SHACL off"
    )
    return 0 if summary.rejected == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
