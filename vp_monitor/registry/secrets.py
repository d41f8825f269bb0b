"""Encryption of camera passwords at rest (redaction of what is shown: vp_monitor.redaction)."""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken


class SecretKeyError(Exception):
    """The encryption key is missing, malformed or does not match the stored passwords."""


def load_key(key_file: Path, environ: dict[str, str] | None = None) -> bytes:
    """Key from VP_SECRET_KEY, else from `key_file`, created with mode 0600 on first run."""
    environ = os.environ if environ is None else environ
    key = environ.get("VP_SECRET_KEY")
    if key:
        return _checked(key.encode(), "VP_SECRET_KEY")
    if key_file.exists():
        return _checked(key_file.read_bytes().strip(), str(key_file))
    key_file.parent.mkdir(parents=True, exist_ok=True)
    new_key = Fernet.generate_key()
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(new_key + b"\n")
    return new_key


def _checked(key: bytes, origin: str) -> bytes:
    try:
        Fernet(key)
    except ValueError as exc:
        raise SecretKeyError(
            f"{origin}: not a valid key (expected 32 url-safe base64-encoded bytes, "
            "as made by `vp-monitor db new-key`)"
        ) from exc
    return key


class SecretBox:
    """Encrypts and decrypts camera passwords with one key."""

    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken as exc:
            raise SecretKeyError(
                "a stored password cannot be decrypted with this key (wrong VP_SECRET_KEY?)"
            ) from exc
