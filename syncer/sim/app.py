"""The simulator's HTTP face: Azure-AD-style token endpoint and the APIM-fronted sales order API.

One catch-all route dispatches on the lower-cased path, because APIM matches paths
case-insensitively and answers unknown operations with its own 404.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import re
from typing import Any

import orjson
from aiohttp import web

from syncer.sim.config import Subscription
from syncer.sim.fields import Refusal
from syncer.sim.operations import Operations
from syncer.sim.simulator import Simulator

BASE_PATH = "/scsc/salesorder/v1"
_TOKEN_PATH = re.compile(r"/[^/]+/oauth2/v2\.0/token")
_MISSING_KEY = (
    "Access denied due to missing subscription key. "
    "Make sure to include subscription key when making requests to an API."
)
_INVALID_KEY = (
    "Access denied due to invalid subscription key. "
    "Make sure to provide a valid key for an active subscription."
)
_UNAUTHORIZED = "Unauthorized! Access token is missing or invalid."
_MISSING_PARAM = "AADSTS900144: The request body must contain the following parameter: '{}'."
_BAD_SCOPE = (
    "AADSTS1002012: The provided value for scope is not valid. Client credential flows must "
    "have a scope value with /.default suffixed to the resource identifier."
)


def _json(body: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(body), status=status, content_type="application/json")


def _error(status: int, message: str) -> web.Response:
    return _json({"statusCode": status, "message": message}, status)


def _aad_error(status: int, error: str, description: str) -> web.Response:
    return _json({"error": error, "error_description": description}, status)


# First path segment (lower-cased) → (method, operation). Aliases from docs/api.md §11.
_ROUTES: dict[str, tuple[str, str]] = {
    "list": ("GET", "list"),
    "summary": ("GET", "summary"),
    "detail": ("GET", "detail"),
    "serials": ("GET", "serials"),
    "serialnumbers": ("GET", "serials"),
    "tracking": ("GET", "tracking"),
    "shipquote": ("POST", "shipquote"),
    "vrd": ("POST", "vrd"),
    "createasync": ("POST", "createasync"),
    "cancel": ("DELETE", "cancel"),
}
_CUSTOMER_IN_PATH = ("list", "summary")  # the old API's /list/{customerNumber} form


def _body_customer(body: bytes) -> str:
    """POST bodies name the customer too (CustomerNumber, or a PO's PayerId): a fallback for a
    call without the customerNumber query parameter."""
    try:
        data = orjson.loads(body) if body.strip() else None
    except orjson.JSONDecodeError:
        return ""
    if not isinstance(data, dict):
        return ""
    fields = {str(k).lower(): v for k, v in data.items()}
    for key in ("customernumber", "payerid"):
        if isinstance(fields.get(key), str):
            return str(fields[key])
    return ""


def _params(request: web.Request) -> dict[str, str]:
    """Query parameters by lower-cased name; the first occurrence wins."""
    out: dict[str, str] = {}
    for k, v in request.query.items():
        out.setdefault(k.lower(), v)
    return out


class _Handlers:
    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.operations = Operations(sim)

    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        path = request.path.rstrip("/").lower()
        if _TOKEN_PATH.fullmatch(path) and request.method == "POST":
            return await self.token(request)
        if not path.startswith(BASE_PATH + "/"):
            return _error(404, "Resource not found")
        op = path[len(BASE_PATH) + 1 :].split("/")
        route = _ROUTES.get(op[0])
        depth = 2 if op[0] in _CUSTOMER_IN_PATH else 1
        if route is None or route[0] != request.method or len(op) > depth:
            return _error(404, "Resource not found")
        if self.sim.config.latency_ms > 0:
            await asyncio.sleep(self.sim.config.latency_ms / 1000)
        params = _params(request)
        sub = self.authenticate(request, params)
        if isinstance(sub, web.Response):
            return sub
        body = await request.read()
        # The old list and summary forms carry the customer in the path: /list/{customerNumber}.
        customer = request.path.rstrip("/").split("/")[-1] if len(op) == 2 else None
        customer = (customer or params.get("customernumber", "") or _body_customer(body)).strip()
        if not customer:
            return _error(400, "customerNumber is required.")
        if customer not in sub.customer_numbers:
            return _error(
                403, f"Customer number {customer} is not authorized for this subscription."
            )
        self.sim.settle()
        try:
            status, payload = self.operations.by_name[route[1]](customer, params, body)
        except Refusal as exc:
            return _error(exc.status, exc.message)
        if not payload:
            return web.Response(status=status)
        return web.Response(body=payload, status=status, content_type="application/json")

    def authenticate(
        self, request: web.Request, params: dict[str, str]
    ) -> Subscription | web.Response:
        """APIM order: subscription key first, then the bearer token, which must be the key's."""
        key = request.headers.get("Ocp-Apim-Subscription-Key") or params.get("subscription-key")
        if not key:
            return _error(401, _MISSING_KEY)
        sub = self.sim.subscription_for_key(key)
        if sub is None:
            return _error(401, _INVALID_KEY)
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or self.sim.tokens.client_of(token.strip()) != sub.client_id:
            return _error(401, _UNAUTHORIZED)
        return sub

    async def token(self, request: web.Request) -> web.Response:
        form = await request.post()
        fields = {k: v for k, v in form.items() if isinstance(v, str)}
        client_id, secret = fields.get("client_id", ""), fields.get("client_secret", "")
        basic = _basic_credentials(request)
        if basic:
            client_id, secret = basic
        grant = fields.get("grant_type", "")
        if not grant:
            return _aad_error(
                400,
                "invalid_request",
                _MISSING_PARAM.format("grant_type"),
            )
        if grant != "client_credentials":
            return _aad_error(
                400,
                "unsupported_grant_type",
                "AADSTS70003: The app requested an unsupported grant type.",
            )
        if not client_id:
            return _aad_error(
                400,
                "invalid_request",
                _MISSING_PARAM.format("client_id"),
            )
        scope = fields.get("scope", "")
        if not scope.endswith("/.default"):
            return _aad_error(
                400,
                "invalid_scope",
                _BAD_SCOPE,
            )
        sub = self.sim.subscription_for_client(client_id)
        if sub is None or not hmac.compare_digest(secret.encode(), sub.client_secret.encode()):
            # Never echo the secret; Azure AD names only the app.
            return _aad_error(
                401,
                "invalid_client",
                f"AADSTS7000215: Invalid client secret provided for app '{client_id}'.",
            )
        response = _json(self.sim.tokens.issue(client_id))
        response.headers["Cache-Control"] = "no-store"
        return response


def _basic_credentials(request: web.Request) -> tuple[str, str] | None:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        client_id, _, secret = base64.b64decode(value.strip()).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return client_id, secret


def build_app(sim: Simulator) -> web.Application:
    app = web.Application(middlewares=[sim.faults.middleware(sim, BASE_PATH)])
    app.router.add_route("*", "/{tail:.*}", _Handlers(sim).dispatch)
    return app
