"""Toxiproxy 2.12's HTTP API on aiohttp: same paths, JSON, status codes and error bodies.

Wire details that clients depend on (see ``reference/toxiproxy-api.md``): compact JSON with no
trailing newline on success; errors as ``{"error":..,"status":..}\\n`` in ``text/plain``; 405 with
an empty body for a known path and wrong method; Go's ``404 page not found`` for unknown paths;
browsers refused with 403. Extension: ``GET``/``POST /seed`` reads or sets the toxicity seed.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from chaos.proxy import body as request_body
from chaos.proxy.model import INT64_MAX, TOXIPROXY_VERSION, ApiError, bad_body
from chaos.proxy.registry import ProxyCollection

COLLECTION_KEY = web.AppKey("collection", ProxyCollection)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_request_ids = itertools.count(1)


def _json_response(payload: Any, status: int = 200) -> web.Response:
    return web.Response(
        body=json.dumps(payload, separators=(",", ":")).encode(),
        status=status,
        content_type="application/json",
    )


def _error_response(status: int, message: str) -> web.Response:
    body = json.dumps({"error": message, "status": status}, separators=(",", ":")) + "\n"
    response = web.Response(body=body.encode(), status=status)
    response.headers["Content-Type"] = "text/plain; charset=utf-8"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _plain(status: int, text: str) -> web.Response:
    response = web.Response(body=text.encode(), status=status)
    response.headers["Content-Type"] = "text/plain; charset=utf-8"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


async def _body(request: web.Request) -> Any:
    return await request_body.json_body(request)


@web.middleware
async def toxiproxy_conventions(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Request id, the browser block, and Toxiproxy's shapes for errors and unknown routes."""
    request_id = f"chaos-{next(_request_ids)}"
    if request.headers.get("User-Agent", "").startswith("Mozilla/"):
        response: web.StreamResponse = _plain(403, "User agent not allowed")
    else:
        try:
            response = await handler(request)
        except ApiError as exc:
            response = _error_response(exc.status, exc.message)
        except web.HTTPRequestEntityTooLarge:
            too_large = request_body.too_large(request.client_max_size)
            response = _error_response(too_large.status, too_large.message)
        except web.HTTPMethodNotAllowed:
            response = web.Response(status=405)
        except web.HTTPNotFound:
            response = _plain(404, "404 page not found\n")
    response.headers["X-Toxiproxy-Request-Id"] = request_id
    return response


def _collection(request: web.Request) -> ProxyCollection:
    return request.app[COLLECTION_KEY]


async def version(request: web.Request) -> web.Response:
    response = web.Response(body=f'{{"version": "{TOXIPROXY_VERSION}"}}\n'.encode())
    response.headers["Content-Type"] = "application/json;charset=utf-8"
    return response


async def list_proxies(request: web.Request) -> web.Response:
    proxies = _collection(request).proxies
    return _json_response({name: proxy.to_json() for name, proxy in proxies.items()})


async def create_proxy(request: web.Request) -> web.Response:
    proxy = await _collection(request).create(await _body(request))
    return _json_response(proxy.to_json(), status=201)


async def populate(request: web.Request) -> web.Response:
    collection = _collection(request)
    try:
        body = await _body(request)
        done = await collection.populate(body)
    except ApiError as exc:
        finished = getattr(exc, "done", None)
        payload = {
            "error": exc.message,
            "status": exc.status,
            "proxies": [p.to_json() for p in finished] if finished else None,
        }
        return _json_response(payload, status=exc.status)
    return _json_response(
        {"proxies": [proxy.to_json() for proxy in done] if done else None}, status=201
    )


async def reset(request: web.Request) -> web.Response:
    await request.read()
    await _collection(request).reset()
    return web.Response(status=204)


async def get_proxy(request: web.Request) -> web.Response:
    return _json_response(_collection(request).get(request.match_info["proxy"]).to_json())


async def update_proxy(request: web.Request) -> web.Response:
    collection = _collection(request)
    name = request.match_info["proxy"]
    collection.get(name)
    proxy = await collection.update(name, await _body(request))
    return _json_response(proxy.to_json())


async def delete_proxy(request: web.Request) -> web.Response:
    await _collection(request).delete(request.match_info["proxy"])
    return web.Response(status=204)


async def list_toxics(request: web.Request) -> web.Response:
    proxy = _collection(request).get(request.match_info["proxy"])
    return _json_response(proxy.toxics_json())


async def create_toxic(request: web.Request) -> web.Response:
    collection = _collection(request)
    name = request.match_info["proxy"]
    collection.get(name)
    toxic = collection.add_toxic(name, await _body(request))
    return _json_response(toxic.to_json())


async def get_toxic(request: web.Request) -> web.Response:
    proxy = _collection(request).get(request.match_info["proxy"])
    return _json_response(proxy.find_toxic(request.match_info["toxic"]).to_json())


async def update_toxic(request: web.Request) -> web.Response:
    collection = _collection(request)
    proxy_name, toxic_name = request.match_info["proxy"], request.match_info["toxic"]
    collection.get(proxy_name).find_toxic(toxic_name)
    toxic = collection.update_toxic(proxy_name, toxic_name, await _body(request))
    return _json_response(toxic.to_json())


async def delete_toxic(request: web.Request) -> web.Response:
    _collection(request).remove_toxic(request.match_info["proxy"], request.match_info["toxic"])
    return web.Response(status=204)


async def get_seed(request: web.Request) -> web.Response:
    return _json_response({"seed": _collection(request).seed})


async def set_seed(request: web.Request) -> web.Response:
    body = await _body(request)
    seed = body.get("seed") if isinstance(body, dict) else None
    if isinstance(seed, bool) or not isinstance(seed, int) or abs(seed) > INT64_MAX:
        raise bad_body(f"field 'seed' must be an int64 integer, got {json.dumps(seed)}")
    _collection(request).set_seed(seed)
    return _json_response({"seed": seed})


def build_app(collection: ProxyCollection) -> web.Application:
    """The API application bound to ``collection``."""
    app = web.Application(
        middlewares=[toxiproxy_conventions], client_max_size=request_body.MAX_BODY_BYTES
    )
    app[COLLECTION_KEY] = collection
    routes = app.router
    routes.add_get("/version", version, allow_head=False)
    routes.add_get("/proxies", list_proxies, allow_head=False)
    routes.add_post("/proxies", create_proxy)
    routes.add_post("/populate", populate)
    routes.add_post("/reset", reset)
    routes.add_get("/seed", get_seed, allow_head=False)
    routes.add_post("/seed", set_seed)
    routes.add_get("/proxies/{proxy}", get_proxy, allow_head=False)
    routes.add_post("/proxies/{proxy}", update_proxy)
    routes.add_patch("/proxies/{proxy}", update_proxy)
    routes.add_delete("/proxies/{proxy}", delete_proxy)
    routes.add_get("/proxies/{proxy}/toxics", list_toxics, allow_head=False)
    routes.add_post("/proxies/{proxy}/toxics", create_toxic)
    routes.add_get("/proxies/{proxy}/toxics/{toxic}", get_toxic, allow_head=False)
    routes.add_post("/proxies/{proxy}/toxics/{toxic}", update_toxic)
    routes.add_patch("/proxies/{proxy}/toxics/{toxic}", update_toxic)
    routes.add_delete("/proxies/{proxy}/toxics/{toxic}", delete_toxic)
    return app
