"""Version switches: the header and answers follow the pointer; every answer is whole."""

from __future__ import annotations

import threading
import time

import redis
from fastapi.testclient import TestClient

from recsys.store import rollback
from serving.settings import Settings
from tests.serving.conftest import Publisher, ids, serve

REC = "/v1/customers/c1/recommendations"
# c1's full answer in each version (hand-worked from the tables in conftest).
EXPECTED = {
    "v1": ["i04", "i05", "i07", "i06", "i11", "i08", "i10", "i12"],
    "v2": ["i06", "i10", "i12", "i11", "i04", "i05", "i08", "i07"],
}
# The in-process fallback (global popular, in stock) of each version: what a request answers
# when its Redis read times out (e.g. behind a concurrent publish on a busy machine).
FALLBACK = {
    "v1": ["i01", "i02", "i04", "i05", "i06", "i07", "i08", "i10", "i11", "i12"],
    "v2": ["i12", "i11", "i10", "i08", "i07", "i06", "i05", "i04", "i02", "i01"],
}


def test_publish_between_requests_switches_header_and_answers(
    api: TestClient, publish_shop: Publisher, redis_client: redis.Redis, namespace: str
) -> None:
    r = api.get(REC)
    assert (r.headers["x-model-version"], ids(r.json())) == ("v1", EXPECTED["v1"])
    publish_shop("v2")
    r = api.get(REC)
    assert r.headers["x-model-version"] == "v2"
    assert r.json()["model_version"] == "v2"
    assert ids(r.json()) == EXPECTED["v2"]
    assert ids(api.get("/v1/customers/c2/recommendations", params={"k": 2}).json()) == [
        "i05",
        "i04",
    ]
    assert api.get("/v1/model").json()["manifest"]["version"] == "v2"
    assert api.get("/healthz").headers["x-model-version"] == "v2"
    rollback(redis_client, namespace, "v1")
    r = api.get(REC)
    assert (r.headers["x-model-version"], ids(r.json())) == ("v1", EXPECTED["v1"])


def test_pointer_cache_delays_the_switch_by_at_most_its_ttl(
    publish_shop: Publisher, settings: Settings
) -> None:
    publish_shop("v1")
    with serve(settings.model_copy(update={"version_cache_seconds": 1.0})) as c:
        service = c.app.state.service  # type: ignore[attr-defined]
        now = [time.monotonic() + 10]  # past the pointer cached at start-up
        service.clock = lambda: now[0]
        assert c.get(REC).headers["x-model-version"] == "v1"
        publish_shop("v2")
        now[0] += 0.9
        assert c.get(REC).headers["x-model-version"] == "v1"  # pointer still cached
        now[0] += 0.2
        r = c.get(REC)
        assert (r.headers["x-model-version"], ids(r.json())) == ("v2", EXPECTED["v2"])


def test_publish_while_requests_run_gives_whole_answers(
    api: TestClient, publish_shop: Publisher
) -> None:
    results: list[tuple[int, str | None, str | None, list[str], str | None]] = []
    published = threading.Event()
    started = threading.Event()
    errors: list[BaseException] = []

    def hammer() -> None:
        try:
            extra = 0
            while len(results) < 2000 and extra < 100:
                r = api.get(REC)
                body = r.json()
                results.append(
                    (r.status_code, r.headers.get("x-model-version"), body.get("model_version"),
                     ids(body) if r.status_code == 200 else [], body.get("source"))
                )  # fmt: skip
                if len(results) == 20:
                    started.set()
                if published.is_set():
                    extra += 1
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
            started.set()

    thread = threading.Thread(target=hammer)
    thread.start()
    started.wait(timeout=30)
    publish_shop("v2")
    published.set()
    thread.join(timeout=60)
    assert not thread.is_alive()
    assert not errors
    assert len(results) >= 120
    for status, header, version, items, source in results:
        assert status == 200
        assert header == version
        # Whole answers of one version: its personal list, or (degraded) its fallback.
        assert items == (FALLBACK[version] if source == "popular" else EXPECTED[version])
    assert sum(source == "personal" for *_, source in results) >= 0.9 * len(results)
    versions = [header for _, header, _, _, _ in results]
    assert versions[0] == "v1" and versions[-1] == "v2"
    # Once the switch is seen, it never goes back.
    assert versions == sorted(versions)
