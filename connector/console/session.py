"""Console sessions: signed, short-lived cookies and the CSRF tokens bound to them.

The signing secret is derived from the management token, so every process of one participant
(several `tsunagu serve` behind a proxy) accepts the same sessions, and changing the token ends
them all. A logout is kept on the participant's database (`connector.store.console_queries`), so
every process refuses the session from then on; `Sessions` itself only signs and reads cookies.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

SESSION_COOKIE = "tsunagu_session"
LOGIN_COOKIE = "tsunagu_login"  # before a session exists: the login form's CSRF pair
# A session that began at the OIDC provider: its sid and ID token (sealed), for logging out there
OIDC_LOGOUT_COOKIE = "tsunagu_oidc_logout"
LIFETIME = timedelta(hours=8)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class Session:
    sid: str
    expires: datetime


class Sessions:
    def __init__(self, management_token: str) -> None:
        self._token = management_token
        self._secret = hmac.new(
            management_token.encode(), b"tsunagu console session v1", hashlib.sha256
        ).digest()

    def token_matches(self, offered: str) -> bool:
        return hmac.compare_digest(offered.encode(), self._token.encode())

    def _mac(self, purpose: str, value: str) -> str:
        return _b64(hmac.new(self._secret, f"{purpose}:{value}".encode(), hashlib.sha256).digest())

    def issue(self, now: datetime) -> tuple[Session, str]:
        """A new session and its cookie value."""
        session = Session(secrets.token_urlsafe(18), now + LIFETIME)
        payload = _b64(
            json.dumps({"sid": session.sid, "exp": int(session.expires.timestamp())}).encode()
        )
        return session, f"{payload}.{self._mac('session', payload)}"

    def read(self, cookie: str | None, now: datetime) -> Session | None:
        """The session a cookie carries, or None when it is missing, forged, ended or old."""
        if not cookie or cookie.count(".") != 1:
            return None
        payload, mac = cookie.split(".")
        if not hmac.compare_digest(mac, self._mac("session", payload)):
            return None
        try:
            data = json.loads(_unb64(payload))
            session = Session(
                str(data["sid"]), datetime.fromtimestamp(int(data["exp"]), now.tzinfo)
            )
        except (ValueError, KeyError, TypeError):
            return None
        if session.expires <= now:
            return None
        return session

    def seal(self, purpose: str, data: dict[str, Any]) -> str:
        """A value only this participant can have made (the OIDC login's state, say)."""
        payload = _b64(json.dumps(data, separators=(",", ":")).encode())
        return f"{payload}.{self._mac(purpose, payload)}"

    def unseal(self, purpose: str, value: str | None) -> dict[str, Any] | None:
        if not value or value.count(".") != 1:
            return None
        payload, mac = value.split(".")
        if not hmac.compare_digest(mac, self._mac(purpose, payload)):
            return None
        try:
            data = json.loads(_unb64(payload))
        except ValueError:
            return None
        return data if isinstance(data, dict) else None

    def csrf(self, session: Session) -> str:
        """The token every form of this session carries: bound to the session, so a page of
        another site cannot know it."""
        return self._mac("csrf", session.sid)

    def csrf_ok(self, session: Session, offered: str | None) -> bool:
        return bool(offered) and hmac.compare_digest(str(offered), self.csrf(session))

    def login_pair(self) -> tuple[str, str]:
        """A nonce for the login cookie and the matching value for the login form."""
        nonce = secrets.token_urlsafe(18)
        return nonce, self._mac("login", nonce)

    def login_ok(self, nonce: str | None, offered: str | None) -> bool:
        return bool(nonce and offered) and hmac.compare_digest(
            str(offered), self._mac("login", str(nonce))
        )
