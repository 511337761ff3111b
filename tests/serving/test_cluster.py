"""The service on Redis Cluster: train -> publish (CLI) -> serve over HTTP -> rollback -> prune,
with every answer compared to the same bundle served from a single Redis."""

from __future__ import annotations

import re

import pandas as pd
import pytest
import redis.asyncio.cluster
from fastapi.testclient import TestClient

from recsys.events.recommendation_id import PATTERN as RID_PATTERN
from recsys.store.publish import publish
from recsys.store.versions import list_versions, prune_versions
from serving.app import create_app
from serving.metrics import MODEL_VERSION_HEADER
from serving.redis_mux import MultiplexedRedis
from serving.settings import Settings
from tests.cluster_fixture import routing_errors
from training.cli import main

N_CUSTOMERS = 200
N_ITEMS = 40
VERSION_HEADER = MODEL_VERSION_HEADER.decode()


def _settings(url: str, namespace: str, multiplex: bool = True) -> Settings:
    return Settings(
        redis_url=url,
        namespace=namespace,
        version_cache_seconds=0,
        redis_multiplex=multiplex,
        gc_freeze=False,
    )


def _paths(bundle_dir) -> list[str]:
    """200 sampled customers (a few unknown) and 40 items (a few unknown) of the bundle."""
    recs = pd.read_parquet(bundle_dir / "recommendations.parquet")
    items = pd.read_parquet(bundle_dir / "items.parquet")
    customers = recs["customer_id"].drop_duplicates().sample(N_CUSTOMERS - 5, random_state=1)
    unknown = [f"nobody-{i}" for i in range(5)]
    some_items = items["item_id"].sample(N_ITEMS - 2, random_state=1).tolist() + ["no1", "no2"]
    return [f"/v1/customers/{c}/recommendations?k=10" for c in [*customers, *unknown]] + [
        f"/v1/items/{i}/similar?k=5" for i in some_items
    ]


def _answers(api: TestClient, paths: list[str]) -> list[tuple[int, str, object]]:
    """(status, version header, body) per path; ``recommendation_id`` (new for every answer)
    is checked for shape and left out of the comparison."""
    out = []
    for path in paths:
        response = api.get(path)
        body = response.json()
        rid = body.pop("recommendation_id", None) if isinstance(body, dict) else None
        assert rid is None or re.fullmatch(RID_PATTERN, rid)
        out.append((response.status_code, response.headers.get(VERSION_HEADER), body))
    return out


def test_train_publish_serve_rollback_prune_on_a_cluster(
    cluster_bundles,
    redis_cluster,
    cluster_url,
    cluster_client,
    cluster_namespace,
    cluster_commands,
    redis_url,
    redis_client,
    namespace,
    capsys,
):
    first, second = cluster_bundles
    errors_before = routing_errors(redis_cluster)
    cli = ["--redis", cluster_url, "--namespace", cluster_namespace]
    assert main(["publish", str(first), *cli, "--quiet"]) == 0
    publish(first, redis_client, namespace=namespace)  # the same bundle on a single Redis
    paths = _paths(first)

    with TestClient(create_app(_settings(redis_url, namespace))) as single:
        expected = _answers(single, paths)
    assert sum(status == 200 for status, _, _ in expected) >= N_CUSTOMERS + N_ITEMS - 10
    assert {version for status, version, _ in expected if status == 200} == {first.name}

    cluster_commands.commands.clear()
    # The multiplexed connection is for single servers: the cluster URL gets redis-py's
    # asyncio cluster client whatever the setting says.
    with TestClient(create_app(_settings(cluster_url, cluster_namespace))) as api:
        client = api.app.state.service.reader.client  # type: ignore[attr-defined]
        assert isinstance(client, redis.asyncio.cluster.RedisCluster)
        assert not isinstance(client, MultiplexedRedis)
        assert _answers(api, paths) == expected  # 240 answers, the same JSON
        request_path = list(cluster_commands.commands)
        node = redis_cluster.node(redis_cluster.ports[0])
        assert len(request_path) >= len(paths)  # every request read the cluster
        assert cluster_commands.violations(node, one_key=True) == []

        # A second version, then rollback through the CLI: the next answers follow the pointer.
        assert main(["publish", str(second), *cli, "--quiet"]) == 0
        assert api.get(paths[0]).headers[VERSION_HEADER] == second.name
        assert main(["rollback", first.name, *cli]) == 0
        assert _answers(api, paths[:20]) == expected[:20]

        # Forward again and prune: the first version's keys leave every node.
        assert main(["rollback", second.name, *cli]) == 0
        assert prune_versions(cluster_client, cluster_namespace, keep=1) == [first.name]
        assert [v.version for v in list_versions(cluster_client, cluster_namespace)] == [
            second.name
        ]
        assert api.get(paths[0]).headers[VERSION_HEADER] == second.name
    capsys.readouterr()
    assert main(["rollback", first.name, *cli]) == 2  # pruned: not a version to roll back to
    assert capsys.readouterr().err.strip().startswith("error: cannot roll back to")
    assert cluster_commands.violations(node, one_key=False) == []
    assert routing_errors(redis_cluster) == errors_before  # no MOVED/ASK/CROSSSLOT


@pytest.mark.parametrize("multiplex", [True, False], ids=["multiplexed", "redis-py"])
def test_cluster_url_ignores_the_multiplex_setting(cluster_url, cluster_namespace, multiplex):
    with TestClient(create_app(_settings(cluster_url, cluster_namespace, multiplex))) as api:
        service = api.app.state.service  # type: ignore[attr-defined]
        assert isinstance(service.reader.client, redis.asyncio.cluster.RedisCluster)
        response = api.get("/v1/customers/c1/recommendations")
        assert response.status_code == 503  # nothing published in this namespace
        assert response.json()["error"]["code"] == "no_model"


def test_an_unreachable_cluster_is_a_503_not_a_crash(cluster_namespace):
    url = "redis+cluster://127.0.0.1:1,127.0.0.1:2"
    settings = _settings(url, cluster_namespace).model_copy(
        update={"redis_connect_timeout": 0.2, "redis_socket_timeout": 0.2}
    )
    with TestClient(create_app(settings)) as api:
        response = api.get("/v1/customers/c1/recommendations")
        assert response.status_code == 503, response.text
        error = response.json()["error"]
        assert error["code"] == "unavailable" and "Redis cannot be read" in error["message"]
