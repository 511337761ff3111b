"""The multiplexed Redis client against real servers: replies reach their own callers,
errors keep redis-py's types, and a lost, refused or silent server fails fast and recovers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from redis import exceptions as rx

from serving.redis_mux import MultiplexedRedis, supports
from tests.serving.redis_server import ThrowawayRedis


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ThrowawayRedis]:
    srv = ThrowawayRedis(tmp_path, password="s3cret")
    srv.start()
    try:
        yield srv
    finally:
        srv.kill()


def test_supported_schemes() -> None:
    assert supports("redis://127.0.0.1:6379/0")
    assert supports("unix:///tmp/redis.sock?db=2")
    assert not supports("rediss://example.com:6380/0")
    with pytest.raises(ValueError, match="rediss"):
        MultiplexedRedis("rediss://example.com:6380/0")


def test_concurrent_commands_get_their_own_replies(
    redis_url: str, redis_client: redis.Redis, namespace: str
) -> None:
    if not supports(redis_url):
        pytest.skip(f"{redis_url} is not served by the multiplexed client")
    keys = [f"{namespace}:k{i}" for i in range(300)]
    for i, key in enumerate(keys):
        redis_client.set(key, f"value-{i}")
    redis_client.hset(f"{namespace}:h", mapping={"a": "1", "b": "2"})

    async def main() -> None:
        client = MultiplexedRedis(redis_url)
        try:
            # 300 GETs in flight at once on one connection, each answered with its own value.
            replies = await asyncio.gather(*(client.get(key) for key in keys))
            assert replies == [f"value-{i}".encode() for i in range(300)]
            assert await client.get(f"{namespace}:missing") is None
            assert await client.hgetall(f"{namespace}:h") == {b"a": b"1", b"b": b"2"}
            assert await client.hgetall(f"{namespace}:missing") == {}
            assert await client.hget(f"{namespace}:h", "b") == b"2"
            # Only the request path's reads exist: nothing else can be sent.
            assert not hasattr(client, "hkeys") and not hasattr(client, "execute_command")

            pipe = client.pipeline(transaction=False)
            pipe.get(keys[7]).hget(f"{namespace}:h", "a").hgetall(f"{namespace}:h")
            assert await pipe.execute() == [b"value-7", b"1", {b"a": b"1", b"b": b"2"}]
            assert await client.pipeline().execute() == []
            with pytest.raises(ValueError, match="transactional"):
                client.pipeline(transaction=True)

            # An error reply is redis-py's ResponseError, for that command only.
            with pytest.raises(rx.ResponseError, match="WRONGTYPE"):
                await client.hget(keys[0], "field")
            bad = client.pipeline().get(keys[1]).hget(keys[2], "field").get(keys[3])
            with pytest.raises(rx.ResponseError, match="WRONGTYPE"):
                await bad.execute()
            # ...and the connection carries on, in order.
            assert await asyncio.gather(client.get(keys[4]), client.get(keys[5])) == [
                b"value-4",
                b"value-5",
            ]
        finally:
            await client.aclose()
        with pytest.raises(rx.ConnectionError, match="closed"):
            await client.get(keys[0])

    asyncio.run(main())


def test_password_database_and_wrong_password(server: ThrowawayRedis) -> None:
    db3 = server.url.rsplit("/", 1)[0] + "/3"
    sync = redis.Redis.from_url(db3)
    sync.set("greeting", "hello")
    sync.close()

    async def main() -> None:
        client = MultiplexedRedis(db3)
        try:
            assert await client.get("greeting") == b"hello"  # AUTH, then SELECT 3
        finally:
            await client.aclose()
        wrong = MultiplexedRedis(db3.replace("s3cret", "wrong"))
        with pytest.raises(rx.ConnectionError, match="refused the connection"):
            await wrong.get("greeting")
        await wrong.aclose()

    asyncio.run(main())


def test_lost_server_fails_fast_then_reconnects(server: ThrowawayRedis) -> None:
    sync = redis.Redis.from_url(server.url)
    sync.set("k", "before")
    sync.close()

    async def main() -> None:
        client = MultiplexedRedis(server.url, socket_timeout=1, socket_connect_timeout=1)
        try:
            assert await client.get("k") == b"before"
            server.stop()  # saves the data; the port is closed
            with pytest.raises(rx.ConnectionError):
                await client.get("k")
            with pytest.raises(rx.ConnectionError, match="Error connecting"):
                await client.get("k")  # refused: no hang
            server.start()  # same port, same data
            assert await client.get("k") == b"before"  # a new connection, no restart
        finally:
            await client.aclose()

    asyncio.run(main())


def test_silent_server_times_out_every_waiting_command() -> None:
    """A server that accepts but never answers: commands fail with TimeoutError after
    ``socket_timeout``, all of them, and the client does not wait on forever."""

    async def main() -> None:
        async def swallow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.read(1 << 16)  # read, never answer
            await asyncio.sleep(10)

        silent = await asyncio.start_server(swallow, "127.0.0.1", 0)
        port = silent.sockets[0].getsockname()[1]
        client = MultiplexedRedis(f"redis://127.0.0.1:{port}/0", socket_timeout=0.2)
        try:
            loop = asyncio.get_running_loop()
            start = loop.time()
            waiting = asyncio.gather(
                client.get("a"), client.get("b"), client.pipeline().get("c").execute(),
                return_exceptions=True,
            )  # fmt: skip
            outcomes = await asyncio.wait_for(waiting, timeout=5)
            assert all(isinstance(o, rx.TimeoutError) for o in outcomes), outcomes
            assert loop.time() - start < 2.0
        finally:
            await client.aclose()
            silent.close()

    asyncio.run(main())


def test_cancelled_caller_does_not_shift_replies(
    redis_url: str, redis_client: redis.Redis, namespace: str
) -> None:
    """A caller cancelled while its reply is on the way must not get anyone else's reply."""
    if not supports(redis_url):
        pytest.skip(f"{redis_url} is not served by the multiplexed client")
    for i in range(50):
        redis_client.set(f"{namespace}:c{i}", str(i))

    async def main() -> None:
        client = MultiplexedRedis(redis_url)
        try:
            assert await client.get(f"{namespace}:c0") == b"0"
            connection = client._conn
            tasks = [asyncio.ensure_future(client.get(f"{namespace}:c{i}")) for i in range(50)]
            await asyncio.sleep(0)  # all sent
            for task in tasks[::3]:
                task.cancel()
            results = await asyncio.gather(*tasks, return_exceptions=True)
            for i, result in enumerate(results):
                if i % 3:
                    assert result == str(i).encode()
            assert await client.get(f"{namespace}:c49") == b"49"
            assert client._conn is connection  # skipped the replies, did not reconnect
        finally:
            await client.aclose()

    asyncio.run(main())
