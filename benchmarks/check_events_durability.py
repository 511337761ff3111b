"""Durability check of ``POST /v1/events``: ``kill -9`` the service while a client sends
events; no event that got a 202 may be lost or duplicated.

1. Start the service (uvicorn, one worker, 127.0.0.1) on a throwaway namespace.
2. A client thread sends batches of events with unique ids back to back; a batch whose answer
   never came (the connection died) is sent again after the restart, as a real client retries.
3. Every ``--kill-every`` seconds the service is killed with SIGKILL mid-stream and restarted,
   ``--kills`` times.
4. ``recsys events export`` runs in a subprocess, is killed with SIGKILL part-way once, and
   is run again to the end.
5. Assert: the export holds every event of every batch answered 202 exactly once.

Run by ``make bench`` (benchmarks/run.py); ``python -m benchmarks.check_events_durability``.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx
import pyarrow.parquet as pq

from benchmarks.common import ROOT, save
from benchmarks.servers import free_port, uvicorn_cmd, wait_http
from recsys.store import keys
from recsys.store.connection import connect, resolve_redis_url
from recsys.store.versions import unlink_matching


class Sender(threading.Thread):
    """Sends batches until stopped; remembers which event ids got a 202."""

    def __init__(self, base: str, batch: int) -> None:
        super().__init__(daemon=True)
        self.base, self.batch = base, batch
        self.confirmed: set[str] = set()
        self.retries = 0
        self.failures = 0
        self.stop = threading.Event()
        self._n = 0

    def _events(self) -> list[dict]:
        out = []
        for _ in range(self.batch):
            self._n += 1
            out.append(
                {
                    "event_id": f"d{self._n}",
                    "event_type": "view" if self._n % 3 else "add_to_cart",
                    "customer_id": f"c{self._n % 97}",
                    "item_id": f"i{self._n % 31}",
                }
            )
        return out

    def run(self) -> None:
        pending: list[dict] | None = None
        with httpx.Client(timeout=5.0) as client:
            while not self.stop.is_set():
                events = pending or self._events()
                try:
                    answer = client.post(f"{self.base}/v1/events", json={"events": events})
                except httpx.HTTPError:
                    pending = events  # no answer: retry the same batch (same ids)
                    self.failures += 1
                    self.retries += 1
                    time.sleep(0.05)
                    continue
                if answer.status_code == 202:
                    body = answer.json()
                    assert not body["rejected"], body
                    self.confirmed.update(e["event_id"] for e in events)
                    pending = None
                else:
                    pending = events
                    self.retries += 1
                    time.sleep(0.05)
            # Finish a batch left without an answer, so every batch sent ends up confirmed.
            while pending is not None:
                try:
                    answer = client.post(f"{self.base}/v1/events", json={"events": pending})
                except httpx.HTTPError:
                    time.sleep(0.1)
                    continue
                if answer.status_code == 202:
                    self.confirmed.update(e["event_id"] for e in pending)
                    pending = None


def _start(port: int, env: dict[str, str]) -> subprocess.Popen:
    proc = subprocess.Popen(
        uvicorn_cmd("serving.app:create_app", port, factory=True),
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_http(f"http://127.0.0.1:{port}/healthz")
    return proc


def _export(out: Path, env: dict[str, str], kill_after: float | None = None) -> int:
    cmd = [
        sys.executable,
        "-m",
        "training.cli",
        "events",
        "export",
        "--out",
        str(out),
        "--batch",
        "500",
        "--quiet",
    ]
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    if kill_after is not None:
        time.sleep(kill_after)
        proc.send_signal(signal.SIGKILL)
    _, err = proc.communicate(timeout=300)
    if kill_after is None and proc.returncode != 0:
        raise RuntimeError(f"export failed: {err.decode()[-500:]}")
    return proc.returncode


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kills", type=int, default=3)
    parser.add_argument("--kill-every", type=float, default=2.0, help="seconds between kills")
    parser.add_argument("--batch", type=int, default=50, help="events per request")
    args = parser.parse_args(argv)

    url = resolve_redis_url(None)
    client = connect(url)
    namespace = f"bench:{uuid.uuid4().hex[:8]}"
    env = {
        "RECSYS_REDIS_URL": url,
        "RECSYS_NAMESPACE": namespace,
        "RECSYS_API_KEYS": "",
        "OPENBLAS_NUM_THREADS": "1",
    }
    port = free_port()
    sender = Sender(f"http://127.0.0.1:{port}", args.batch)
    proc = _start(port, env)
    try:
        sender.start()
        for _ in range(args.kills):
            time.sleep(args.kill_every)
            proc.send_signal(signal.SIGKILL)  # kill -9, mid-stream
            proc.wait()
            proc = _start(port, env)
        time.sleep(args.kill_every)
        sender.stop.set()
        sender.join(timeout=60)
        proc.terminate()
        proc.wait(timeout=10)
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "events"
            killed = _export(out, env, kill_after=0.8)
            _export(out, env)
            table = pq.read_table(sorted(out.rglob("part-*.parquet")), columns=["event_id"])
            exported = table.column("event_id").to_pylist()
    finally:
        if proc.poll() is None:
            proc.kill()
        unlink_matching(client, keys.namespace_pattern(namespace))

    lost = sender.confirmed - set(exported)
    duplicated = len(exported) - len(set(exported))
    result = {
        "kills": args.kills,
        "confirmed_events": len(sender.confirmed),
        "exported_events": len(exported),
        "lost": len(lost),
        "duplicated": duplicated,
        "unconfirmed_exported": len(set(exported) - sender.confirmed),
        "requests_without_answer": sender.failures,
        "retried_batches": sender.retries,
        "first_export_exit": killed,
    }
    for name, value in result.items():
        print(f"  {name}: {value}")
    assert sender.confirmed, "no event was confirmed"
    assert not lost, f"{len(lost)} events answered 202 are missing from the export"
    assert duplicated == 0, f"{duplicated} events exported more than once"
    print(f"saved {save('events_durability', result)}")
    return result


if __name__ == "__main__":
    main()
