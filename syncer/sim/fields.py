"""Reading what a caller sent: the 4xx refusals, and JSON request bodies read as ASP.NET binds them.

Json.NET matches property names case-insensitively and turns `"1700"` into an int where the
model says int, so the simulator does too; anything else is a 400 naming the field.
"""

from __future__ import annotations

from typing import Any

import orjson


class Refusal(Exception):
    """A request the API refuses with a 4xx; the message is safe to show the caller."""

    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(Refusal):
    status = 400


class Forbidden(Refusal):
    status = 403


class NotFound(Refusal):
    status = 404


def parse_body(raw: bytes) -> Any:
    if not raw.strip():
        raise BadRequest("A request body is required.")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"The request body is not valid JSON: {exc}.") from None


class Body:
    """One JSON object of a request body; `where` names it in messages (e.g. `Lines[2]`)."""

    def __init__(self, data: Any, where: str = "") -> None:
        if not isinstance(data, dict):
            raise BadRequest(f"{where or 'The request body'} must be a JSON object.")
        self._data = {str(k).lower(): v for k, v in data.items()}
        self._where = where

    def name(self, field: str) -> str:
        return f"{self._where}.{field}" if self._where else field

    def has(self, field: str) -> bool:
        return self._data.get(field.lower()) not in (None, "")

    def text(self, field: str, *, required: bool = False, max_length: int = 0) -> str | None:
        value = self._data.get(field.lower())
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)
        if value is not None and not isinstance(value, str):
            raise BadRequest(f"{self.name(field)} must be a string.")
        value = value.strip() if value else None
        if not value:
            if required:
                raise BadRequest(f"{self.name(field)} is required.")
            return None
        if max_length and len(value) > max_length:
            raise BadRequest(f"{self.name(field)} is longer than {max_length} characters.")
        return value

    def integer(self, field: str, *, required: bool = False, minimum: int = 1) -> int | None:
        value = self._data.get(field.lower())
        if value is None or value == "":
            if required:
                raise BadRequest(f"{self.name(field)} is required.")
            return None
        number: int | None = None
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        elif isinstance(value, float) and value.is_integer():
            number = int(value)
        elif isinstance(value, str) and value.strip().lstrip("-").isdigit():
            number = int(value.strip())
        if number is None or number < minimum:
            raise BadRequest(
                f"{self.name(field)} must be a whole number of {minimum} or more, "
                f"not {orjson.dumps(value).decode()[:40]}."
            )
        return number

    def boolean(self, field: str) -> bool | None:
        value = self._data.get(field.lower())
        if value is None or isinstance(value, bool):
            return value
        raise BadRequest(f"{self.name(field)} must be true or false.")

    def obj(self, field: str) -> Body | None:
        value = self._data.get(field.lower())
        return None if value is None else Body(value, self.name(field))

    def array(self, field: str, *, required: bool = False) -> list[Any]:
        value = self._data.get(field.lower())
        if value is None:
            value = []
        if not isinstance(value, list):
            raise BadRequest(f"{self.name(field)} must be an array.")
        if required and not value:
            raise BadRequest(f"{self.name(field)} is required and must not be empty.")
        return value

    def strings(self, field: str, *, required: bool = False) -> list[str]:
        out = []
        for i, value in enumerate(self.array(field, required=required)):
            if not isinstance(value, str) or not value.strip():
                raise BadRequest(f"{self.name(field)}[{i}] must be a non-empty string.")
            out.append(value.strip())
        return out
