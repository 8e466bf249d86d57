"""What an API answer says: its body read within a bound, its JSON checked, its Retry-After,
and its status mapped to the error tree of `syncer.errors`.

Pure functions of a status, headers and body (and `read_at_most`, of a body's stream), kept
apart from the transport that makes the calls and retries them, so that each rule can be read
and tested on its own. Server-supplied text in an error passes through the `Redactor`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp
import orjson

from syncer.api import jsonread
from syncer.errors import (
    DIAGNOSIS_BYTES,
    ApiError,
    AuthError,
    PermanentApiError,
    RateLimited,
    TransientApiError,
)
from syncer.redact import Redactor


async def read_body(
    operation: str, resp: aiohttp.ClientResponse, max_bytes: int, redactor: Redactor
) -> bytes:
    """The body, refused (PermanentApiError) once it is past `max_bytes`
    (api_max_response_bytes): a body that large is never held whole. A refusal's body is read
    only as far as it is kept."""
    if resp.status >= 300:
        return (await read_at_most(resp.content, DIAGNOSIS_BYTES))[0]
    length = resp.content_length
    if length is not None and length <= max_bytes and not resp.headers.get("Content-Encoding"):
        return await resp.read()  # never more than Content-Length
    if length is not None and length > max_bytes:
        head, _ = await read_at_most(resp.content, DIAGNOSIS_BYTES)
        raise _too_big(operation, resp.status, f"{length:,} bytes", max_bytes, head, redactor)
    body, whole = await read_at_most(resp.content, max_bytes)
    if not whole:
        raise _too_big(
            operation, resp.status, f"over {max_bytes:,} bytes", max_bytes, body, redactor
        )
    return body


def _too_big(
    operation: str, status: int, size: str, max_bytes: int, head: bytes, redactor: Redactor
) -> PermanentApiError:
    return PermanentApiError(
        f"{operation}: HTTP {status} with a body of {size}, more than "
        f"api_max_response_bytes ({max_bytes:,})",
        status=status,
        operation=operation,
        body=kept_body(head, redactor),
    )


async def read_at_most(content: aiohttp.StreamReader, limit: int) -> tuple[bytes, bool]:
    """Up to `limit` bytes of a body as its chunks arrive, and whether that was all of it."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in content.iter_any():
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            return b"".join(chunks)[:limit], False
    return b"".join(chunks), True


def check_json_body(
    operation: str,
    status: int,
    content_type: str,
    body: bytes,
    decode: Callable[[bytes], Any] = jsonread.loads,
) -> Any:
    """A 2xx body must be JSON, whole: a gateway page or a cut-off body is worth another try."""
    if content_type != "application/json" and not content_type.endswith("+json"):
        raise TransientApiError(
            f"{operation}: expected JSON, got {content_type or 'no content type'}",
            status=status,
            operation=operation,
        )
    return parse_json(body, operation, decode)


def parse_json(body: bytes, operation: str, decode: Callable[[bytes], Any] = jsonread.loads) -> Any:
    try:
        return decode(body)
    except orjson.JSONDecodeError as exc:
        raise TransientApiError(
            f"{operation}: body is not valid JSON", operation=operation
        ) from exc


def error_for(
    operation: str, status: int, body: bytes, retry_after: float | None, redactor: Redactor
) -> ApiError:
    """The error of a refusal: 429 throttled, 5xx and 408 transient, 401 a token refused,
    any other status permanent."""
    message = redactor(f"{operation}: HTTP {status} {error_message(body)}".rstrip())
    if status == 429:
        return RateLimited(message, retry_after=retry_after, operation=operation)
    kept = kept_body(body, redactor)
    if status >= 500 or status == 408:
        return TransientApiError(message, status=status, operation=operation, body=kept)
    if status == 401:
        return AuthError(message, status=status, operation=operation, body=kept)
    return PermanentApiError(message, status=status, operation=operation, body=kept)


def kept_body(body: bytes, redactor: Redactor) -> str | None:
    """The start of a failed answer's body, redacted, for a person to look at."""
    if not body:
        return None
    return redactor(body[:DIAGNOSIS_BYTES].decode("utf-8", errors="replace"))


def error_message(body: bytes) -> str:
    """The message a refusal's body gives, if any (the start of the body if it is not JSON)."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return body[:200].decode("utf-8", errors="replace")
    if isinstance(data, dict):
        for key in ("message", "Message", "error_description", "error"):
            if isinstance(data.get(key), str):
                return str(data[key])[:300]
    return ""


def oauth_error(body: bytes) -> str:
    """The OAuth2 error code of the token endpoint's refusal."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return "no error code"
    return str(data.get("error", "no error code")) if isinstance(data, dict) else "no error code"


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """Retry-After in seconds; an HTTP date is measured from the response's own Date header
    (when there is one), so our clock's skew does not matter."""
    now = parse_http_date(headers.get("Date")) or datetime.now(UTC)
    return parse_retry_after(headers.get("Retry-After"), now)


def parse_http_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from `now`: Retry-After is delay-seconds or an HTTP date (RFC 9110)."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        when = parse_http_date(value)
        return None if when is None else max(0.0, (when - now).total_seconds())
    return None if math.isnan(seconds) else max(0.0, seconds)  # inf: as long as allowed
