"""Ed25519 keys of one identity (a participant or an authority), kept on disk, rotatable.

Layout under the identity's directory:

    keys/               mode 0700
      keyring.json      {"version": 1, "did": ..., "active": 3, "retired": [2, 1]}
      key-3.pem         PKCS#8 private key, mode 0600 (the active key)
      key-2.pem         retired, still published so tokens signed just before a rotation verify
      key-1.pem

Key N has the key id `<did>#key-N`. Rotation makes a new key active and keeps the last
`retain_retired` keys published; older private keys are deleted. `keyring.json` is replaced
atomically, and a running process picks up a rotation made by another process (for example the
CLI) on its next use of the ring, because the ring re-reads the file when its mtime changes.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from connector.errors import ConfigError
from connector.identity.encoding import b64url_decode, b64url_encode

__all__ = [
    "DEFAULT_RETAIN_RETIRED",
    "KeyRing",
    "SigningKey",
    "public_key_from_jwk",
    "verify_ed25519",
]

DEFAULT_RETAIN_RETIRED = 2
_KEYS_DIR = "keys"
_INDEX = "keyring.json"
_KEY_FILE = re.compile(r"key-([1-9][0-9]*)\.pem")


def verify_ed25519(public_key: Ed25519PublicKey, message: bytes, signature: bytes) -> bool:
    """The one signature check every token and credential goes through (RFC 8032 Ed25519).

    A signature is exactly 64 bytes; anything else is refused before the library sees it, so
    truncated or padded signatures never reach the curve arithmetic.
    """
    if len(signature) != 64:
        return False
    try:
        public_key.verify(signature, message)
    except InvalidSignature:
        return False
    return True


def public_key_from_jwk(jwk: Mapping[str, Any]) -> Ed25519PublicKey:
    """An Ed25519 public key from an OKP JWK (RFC 8037). Raises ValueError for anything else.

    A JWK carrying private material (`d`) is refused: a document that publishes a private key
    is broken, and using it would hide that.
    """
    if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
        raise ValueError("not an Ed25519 OKP key")
    if "d" in jwk:
        raise ValueError("JWK contains private key material")
    x = jwk.get("x")
    if not isinstance(x, str):
        raise ValueError("JWK has no 'x'")
    raw = b64url_decode(x)
    if len(raw) != 32:
        raise ValueError("Ed25519 public key must be 32 bytes")
    return Ed25519PublicKey.from_public_bytes(raw)


@dataclass(frozen=True, eq=False)
class SigningKey:
    """One private key and the key id it signs under."""

    kid: str
    private_key: Ed25519PrivateKey = field(repr=False)

    @classmethod
    def generate(cls, kid: str) -> SigningKey:
        return cls(kid, Ed25519PrivateKey.generate())

    def public_key(self) -> Ed25519PublicKey:
        return self.private_key.public_key()

    def public_jwk(self) -> dict[str, str]:
        raw = self.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        return {"kty": "OKP", "crv": "Ed25519", "x": b64url_encode(raw)}

    def sign(self, message: bytes) -> bytes:
        return self.private_key.sign(message)


class KeyRing:
    """The keys of one DID: one active signing key plus recently retired ones."""

    def __init__(self, directory: Path, did: str, *, retain_retired: int = DEFAULT_RETAIN_RETIRED):
        self._dir = directory / _KEYS_DIR
        self._did = did
        self._retain = retain_retired
        self._mtime_ns = -1
        self._active: SigningKey | None = None
        self._retired: list[SigningKey] = []

    @classmethod
    def exists(cls, directory: Path) -> bool:
        return (directory / _KEYS_DIR / _INDEX).is_file()

    @classmethod
    def create(
        cls, directory: Path, did: str, *, retain_retired: int = DEFAULT_RETAIN_RETIRED
    ) -> KeyRing:
        """Make `DIR/keys/` with a first key. Refuses to overwrite an existing key ring."""
        ring = cls(directory, did, retain_retired=retain_retired)
        if (ring._dir / _INDEX).exists():
            raise ConfigError(f"a key ring already exists in {ring._dir}", code="keys_exist")
        ring._dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(ring._dir, 0o700)
        number = ring._next_number()
        ring._write_key(number)
        ring._write_index(number, [])
        ring._reload()
        return ring

    @classmethod
    def load(
        cls, directory: Path, did: str, *, retain_retired: int = DEFAULT_RETAIN_RETIRED
    ) -> KeyRing:
        ring = cls(directory, did, retain_retired=retain_retired)
        if not (ring._dir / _INDEX).is_file():
            raise ConfigError(
                f"no key ring in {ring._dir}; create one first (keys are made at init)",
                code="keys_missing",
            )
        ring._reload()
        return ring

    @property
    def did(self) -> str:
        return self._did

    @property
    def active(self) -> SigningKey:
        self._refresh()
        assert self._active is not None
        return self._active

    def published(self) -> list[SigningKey]:
        """The keys a DID document lists: the active key first, then retired ones, newest first."""
        self._refresh()
        assert self._active is not None
        return [self._active, *self._retired]

    def rotate(self) -> SigningKey:
        """Make a new active key; the previous one stays published as retired."""
        self._refresh()
        assert self._active is not None
        previous = [self._number(self._active), *(self._number(k) for k in self._retired)]
        number = self._next_number()
        self._write_key(number)
        kept, dropped = previous[: self._retain], previous[self._retain :]
        self._write_index(number, kept)
        for old in dropped:
            with contextlib.suppress(FileNotFoundError):
                (self._dir / f"key-{old}.pem").unlink()
        self._reload()
        return self.active

    # -- persistence -------------------------------------------------------------------------

    def _kid(self, number: int) -> str:
        return f"{self._did}#key-{number}"

    def _number(self, key: SigningKey) -> int:
        return int(key.kid.rsplit("#key-", 1)[1])

    def _next_number(self) -> int:
        # Stray files from an interrupted rotation count too, so a number is never reused.
        numbers = [0]
        if self._dir.is_dir():
            for path in self._dir.iterdir():
                match = _KEY_FILE.fullmatch(path.name)
                if match:
                    numbers.append(int(match.group(1)))
        return max(numbers) + 1

    def _write_key(self, number: int) -> None:
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        path = self._dir / f"key-{number}.pem"
        # O_EXCL + 0600 at creation: the key is never readable by others, not even briefly.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
            handle.flush()
            os.fsync(handle.fileno())

    def _write_index(self, active: int, retired: list[int]) -> None:
        data = {"version": 1, "did": self._did, "active": active, "retired": retired}
        tmp = self._dir / f".{_INDEX}.tmp"
        tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, self._dir / _INDEX)

    def _refresh(self) -> None:
        try:
            mtime = (self._dir / _INDEX).stat().st_mtime_ns
        except FileNotFoundError as exc:
            raise ConfigError(f"key ring index {self._dir / _INDEX} vanished") from exc
        if mtime != self._mtime_ns:
            self._reload()

    def _reload(self) -> None:
        index_path = self._dir / _INDEX
        mtime = index_path.stat().st_mtime_ns
        try:
            data = json.loads(index_path.read_text(encoding="utf-8"))
            did, active, retired = data["did"], data["active"], data["retired"]
        except (ValueError, KeyError, TypeError) as exc:
            raise ConfigError(f"{index_path} is not a valid key ring index: {exc}") from exc
        if did != self._did:
            raise ConfigError(
                f"the keys in {self._dir} belong to {did}, not {self._did}", code="keys_wrong_did"
            )
        if not isinstance(active, int) or not all(isinstance(n, int) for n in retired):
            raise ConfigError(f"{index_path}: key numbers must be integers")
        self._active = self._read_key(active)
        self._retired = [self._read_key(n) for n in retired]
        self._mtime_ns = mtime

    def _read_key(self, number: int) -> SigningKey:
        path = self._dir / f"key-{number}.pem"
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
            if mode & 0o077:
                raise ConfigError(
                    f"private key {path} is accessible by other users (mode {mode:o}); "
                    f"run: chmod 600 {path}",
                    code="key_file_mode",
                )
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        except OSError as exc:
            raise ConfigError(f"cannot read private key {path}: {exc}") from exc
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"{path} is not a PEM private key: {exc}") from exc
        if not isinstance(key, Ed25519PrivateKey):
            raise ConfigError(f"{path} is not an Ed25519 key")
        return SigningKey(self._kid(number), key)
