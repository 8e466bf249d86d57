"""OAuth2 client-credentials tokens: JWTs shaped like Azure AD B2C's, HMAC-signed by the simulator.

Times come from the simulator's clock, so a test can expire a token by advancing a FakeClock.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import secrets
from collections import deque

import orjson

from syncer.sim.clock import Clock

TENANT = "scansourceb2c.onmicrosoft.com"
TENANT_ID = "5d1c3a5b-6a4e-4c0e-9a53-5c5f1d7e0b11"  # made up; the real one is not needed
API_APP_ID = "a2eccdbd-b208-4e77-a82f-dddd1814309a"  # the production API app, as in its scope
SCOPE = f"https://{TENANT}/{API_APP_ID}/.default"
ROLE = "app.access"
CHECKED_SIZE = 1024  # tokens whose check is remembered (clients reuse one for its lifetime)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenIssuer:
    """Mints and checks bearer tokens; the signing key lives and dies with one simulator."""

    def __init__(self, clock: Clock, ttl_seconds: int) -> None:
        self._clock = clock
        self._ttl = ttl_seconds
        self._key = secrets.token_bytes(32)
        self.issued: deque[str] = deque(maxlen=1000)  # the latest tokens, for leak checks
        # A token's signature and claims never change: checked once per token, not per request.
        self._checked = functools.lru_cache(maxsize=CHECKED_SIZE)(self._check)

    def _sign(self, signing_input: bytes) -> bytes:
        return hmac.new(self._key, signing_input, hashlib.sha256).digest()

    def issue(self, client_id: str) -> dict[str, object]:
        now = int(self._clock.now().timestamp())
        header = {"alg": "HS256", "typ": "JWT", "kid": "scansource-sim"}
        claims = {
            "aud": API_APP_ID,
            "iss": f"https://login.microsoftonline.com/{TENANT_ID}/v2.0",
            "iat": now,
            "nbf": now,
            "exp": now + self._ttl,
            "azp": client_id,
            "azpacr": "1",
            "roles": [ROLE],
            "sub": client_id,
            "tid": TENANT_ID,
            "ver": "2.0",
            "jti": secrets.token_hex(8),
        }
        signing_input = f"{_b64(orjson.dumps(header))}.{_b64(orjson.dumps(claims))}".encode()
        token = f"{signing_input.decode()}.{_b64(self._sign(signing_input))}"
        self.issued.append(token)
        return {
            "token_type": "Bearer",
            "expires_in": self._ttl,
            "ext_expires_in": self._ttl,
            "access_token": token,
        }

    def client_of(self, token: str) -> str | None:
        """The client id (`azp`) of a valid, unexpired token of ours; None otherwise."""
        azp, nbf, exp = self._checked(token)
        return azp if nbf <= self._clock.now().timestamp() < exp else None

    def _check(self, token: str) -> tuple[str | None, float, float]:
        """(client id, nbf, exp) of a token of ours; (None, 0, 0) if it is not one."""
        invalid = (None, 0.0, 0.0)
        parts = token.split(".")
        if len(parts) != 3:
            return invalid
        try:
            signature = _unb64(parts[2])
            claims = orjson.loads(_unb64(parts[1]))
        except (ValueError, orjson.JSONDecodeError):
            return invalid
        if not hmac.compare_digest(signature, self._sign(f"{parts[0]}.{parts[1]}".encode())):
            return invalid
        if not isinstance(claims, dict):
            return invalid
        if claims.get("aud") != API_APP_ID or ROLE not in claims.get("roles", ()):
            return invalid
        azp = claims.get("azp")
        return (azp if isinstance(azp, str) else None), claims["nbf"], claims["exp"]
