"""Bench: upsert N records into the Salesforce sandbox through sObject Collections.

    .venv/bin/python bench/bench_collections_upsert.py [--records 100000] [--passes 2]
        [--workers 1] [--in-process] [--seed 1] [--json]

``--json`` adds the figures for ``python -m bench`` (one ``BENCH_JSON`` line).

Starts the Salesforce emulator over TLS on an ephemeral port, in its own process by default
(so client and emulator do not share one interpreter lock, as in production) or in a thread with
``--in-process``, with a fresh SQLite file in a temporary directory. Then it upserts N
deterministic Leads by ``HubSpot_Id__c`` with ``SalesforceClient.collections_upsert`` (chunks of
200, the way the sync pushes), ``--passes`` times: the first pass creates, the next ones update.

For each pass it prints records/s, the API calls made, and the share of wall time spent inside
the emulator's handlers (summed server-side from ``/_sandbox/status``; divided by the number of
workers when calls overlap), plus the handlers' CPU time, which a busy machine distorts less. A
share under 50 % means the emulator is not the bottleneck: the rest is the client (JSON, TLS,
HTTP) and the network stack. In subprocess mode it also compares the CPU per record of the whole
emulator process (its TLS and HTTP server included) with the client process's.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

FIRST = ["Ana", "Ben", "Chloé", "Dmitri", "Eve", "Farid", "Gus", "Hana", "Inès", "Jon", "Kai", "Lou"]
LAST = ["Martin", "Bernard", "Dubois", "Smith", "García", "Rossi", "Müller", "Kowalski", "Sato", "Nguyen"]
COMPANIES = ["Acme", "Globex", "Initech", "Umbrella", "Hooli", "Stark", "Wayne", "Wonka", "Soylent"]
CITIES = ["Paris", "Lyon", "Berlin", "Madrid", "Rome", "Tokyo", "Montréal", "Austin", "Lagos"]
SOURCES = ["Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other"]


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def make_records(count: int, seed: int, pass_number: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    records = []
    for i in range(count):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        records.append(
            {
                "HubSpot_Id__c": str(1_000_000 + i),
                "FirstName": first,
                "LastName": last,
                "Email": f"{first.lower()}.{last.lower()}.{i}@example.com".encode("ascii", "ignore").decode(),
                "Company": rng.choice(COMPANIES),
                "City": rng.choice(CITIES),
                "LeadSource": rng.choice(SOURCES),
                "NumberOfEmployees": rng.randint(1, 50_000),
                # Changes on every pass so updates really write.
                "Title": f"Title {pass_number}-{rng.randint(1, 99)}",
            }
        )
    return records


# -- emulator ---------------------------------------------------------------------------------


def serve(db: str, cert_dir: str) -> None:
    """Subprocess mode: serve the emulator, print its port, run until stdin closes."""
    _setup_django()
    from sandbox.salesforce import make_app
    from sandbox.server import ensure_certificate, serve_in_thread, server_ssl_context, tune_gc_for_serving

    tune_gc_for_serving()  # as ``sandbox_serve`` does
    app = make_app(db)
    cert, key = ensure_certificate(cert_dir)
    server, port = serve_in_thread(app, "127.0.0.1", 0, server_ssl_context(cert, key))
    print(f"PORT {port}", flush=True)
    sys.stdin.read()
    server.shutdown()


class Emulator:
    def __init__(self, tmp: Path, in_process: bool) -> None:
        self.tmp = tmp
        self.in_process = in_process
        self._context: Any = None
        self._process: subprocess.Popen[str] | None = None

    def __enter__(self) -> Emulator:
        if self.in_process:
            from sandbox.salesforce.testing import running_salesforce_server

            self._context = running_salesforce_server(self.tmp)
            srv = self._context.__enter__()
            self.url, self.cert = srv.url, srv.cert_path
            return self
        cert_dir = self.tmp / "cert"
        self._process = subprocess.Popen(
            [sys.executable, __file__, "--serve", str(self.tmp / "salesforce.sqlite3"), str(cert_dir)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=str(ROOT),
        )
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line.startswith("PORT "):
            raise RuntimeError(f"The emulator did not start: {line!r}")
        self.url = f"https://127.0.0.1:{int(line.split()[1])}"
        self.cert = cert_dir / "sandbox-cert.pem"
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._context is not None:
            self._context.__exit__(*exc)
        if self._process is not None:
            assert self._process.stdin is not None
            self._process.stdin.close()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()

    def status(self, session: Any) -> dict[str, Any]:
        return session.get(self.url + "/_sandbox/status", timeout=30).json()


# -- bench ------------------------------------------------------------------------------------


def run(records: int, passes: int, workers: int, object_name: str, in_process: bool, seed: int) -> dict[str, Any]:
    _setup_django()
    from integration.clients.salesforce import SalesforceClient
    from sandbox.testing import trusting_session

    results: dict[str, Any] = {
        "records": records,
        "workers": workers,
        "object": object_name,
        "emulator": "thread" if in_process else "subprocess",
        "passes": [],
    }
    with tempfile.TemporaryDirectory(prefix="bench-sf-") as tmp, Emulator(Path(tmp), in_process) as emulator:
        control = trusting_session(emulator.cert)
        # A bench would spend a real org's allowance several times over.
        control.post(emulator.url + "/_sandbox/settings", json={"daily_api_max": 100_000_000}, timeout=30)
        local = threading.local()
        clients: list[SalesforceClient] = []
        clients_lock = threading.Lock()

        def client() -> SalesforceClient:
            if not hasattr(local, "client"):
                local.client = SalesforceClient(
                    instance_url=emulator.url, access_token="sandbox", session=trusting_session(emulator.cert)
                )
                with clients_lock:
                    clients.append(local.client)
            return local.client

        def upsert(chunk: list[dict[str, Any]]) -> tuple[int, int]:
            out = client().collections_upsert(object_name, "HubSpot_Id__c", chunk)
            return sum(r.success for r in out), sum(bool(r.created) for r in out)

        for number in range(1, passes + 1):
            data = make_records(records, seed, number)
            # Each worker sends several collection calls per task, as a sync batch would.
            tasks = [data[i : i + 2000] for i in range(0, len(data), 2000)]
            before = emulator.status(control)["handler"]
            calls_before = sum(c.api_calls.value for c in clients)
            started, cpu_started = time.perf_counter(), time.process_time()
            if workers == 1:
                outcomes = [upsert(task) for task in tasks]
            else:
                with ThreadPoolExecutor(max_workers=workers) as pool:
                    outcomes = list(pool.map(upsert, tasks))
            wall = time.perf_counter() - started
            client_cpu = time.process_time() - cpu_started
            after = emulator.status(control)["handler"]
            handler = after["seconds"] - before["seconds"]
            handler_cpu = after["cpu_seconds"] - before["cpu_seconds"]
            process_cpu = after["process_cpu_seconds"] - before["process_cpu_seconds"]
            ok = sum(o[0] for o in outcomes)
            created = sum(o[1] for o in outcomes)
            results["passes"].append(
                {
                    "pass": number,
                    "kind": "create" if created else "update",
                    "ok": ok,
                    "created": created,
                    "seconds": round(wall, 3),
                    "records_per_second": round(records / wall, 1) if wall else None,
                    "api_calls": sum(c.api_calls.value for c in clients) - calls_before,
                    "emulator_seconds": round(handler, 3),
                    "emulator_share": round(handler / (wall * workers), 3) if wall else None,
                    # CPU time is steadier than wall time on a busy machine.
                    "emulator_cpu_seconds": round(handler_cpu, 3),
                    "emulator_cpu_share": round(handler_cpu / (wall * workers), 3) if wall else None,
                    # This process's CPU: the client (JSON, simple-salesforce, TLS), plus the
                    # emulator when it runs in a thread here.
                    "bench_process_cpu_seconds": round(client_cpu, 3),
                    # The emulator's whole process, TLS and HTTP included (subprocess mode only).
                    "emulator_process_cpu_seconds": None if in_process else round(process_cpu, 3),
                }
            )
            if ok != records:
                raise SystemExit(f"Pass {number}: only {ok} of {records} records were upserted.")
        results["stored"] = emulator.status(control)["records"]
    return results


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--passes", type=int, default=2, help="1st pass creates, the next ones update")
    parser.add_argument("--workers", type=int, default=1, help="concurrent clients")
    parser.add_argument("--in-process", action="store_true", help="emulator in a thread of this process")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--serve", nargs=2, metavar=("DB", "CERT_DIR"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(*args.serve)
        return {}
    results = run(args.records, args.passes, args.workers, "Lead", args.in_process, args.seed)
    print(
        f"Collections upsert of {results['records']:,} {results['object']}s "
        f"({results['workers']} worker(s), emulator in a {results['emulator']})"
    )
    for item in results["passes"]:
        print(
            f"  pass {item['pass']} ({item['kind']}): {item['seconds']:.2f} s, "
            f"{item['records_per_second']:,.0f} records/s, {item['api_calls']} API calls, "
            f"emulator {item['emulator_seconds']:.2f} s = {item['emulator_share']:.0%} of wall time "
            f"(CPU {item['emulator_cpu_seconds']:.2f} s = {item['emulator_cpu_share']:.0%}); CPU of the "
            + (
                f"emulator process {item['emulator_process_cpu_seconds']:.2f} s, "
                if item["emulator_process_cpu_seconds"] is not None
                else ""
            )
            + f"bench process {item['bench_process_cpu_seconds']:.2f} s"
        )
    print(f"  stored: {results['stored']}")
    from bench.common import Figure, emit

    figures = []
    for item in results["passes"]:
        label = f"collections upsert of {results['records']:,} Leads into the emulator, {item['kind']}"
        figures += [
            Figure(f"{label}: throughput", item["records_per_second"], "records/s"),
            Figure(
                f"{label}: emulator's share of the time",
                100 * item["emulator_share"],
                "%",
                "< 50 % (the client is the bottleneck)",
            ),
        ]
        if item["emulator_process_cpu_seconds"] is not None:
            # The whole emulator process (its TLS and HTTP too) against the client's process.
            per_record = 1e6 / results["records"]
            figures.append(
                Figure(
                    f"{label}: CPU per record, emulator process vs client process",
                    item["emulator_process_cpu_seconds"] * per_record,
                    "µs",
                    baseline=item["bench_process_cpu_seconds"] * per_record,
                    baseline_name="client process",
                )
            )
    emit(figures, as_json=args.json)
    return results


if __name__ == "__main__":
    main()
