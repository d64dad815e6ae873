"""Consent filtering on the data plane: serving 100,000 rows of personal data with the filter
versus the same rows without it, in the same run, on loopback.

Two datasets of one provider share one CSV file (100,000 rows about 10,000 residents, 10
rows each); one of them is marked personal data, and 6,000 of the residents consent. A
consumer reads both through pull transfers, alternately, several times; the figure is the
median time to read the whole body, filtered over unfiltered (target: under 1.2). The
filtered read includes the consent lookup (one query, 6,000 subjects) and the row filter;
the unfiltered one streams the file as it is. The same again for NDJSON.

    python benchmarks/consent.py [--quick] [--rows 100000] [--runs 15]
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
import asyncio
import json
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from connector.demo.localspace import LocalDataspace
from connector.store.consent_tables import (
    ConsentGrantRow,
    ConsentPurposeRow,
    ConsentRecipientRow,
    ConsentRecordRow,
)

DISASTER = "https://w3id.org/tsunagu/vocab/purpose/disaster-response"
EVACUATION = "https://w3id.org/tsunagu/vocab/purpose/evacuation-decision-support"
OFFER = {
    "@type": "Offer",
    "permission": [{"action": "use"}],
    "prohibition": [
        {
            "action": "use",
            "constraint": [
                {
                    "leftOperand": "purpose",
                    "operator": "isNoneOf",
                    "rightOperand": [{"@id": EVACUATION}],
                }
            ],
        }
    ],
}


def write_files(directory: Path, rows: int, subjects: int) -> dict[str, Path]:
    csv_lines = ["resident_id,area,needs,contact,updated"]
    ndjson_lines = []
    for i in range(rows):
        subject = f"R{i % subjects:06d}"
        area, needs = f"中島{i % 7 + 1}丁目", ("車椅子", "酸素吸入", "視覚", "聴覚")[i % 4]
        contact, updated = f"090-0000-{i % 10000:04d}", "2026-04-01T09:00:00+09:00"
        csv_lines.append(f"{subject},{area},{needs},{contact},{updated}")
        ndjson_lines.append(
            json.dumps(
                {"resident_id": subject, "area": area, "needs": needs, "contact": contact,
                 "updated": updated},
                ensure_ascii=False,
            )
        )  # fmt: skip
    paths = {"csv": directory / "register.csv", "ndjson": directory / "register.ndjson"}
    paths["csv"].write_text("\n".join(csv_lines) + "\n")
    paths["ndjson"].write_text("\n".join(ndjson_lines) + "\n")
    return paths


def consent(space: LocalDataspace, consenting: int) -> None:
    """The residents' consent, written straight into the provider's store (through the API
    each would also get a signed receipt: minutes of setup the benchmark does not measure)."""
    provider = space["provider"].connector
    consumer = space["consumer"].did
    now = provider.clock()
    ids = [f"urn:uuid:{uuid.uuid4()}" for _ in range(consenting)]
    with provider.store.transaction() as tx:
        for n, rid in enumerate(ids):
            tx.add(
                ConsentRecordRow(
                    id=rid,
                    subject=f"R{n:06d}",
                    controller=provider.did,
                    legal_basis="https://w3id.org/dpv#InformedConsent",
                    valid_from=now,
                    status="given",
                    created_at=now,
                    updated_at=now,
                )
            )
        tx.session.flush()  # the records before the rows that name them
        for n, rid in enumerate(ids):
            tx.add(ConsentPurposeRow(record_id=rid, purpose=DISASTER))
            tx.add(ConsentRecipientRow(record_id=rid, recipient=consumer))
            tx.add(
                ConsentGrantRow(
                    record_id=rid,
                    subject=f"R{n:06d}",
                    purpose=DISASTER,
                    recipient=consumer,
                    valid_from=now,
                )
            )


async def pull(space: LocalDataspace, dataset: str, path: Path, personal: bool) -> dict[str, Any]:
    provider, consumer = space["provider"].client, space["consumer"].client
    body: dict[str, Any] = {
        "id": dataset,
        "title": dataset,
        "data_address": {"type": "file", "path": str(path)},
        "offers": [{"policy": {**OFFER, "@id": f"{dataset}:offer"}}],
    }
    if personal:
        body["personal"] = {"subject_field": "resident_id"}
    await provider.call("POST", "/datasets", json=body)
    started = await consumer.call(
        "POST", "/negotiations", json={"provider": space["provider"].did, "dataset_id": dataset}
    )
    done = await consumer.wait_for("negotiations", started["id"], ["FINALIZED"])
    transfer = await consumer.call(
        "POST", "/transfers", json={"agreement_id": done["agreement_id"]}
    )
    record: dict[str, Any] = await consumer.wait_for("transfers", transfer["id"], ["STARTED"])
    settings = space["consumer"].settings
    via = f"{settings.public_url}/management/transfers/{record['id']}/data"
    return {**record["data_address"], "via": (via, settings.management_token)}


async def read(
    http: httpx.AsyncClient, address: dict[str, Any], via: tuple[str, str] | None = None
) -> tuple[float, int, int]:
    """Read a whole body: straight from the provider's data plane, or (`via`: the consumer's
    management URL of the transfer and its token) through the consumer's connector, as
    `tsunagu fetch` does."""
    token = next(p["value"] for p in address["endpointProperties"] if p["name"] == "authorization")
    url, headers = address["endpoint"], {"Authorization": f"Bearer {token}"}
    if via is not None:
        url, headers = via[0], {"Authorization": f"Bearer {via[1]}"}
    started = time.perf_counter()
    size = lines = 0
    async with http.stream(
        "GET", url, headers={**headers, "Accept-Encoding": "identity"}
    ) as response:
        response.raise_for_status()
        async for chunk in response.aiter_raw():
            size += len(chunk)
            lines += chunk.count(b"\n")
    return time.perf_counter() - started, size, lines


async def run(rows: int, runs: int) -> None:
    subjects = rows // 10
    consenting = subjects * 6 // 10
    with tempfile.TemporaryDirectory(prefix="tsunagu-bench-consent-") as tmp:
        root = Path(tmp)
        files = write_files(root, rows, subjects)
        async with LocalDataspace(root) as space:
            await space.start_authority()
            await space.add("provider", "A市", municipality_code="202151")
            await space.add("consumer", "C村", municipality_code="204323")
            consent(space, consenting)
            print(f"{rows:,} rows about {subjects:,} residents; {consenting:,} consent", flush=True)
            async with httpx.AsyncClient(timeout=120) as http:
                for kind, path in files.items():
                    plain = await pull(space, f"urn:bench:{kind}:plain", path, False)
                    personal = await pull(space, f"urn:bench:{kind}:personal", path, True)
                    for address in (plain, personal):  # warm up both paths once
                        await read(http, address)
                    times: dict[str, list[float]] = {}
                    shape = {}
                    for _ in range(runs):
                        for name, address in (("plain", plain), ("personal", personal)):
                            for path, via in (("", None), (" via", address["via"])):
                                seconds, size, lines = await read(http, address, via)
                                times.setdefault(name + path, []).append(seconds)
                                shape[name] = (size, lines)
                    plane = space["provider"].connector.dataplane
                    pid = personal["endpoint"].rsplit("/", 1)[1]
                    snapshot = plane.queries.snapshot(pid)
                    assert snapshot is not None
                    lookups = []
                    for _ in range(runs):
                        started = time.perf_counter()
                        plane.consent.subjects(snapshot)
                        lookups.append(time.perf_counter() - started)
                    lookup = statistics.median(lookups) * 1000
                    print(
                        f"{kind}: {shape['plain'][1]:,} lines ({shape['plain'][0] / 1e6:.1f} MB)"
                        f" unfiltered, {shape['personal'][1]:,} lines filtered; the consent "
                        f"lookup (one query) {lookup:.1f} ms",
                        flush=True,
                    )
                    for path, what in (("", "pull from the provider"), (" via", "through "
                                       "the consumer's connector (tsunagu fetch)")):  # fmt: skip
                        a = statistics.median(times["plain" + path])
                        b = statistics.median(times["personal" + path])
                        print(
                            f"  {what}: without consent {a * 1000:.1f} ms, filtered "
                            f"{b * 1000:.1f} ms, ratio {b / a:.2f} (target < 1.20)",
                            flush=True,
                        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs (under a minute)")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    asyncio.run(run(args.rows, 5 if args.quick else args.runs))


if __name__ == "__main__":
    main()
