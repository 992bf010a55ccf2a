"""Create, delete, update, populate and reset are atomic per proxy name (issue 17 item 6).

The invariant every test checks: the proxy's listening sockets are exactly the listeners of the
proxies in its registry. An orphan listener (bound, accepting and forwarding, but in no registry
and so beyond DELETE and reset) is the failure the issue measured: two simultaneous creates both
answered 201 and 20 threads x 10 create/delete cycles left 103 of them.

The asyncio tests drive ``ProxyCollection`` directly with ``gather``: the second operation starts
while the first awaits its listener, so a registry that is not atomic fails them every time,
not sometimes. The HTTP tests do the same through the API of a ``chaos proxy`` subprocess, whose
sockets psutil lists (nothing else in that process listens but the API).
"""

from __future__ import annotations

import asyncio
import inspect
import os
import threading
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import psutil
import pytest

from chaos.proxy.model import ApiError
from chaos.proxy.registry import ProxyCollection
from chaos.proxy.server import ProxyServer
from tests.proxy.http_calls import call

T = TypeVar("T")


def listening(pid: int | None = None) -> set[tuple[str, int]]:
    """The (ip, port) pairs a process listens on over TCP."""
    process = psutil.Process(pid)
    return {
        (conn.laddr.ip, conn.laddr.port)
        for conn in process.net_connections(kind="tcp")
        if conn.status == psutil.CONN_LISTEN
    }


async def outcome(operation: Awaitable[Any] | Any) -> int:
    """The status an API call would answer: 200 for success, the ApiError's status else."""
    try:
        if inspect.isawaitable(operation):
            await operation
    except ApiError as exc:
        return exc.status
    return 200


def delete(collection: ProxyCollection, name: str) -> Awaitable[Any]:
    async def run() -> None:
        result = collection.delete(name)
        if inspect.isawaitable(result):
            await result

    return run()


def _uvloop() -> asyncio.AbstractEventLoop:
    uvloop = pytest.importorskip("uvloop")
    return uvloop.new_event_loop()  # type: ignore[no-any-return]


#: The server runs on uvloop when it is installed (the optional ``fast`` extra), else on
#: asyncio's loop. Whether an await yields differs between them (asyncio's ``create_server``
#: yields, uvloop's does not), so atomicity is checked on both.
LOOPS = {"asyncio": asyncio.new_event_loop, "uvloop": _uvloop}


Runner = Callable[[Callable[[ProxyCollection], Awaitable[Any]]], Any]


@pytest.fixture(params=sorted(LOOPS))
def in_loop(request: pytest.FixtureRequest) -> Runner:
    """Runs ``body`` on a fresh loop of the kind under test, with a fresh collection that is
    closed afterwards."""
    factory = LOOPS[request.param]

    def run(body: Callable[[ProxyCollection], Awaitable[T]]) -> T:
        loop = factory()
        try:
            collection = ProxyCollection(loop, seed=1)

            async def main() -> T:
                try:
                    return await body(collection)
                finally:
                    collection.close()
                    await asyncio.sleep(0)

            return loop.run_until_complete(main())
        finally:
            loop.close()

    return run


def bound(collection: ProxyCollection) -> set[tuple[str, int]]:
    return {proxy.bound for proxy in collection.proxies.values() if proxy.running and proxy.bound}


def spec(name: str = "race", **extra: Any) -> dict[str, Any]:
    return {"name": name, "upstream": "127.0.0.1:9", "listen": "127.0.0.1:0", **extra}


def test_two_concurrent_creates_of_one_name_give_one_proxy_and_one_409(in_loop: Runner) -> None:
    before = listening()

    async def body(collection: ProxyCollection) -> tuple[list[int], set[tuple[str, int]]]:
        statuses = await asyncio.gather(*(outcome(collection.create(spec())) for _ in range(2)))
        return sorted(statuses), listening() - before == bound(collection)

    statuses, consistent = in_loop(body)
    assert statuses == [200, 409]
    assert consistent, "a listener outside the registry"
    assert listening() - before == set(), "a listener survived close()"


def test_many_concurrent_creates_leave_no_orphan_listener(in_loop: Runner) -> None:
    before = listening()

    async def body(collection: ProxyCollection) -> tuple[Counter[int], bool, int]:
        statuses = await asyncio.gather(*(outcome(collection.create(spec())) for _ in range(10)))
        return Counter(statuses), listening() - before == bound(collection), len(bound(collection))

    statuses, consistent, size = in_loop(body)
    assert statuses == Counter({200: 1, 409: 9})
    assert consistent and size == 1


def test_delete_racing_create_is_consistent(in_loop: Runner) -> None:
    before = listening()

    async def body(collection: ProxyCollection) -> tuple[list[int], bool, list[str]]:
        statuses = await asyncio.gather(
            outcome(collection.create(spec())), outcome(delete(collection, "race"))
        )
        return statuses, listening() - before == bound(collection), list(collection.proxies)

    (created, deleted), consistent, names = in_loop(body)
    assert created == 200
    # Either order is a valid history, as long as the registry agrees with the answers.
    assert (deleted, names) in ((204, []), (200, []), (404, ["race"]))
    assert consistent


def test_delete_racing_an_enable_leaves_no_listener(in_loop: Runner) -> None:
    before = listening()

    async def body(collection: ProxyCollection) -> tuple[list[int], bool]:
        await collection.create(spec(enabled=False))
        statuses = await asyncio.gather(
            outcome(collection.update("race", {"enabled": True})),
            outcome(delete(collection, "race")),
        )
        return statuses, listening() - before == bound(collection)

    statuses, consistent = in_loop(body)
    assert statuses[1] == 200
    assert consistent, "the update bound a listener for a proxy that was deleted meanwhile"


def test_reset_and_enable_racing_start_the_proxy_once(in_loop: Runner) -> None:
    before = listening()

    async def body(collection: ProxyCollection) -> tuple[list[int], bool, int]:
        await collection.create(spec(enabled=False))
        statuses = await asyncio.gather(
            outcome(collection.update("race", {"enabled": True})), outcome(collection.reset())
        )
        return statuses, listening() - before == bound(collection), len(listening() - before)

    statuses, consistent, count = in_loop(body)
    assert statuses == [200, 200]
    assert consistent and count == 1


def test_populate_racing_create_keeps_one_listener_per_name(in_loop: Runner) -> None:
    before = listening()

    async def body(collection: ProxyCollection) -> tuple[list[int], bool, int]:
        statuses = await asyncio.gather(
            outcome(collection.create(spec())),
            outcome(collection.populate([spec(), spec("other")])),
        )
        return statuses, listening() - before == bound(collection), len(collection.proxies)

    statuses, consistent, size = in_loop(body)
    assert statuses == [200, 200]
    assert consistent and size == 2


def test_a_failed_bind_stores_nothing_and_leaks_nothing(in_loop: Runner) -> None:
    before = listening()

    async def body(collection: ProxyCollection) -> tuple[list[int], bool, list[str]]:
        taken = await collection.create(spec("holder"))
        statuses = await asyncio.gather(
            *(outcome(collection.create(spec(listen=taken.listen))) for _ in range(3))
        )
        return statuses, listening() - before == bound(collection), sorted(collection.proxies)

    statuses, consistent, names = in_loop(body)
    assert statuses == [500, 500, 500]
    assert consistent and names == ["holder"]


# --- through the HTTP API of a subprocess ---------------------------------------------------


@pytest.fixture(scope="module", params=["asyncio", "uvloop"])
def subprocess_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ProxyServer]:
    """``chaos proxy`` as a subprocess, on uvloop or (uvloop hidden from it) asyncio's loop."""
    with pytest.MonkeyPatch.context() as patch:
        if request.param == "asyncio":
            shadow = tmp_path_factory.mktemp("no-uvloop")
            (shadow / "uvloop.py").write_text("raise ImportError('hidden by the test')\n")
            path = [str(shadow), os.environ.get("PYTHONPATH", "")]
            patch.setenv("PYTHONPATH", os.pathsep.join(filter(None, path)))
        else:
            pytest.importorskip("uvloop")
        server = ProxyServer(mode="subprocess", seed=7).start()
    try:
        yield server
    finally:
        server.stop()


def proxy_listeners(server: ProxyServer) -> set[tuple[str, int]]:
    assert server.pid is not None
    api = server.address.rsplit(":", 1)
    return listening(server.pid) - {(api[0], int(api[1]))}


def registry(server: ProxyServer) -> dict[str, Any]:
    reply = call(server.api_url, "GET", "/proxies")
    assert reply.status == 200
    return reply.json()  # type: ignore[no-any-return]


def assert_listeners_match_registry(server: ProxyServer) -> None:
    proxies = registry(server)
    listens = {
        (proxy["listen"].rsplit(":", 1)[0], int(proxy["listen"].rsplit(":", 1)[1]))
        for proxy in proxies.values()
        if proxy["enabled"]
    }
    assert proxy_listeners(server) == listens, f"orphan listeners; registry {sorted(proxies)}"


def test_http_two_simultaneous_creates_answer_201_and_409(subprocess_server: ProxyServer) -> None:
    url = subprocess_server.api_url
    doubles = 0
    for _ in range(30):
        barrier = threading.Barrier(2)
        statuses: list[int] = []

        def create() -> None:
            barrier.wait(5)
            statuses.append(call(url, "POST", "/proxies", spec()).status)

        threads = [threading.Thread(target=create) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
        doubles += sorted(statuses) != [201, 409]
        assert_listeners_match_registry(subprocess_server)
        assert call(url, "DELETE", "/proxies/race").status == 204
    assert doubles == 0, f"{doubles} of 30 tries did not answer exactly one 201 and one 409"
    assert proxy_listeners(subprocess_server) == set()


def test_http_20_threads_create_and_delete_one_name(subprocess_server: ProxyServer) -> None:
    """20 threads x 10 cycles: every 201 is undone by exactly one 204, no listener is left over."""
    url = subprocess_server.api_url
    statuses: Counter[tuple[str, int]] = Counter()
    lock = threading.Lock()
    barrier = threading.Barrier(20)

    def cycles() -> None:
        barrier.wait(10)
        for _ in range(10):
            created = call(url, "POST", "/proxies", spec()).status
            deleted = call(url, "DELETE", "/proxies/race").status
            with lock:
                statuses["create", created] += 1
                statuses["delete", deleted] += 1

    threads = [threading.Thread(target=cycles) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sum(statuses.values()) == 400
    assert set(statuses) <= {("create", 201), ("create", 409), ("delete", 204), ("delete", 404)}
    left = len(registry(subprocess_server))
    assert statuses["create", 201] > 0
    assert statuses["create", 201] - statuses["delete", 204] == left
    assert_listeners_match_registry(subprocess_server)
    call(url, "DELETE", "/proxies/race")
    assert proxy_listeners(subprocess_server) == set()
