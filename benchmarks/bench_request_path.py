"""What each piece of the request path costs, in process (no HTTP server, no network).

Every variant is an ASGI app called directly in one event loop, so the figure is the CPU time
(``time.process_time``) per request of the framework and our code, without uvicorn and the
kernel: the part of a request the design choices change. Each figure is the median over
``--rounds`` rounds of ``--requests`` requests, variants interleaved within a round.

Variants (a published shop of ``--customers`` x top-50 lists in a throwaway namespace):

- ``trivial``: the reference, a FastAPI endpoint returning ``{"ok": true}``.
- ``recommendations``: ``GET /v1/customers/{id}/recommendations`` of the service as built
  (FastAPI parameters and dependencies, the multiplexed Redis client, JSON joined from
  fragments).
- ``recommendations-redis-py``: the same with redis-py's asyncio client
  (``RECSYS_REDIS_MULTIPLEX=false``): the read client's share.
- ``recommendations-realtime-off``: the same with ``RECSYS_REALTIME=false`` (the customer's
  HASH alone instead of a pipeline with their live state): the live state read's share.
- ``recommendations-live-state``: customers with 5 fresh views in their live state (the
  realtime rung folded in: a second round trip for 5 similar lists, mixed with the personal
  list).
- ``route-request-only`` / ``route-with-parameters``: an endpoint that returns constant bytes,
  taking only ``Request``, or the service's path id, query model and service dependency:
  FastAPI's parameter solving.
- ``answer-joined`` / ``answer-response-model``: the same answer returned as joined JSON
  fragments, or as a dict validated and serialised by FastAPI through ``response_model``.
"""

# No ``from __future__ import annotations``: FastAPI must resolve the local query model.

import argparse
import asyncio
import os
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from fastapi import FastAPI, Query, Request  # noqa: E402
from starlette.responses import Response  # noqa: E402

from benchmarks.common import save  # noqa: E402
from benchmarks.trivial_app import app as trivial_app  # noqa: E402
from recsys import columns as C  # noqa: E402
from recsys.events import new_recommendation_id  # noqa: E402
from recsys.store import keys, write_bundle_tables  # noqa: E402
from recsys.store.connection import connect, connect_async, resolve_redis_url  # noqa: E402
from recsys.store.publish import publish  # noqa: E402
from recsys.store.realtime import LiveWriter, plan  # noqa: E402
from recsys.store.versions import unlink_matching  # noqa: E402
from serving.app import create_app  # noqa: E402
from serving.deps import ServiceDep  # noqa: E402
from serving.present import JSONBytes, answer_response  # noqa: E402
from serving.queries import request_models  # noqa: E402
from serving.routes import CustomerId  # noqa: E402
from serving.schemas import RecommendationsOut  # noqa: E402
from serving.settings import Settings  # noqa: E402

Call = Callable[[], Any]


def _shop(customers: int, items: int, seed: int = 0) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    item_ids = [f"I{i:05d}" for i in range(items)]
    catalog = pd.DataFrame(
        {
            C.ITEM_ID: item_ids,
            C.NAME: [f"Item {i}" for i in range(items)],
            C.CATEGORY: [f"cat{i % 20}" for i in range(items)],
            C.PRICE: rng.uniform(1, 100, items).round(2),
            C.IN_STOCK: rng.random(items) > 0.05,
        }
    )

    def ranked(owners: list[str], owner_col: str, item_col: str, n: int) -> pd.DataFrame:
        picks = np.stack([rng.choice(items, n, replace=False) for _ in owners])
        return pd.DataFrame(
            {
                owner_col: np.repeat(owners, n),
                C.RANK: np.tile(np.arange(1, n + 1), len(owners)),
                item_col: np.asarray(item_ids, dtype=object)[picks.ravel()],
                C.SCORE: np.tile(np.linspace(1.0, 0.1, n), len(owners)).astype(np.float32),
            }
        )

    cust = [f"C{i:06d}" for i in range(customers)]
    return {
        "items": catalog,
        "recommendations": ranked(cust, C.CUSTOMER_ID, C.ITEM_ID, 50),
        "buy_again": ranked(cust[: customers // 2], C.CUSTOMER_ID, C.ITEM_ID, 5),
        "similar_items": ranked(item_ids, C.ITEM_ID, C.SIMILAR_ITEM_ID, 20),
        "popular": ranked(["_all"], C.SEGMENT, C.ITEM_ID, 200),
    }


def _scope(method: str, path: str, query: bytes = b"") -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "root_path": "",
        "headers": [(b"host", b"bench")],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }


async def _request(app: Any, path: str, query: bytes = b"") -> int:
    status = 0

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(_scope("GET", path, query), receive, send)
    return status


def _pieces_app(settings: Settings, service_app: FastAPI) -> FastAPI:
    """Endpoints that isolate FastAPI's parameter solving and the answer's serialisation."""
    app = FastAPI()
    app.state = service_app.state
    models = request_models(settings)
    query_model = Annotated[models.recommendations, Query()]  # type: ignore[name-defined]
    constant = b'{"ok":true}'

    @app.get("/request-only/{customer_id:path}")
    async def request_only(request: Request) -> Response:
        return JSONBytes(constant)

    @app.get("/with-parameters/{customer_id:path}")
    async def with_parameters(
        customer_id: CustomerId, query: query_model, service: ServiceDep
    ) -> Response:
        return JSONBytes(constant)

    @app.get("/joined/{customer_id:path}")
    async def joined(request: Request, customer_id: str, service: ServiceDep) -> Response:
        answer = await service.for_customer(customer_id, 10)
        return answer_response(request, answer, customer_id=customer_id)

    @app.get("/response-model/{customer_id:path}", response_model=RecommendationsOut)
    async def response_model(customer_id: str, service: ServiceDep) -> dict[str, Any]:
        answer = await service.for_customer(customer_id, 10)
        view = answer.snapshot.view
        items = []
        for item_id, score, source in answer.items:
            i = view.index.get(item_id)
            item = {"item_id": item_id, "score": score, "source": source}
            if i is not None:
                item.update(name=view.name[i], category=view.category[i], price=view.price[i])
            items.append(item)
        return {
            "customer_id": customer_id,
            "model_version": answer.version,
            "source": answer.source,
            "recommendation_id": new_recommendation_id(),
            "items": items,
        }

    return app


async def _measure(
    variants: dict[str, tuple[Any, Callable[[int], tuple[str, bytes]]]], requests: int, rounds: int
) -> dict[str, list[float]]:
    per_request: dict[str, list[float]] = {name: [] for name in variants}
    for name, (app, target) in variants.items():  # warm-up, and check every variant answers
        for i in range(200):
            status = await _request(app, *target(i))
            if status != 200:
                raise SystemExit(f"{name}: status {status} for {target(i)}")
    for _ in range(rounds):
        for name, (app, target) in variants.items():
            start = time.process_time()
            for i in range(requests):
                await _request(app, *target(i))
            per_request[name].append((time.process_time() - start) / requests)
    return per_request


async def _live_states(url: str, namespace: str, items: int, customer_ids: list[str]) -> None:
    """Give ``customer_ids`` 5 fresh views each in their live state, as events would."""
    rng = random.Random(1)
    client = connect_async(url)
    try:
        writer = LiveWriter(client, namespace, ttl=3600, recent=20)
        now = time.time()
        changes = plan(namespace, [], now)
        for cid in dict.fromkeys(customer_ids):
            views = [("view", f"I{rng.randrange(items):05d}", now - 10 * j) for j in range(5)]
            changes.states[keys.realtime_customer_key(namespace, cid)] = views
        await writer.write(changes, suppress_seconds=0, now=now)
    finally:
        await client.aclose()


async def _run(args: argparse.Namespace, url: str, namespace: str) -> dict[str, list[float]]:
    rng = random.Random(0)
    customers = [f"C{rng.randrange(args.customers):06d}" for _ in range(4096)]
    base = Settings(redis_url=url, namespace=namespace, gc_freeze=False)
    apps = {
        "mux": create_app(base),
        "redis-py": create_app(base.model_copy(update={"redis_multiplex": False})),
        "no-realtime": create_app(base.model_copy(update={"realtime": False})),
    }
    await _live_states(url, namespace, args.items, customers[:512])
    async with (
        apps["mux"].router.lifespan_context(apps["mux"]),
        apps["redis-py"].router.lifespan_context(apps["redis-py"]),
        apps["no-realtime"].router.lifespan_context(apps["no-realtime"]),
    ):
        pieces = _pieces_app(base, apps["mux"])

        def rec(prefix: str) -> Callable[[int], tuple[str, bytes]]:
            return lambda i: (
                f"{prefix}/{customers[i % 4096]}{'/recommendations' * (prefix == '/v1/customers')}",
                b"k=10",
            )

        variants = {
            "trivial": (trivial_app, lambda i: ("/ping", b"")),
            "recommendations": (apps["mux"], rec("/v1/customers")),
            "recommendations-redis-py": (apps["redis-py"], rec("/v1/customers")),
            "recommendations-realtime-off": (apps["no-realtime"], rec("/v1/customers")),
            "recommendations-live-state": (
                apps["mux"],
                lambda i: (f"/v1/customers/{customers[i % 512]}/recommendations", b"k=10"),
            ),
            "route-request-only": (pieces, rec("/request-only")),
            "route-with-parameters": (pieces, rec("/with-parameters")),
            "answer-joined": (pieces, rec("/joined")),
            "answer-response-model": (pieces, rec("/response-model")),
        }
        return await _measure(variants, args.requests, args.rounds)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=20000)
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=2000, help="per variant and round")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)

    url = resolve_redis_url(None)
    client = connect(url)
    namespace = f"bench:{uuid.uuid4().hex[:8]}"
    try:
        with tempfile.TemporaryDirectory() as tmp:
            manifest = {"version": "bench", "created_at": "2026-01-01T00:00:00Z", "top_n": 50}
            path = write_bundle_tables(
                Path(tmp) / "bench", manifest, **_shop(args.customers, args.items)
            )
            publish(path, client, namespace=namespace)
        per_request = asyncio.run(_run(args, url, namespace))
    finally:
        unlink_matching(client, keys.namespace_pattern(namespace))

    us = {name: 1e6 * statistics.median(values) for name, values in per_request.items()}
    trivial = us["trivial"]
    print(f"{'variant':28} {'CPU us/request':>15} {'x trivial':>10}")
    for name, value in us.items():
        print(f"{name:28} {value:15.1f} {value / trivial:10.2f}")
    pieces = {
        "FastAPI parameters + service dependency": us["route-with-parameters"]
        - us["route-request-only"],
        "response_model instead of joined JSON": us["answer-response-model"] - us["answer-joined"],
        "redis-py client instead of the multiplexed one": us["recommendations-redis-py"]
        - us["recommendations"],
        "live state read (realtime on, no events)": us["recommendations"]
        - us["recommendations-realtime-off"],
        "realtime rung (5 fresh views folded in)": us["recommendations-live-state"]
        - us["recommendations"],
    }
    for what, cost in pieces.items():
        print(f"cost of {what}: {cost:+.1f} us/request")
    payload = {
        "customers": args.customers,
        "requests": args.requests,
        "rounds": args.rounds,
        "cpu_us_per_request": {k: round(v, 1) for k, v in us.items()},
        "piece_costs_us": {k: round(v, 1) for k, v in pieces.items()},
    }
    print(f"saved {save('request_path', payload)}")
    return payload


if __name__ == "__main__":
    main()
