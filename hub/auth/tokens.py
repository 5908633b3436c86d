"""Signed, expiring login tokens (itsdangerous), telling "expired" from "invalid".

A token carries the user id, the role and the issue time, signed with the
hub's secret key. The hub keeps no session state: any hub process that has
the same secret key accepts the token, until it expires.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from hub.errors import TokenExpired, Unauthorized

MAX_TOKEN_LENGTH = 2048
SALT = "homi.login.v1"


@dataclass(frozen=True, slots=True)
class TokenClaims:
    user_id: str
    role: str
    expires_at: float


class TokenSigner:
    def __init__(self, secret_key: str, ttl: int) -> None:
        if not secret_key:
            raise ValueError("a secret key is required to sign tokens")
        self._serializer = URLSafeTimedSerializer(secret_key, salt=SALT)
        self.ttl = ttl

    def issue(self, user_id: str, role: str) -> str:
        return self._serializer.dumps({"u": user_id, "r": role})

    def verify(self, token: object) -> TokenClaims:
        """The claims of a valid token; Unauthorized or TokenExpired otherwise."""
        if not isinstance(token, str) or not 0 < len(token) <= MAX_TOKEN_LENGTH:
            raise Unauthorized("a token is required")
        try:
            payload, signed_at = self._serializer.loads(
                token, max_age=self.ttl, return_timestamp=True
            )
        except SignatureExpired:
            raise TokenExpired("the token has expired; log in again") from None
        except BadSignature:
            raise Unauthorized("the token is not valid") from None
        if not isinstance(payload, dict) or not isinstance(payload.get("u"), str):
            raise Unauthorized("the token is not valid")
        expires_at = signed_at.timestamp() + self.ttl
        return TokenClaims(
            user_id=payload["u"], role=str(payload.get("r")), expires_at=expires_at
        )

    @staticmethod
    def seconds_left(claims: TokenClaims) -> float:
        return claims.expires_at - time.time()
