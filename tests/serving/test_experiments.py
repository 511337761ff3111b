"""A/B experiments through the API (TestClient and a real uvicorn process, real Redis): the
arm's version answers, answers say which experiment and arm, stop and vanished versions fall
back to the active version."""

from __future__ import annotations

import time
from collections import Counter

import httpx
import pytest
import redis

from recsys.events.recommendation_id import Attribution, parse_recommendation_id
from recsys.experiments import assign, make_experiment, parse_arms
from recsys.experiments.registry import get_experiment, start_experiment, stop_experiment
from recsys.store.families import RUNNING_EXPERIMENTS
from recsys.store.versions import drop_version
from serving.settings import Settings
from tests.serving.conftest import Publisher, ids, serve
from tests.serving.process import serving_process

URL = "/v1/customers/{}/recommendations"
#: c1's answer (k=3) in each version of the tiny shop.
C1 = {"v1": ["i04", "i05", "i07"], "v2": ["i06", "i10", "i12"]}


def _start(client: redis.Redis, ns: str, name: str, spec: str, unit: str = "customer"):
    return start_experiment(client, ns, make_experiment(name, parse_arms(spec), unit=unit))


@pytest.fixture
def two_versions(publish_shop: Publisher) -> None:
    publish_shop("v1"), publish_shop("v2")  # v2 active


def test_answers_carry_the_arm_and_its_version_and_stop_returns_to_the_active_one(
    two_versions: None, settings: Settings, redis_client: redis.Redis, namespace: str
) -> None:
    experiment = _start(redis_client, namespace, "ab", "v1:50,v2:50")
    with serve(settings) as api:
        arm = assign(experiment, "c1")
        r = api.get(URL.format("c1"), params={"k": 3, "channel": "email"})
        assert r.status_code == 200 and r.headers["x-model-version"] == arm.version
        body = r.json()
        assert (body["experiment"], body["arm"], body["model_version"]) == (
            "ab",
            arm.arm,
            arm.version,
        )
        assert ids(body) == C1[arm.version]
        said = parse_recommendation_id(body["recommendation_id"])
        assert said == Attribution(arm.version, "personal", "email", "ab", arm.arm)
        # The similar-items answer has no unit: the active version, no experiment.
        similar = api.get("/v1/items/i04/similar").json()
        assert (similar["model_version"], similar["experiment"], similar["arm"]) == (
            "v2",
            None,
            None,
        )
        # Both arms answer someone.
        seen = {api.get(URL.format(f"u{n}")).json()["arm"] for n in range(40)}
        assert seen == {"A", "B"}
        stop_experiment(redis_client, namespace, "ab")
        for customer in ("c1", "u1", "u2", "u3"):
            after = api.get(URL.format(customer))
            assert after.headers["x-model-version"] == "v2"
            assert (after.json()["experiment"], after.json()["arm"]) == (None, None)


def test_a_sample_of_2000_customers_through_the_api_splits_within_2_points(
    two_versions: None, redis_url: str, redis_client: redis.Redis, namespace: str
) -> None:
    experiment = _start(redis_client, namespace, "split", "v1:50,v2:50")
    settings = Settings(redis_url=redis_url, namespace=namespace, gc_freeze=False)
    arms: Counter[str] = Counter()
    with serve(settings) as api:
        for n in range(2000):
            r = api.get(URL.format(f"customer-{n}"), params={"k": 1})
            body = r.json()
            expected = assign(experiment, f"customer-{n}")
            assert (body["arm"], body["model_version"]) == (expected.arm, expected.version)
            assert r.headers["x-model-version"] == expected.version
            arms[body["arm"]] += 1
    assert abs(arms["A"] / 2000 - 0.5) < 0.02, arms


def test_a_session_experiment_splits_by_session_id(
    two_versions: None, settings: Settings, redis_client: redis.Redis, namespace: str
) -> None:
    experiment = _start(redis_client, namespace, "carts", "v1:50,v2:50", unit="session")
    url = "/v1/recommendations/session"
    with serve(settings) as api:
        for n in range(10):
            session = f"s{n}"
            body = api.post(url, json={"item_ids": ["i01"], "session_id": session}).json()
            arm = assign(experiment, session)
            assert (body["experiment"], body["arm"], body["model_version"]) == (
                "carts",
                arm.arm,
                arm.version,
            )
        anonymous = api.post(url, json={"item_ids": ["i01"]}).json()
        assert (anonymous["experiment"], anonymous["model_version"]) == (None, "v2")
        # A customer request is not split by a session experiment.
        assert api.get(URL.format("c1")).json()["experiment"] is None


def test_customer_offers_follow_the_arm(
    publish_shop: Publisher, settings: Settings, redis_client: redis.Redis, namespace: str
) -> None:
    publish_shop("v1"), publish_shop("v2")
    experiment = _start(redis_client, namespace, "offers", "v1:50,v2:50")
    with serve(settings) as api:
        for customer in ("c1", "c2", "c3"):
            arm = assign(experiment, customer)
            r = api.get(f"/v1/customers/{customer}/offers", params={"channel": "web"})
            assert r.status_code == 200 and r.headers["x-model-version"] == arm.version
            body = r.json()
            assert (body["experiment"], body["arm"]) == ("offers", arm.arm)
            said = parse_recommendation_id(body["recommendation_id"])
            assert said is not None and (said.experiment, said.arm) == ("offers", arm.arm)


def test_a_vanished_arm_version_falls_back_to_the_active_one(
    two_versions: None,
    settings: Settings,
    redis_client: redis.Redis,
    namespace: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    experiment = _start(redis_client, namespace, "gone", "v1:50,v2:50")
    in_v1 = next(f"u{n}" for n in range(100) if assign(experiment, f"u{n}").version == "v1")
    with serve(settings) as api:
        assert api.get(URL.format(in_v1)).json()["model_version"] == "v1"
        drop_version(redis_client, namespace, "v1")  # behind the protection's back
        r = api.get(URL.format(in_v1))
        assert r.status_code == 200 and r.headers["x-model-version"] == "v2"
        assert (r.json()["experiment"], r.json()["arm"]) == (None, None)
    assert any("v1 no longer exist" in m for m in caplog.messages)


def test_a_corrupt_experiment_value_is_ignored_not_a_500(
    two_versions: None, settings: Settings, redis_client: redis.Redis, namespace: str
) -> None:
    redis_client.set(RUNNING_EXPERIMENTS.key(namespace), b'{"x": {"arms": 3}}')
    with serve(settings) as api:
        r = api.get(URL.format("c1"))
        assert r.status_code == 200 and r.json()["model_version"] == "v2"
        assert r.json()["experiment"] is None


def test_a_running_uvicorn_process_sees_start_and_stop_within_the_cache_interval(
    two_versions: None, redis_url: str, redis_client: redis.Redis, namespace: str
) -> None:
    from training.cli import main

    where = ["--redis", redis_url, "--namespace", namespace]
    cache = {"RECSYS_VERSION_CACHE_SECONDS": "0.5"}
    with (
        serving_process(redis_url, namespace, cache) as base,
        httpx.Client(base_url=base, timeout=5) as http,
    ):

        def arms_now() -> Counter[str]:
            got: Counter[str] = Counter()
            for n in range(200):
                r = http.get(URL.format(f"p{n}"), params={"k": 1})
                assert r.status_code == 200
                body = r.json()
                assert r.headers["x-model-version"] == body["model_version"]
                got[f"{body['arm']}:{body['model_version']}"] += 1
            return got

        assert arms_now() == Counter({"None:v2": 200})
        assert main(["experiments", "start", "live", "--versions", "v1:50,v2:50", *where]) == 0
        time.sleep(0.6)  # the version-cache interval
        experiment = get_experiment(redis_client, namespace, "live")
        assert experiment is not None
        expected = Counter(
            f"{a.arm}:{a.version}" for a in (assign(experiment, f"p{n}") for n in range(200))
        )
        assert arms_now() == expected and set(expected) == {"A:v1", "B:v2"}
        assert main(["experiments", "stop", "live", *where]) == 0
        time.sleep(0.6)
        assert arms_now() == Counter({"None:v2": 200})
