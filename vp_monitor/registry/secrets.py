"""Encryption of camera passwords at rest (redaction of what is shown: vp_monitor.redaction)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from vp_monitor.texts import MessageError


class SecretKeyError(MessageError):
    """The encryption key is missing, malformed or does not match the stored passwords."""


def load_key(
    key_file: Path | None, environ: dict[str, str] | None = None, create: bool = True
) -> bytes:
    """Key from VP_SECRET_KEY, else from `key_file`, created with mode 0600 if `create`."""
    environ = os.environ if environ is None else environ
    key = environ.get("VP_SECRET_KEY")
    if key:
        return _checked(key.encode(), "VP_SECRET_KEY")
    if key_file is None:
        raise SecretKeyError("key.none")
    if key_file.exists():
        return _checked(key_file.read_bytes().strip(), str(key_file))
    if not create:  # a new key could not decrypt what is stored: say which file is missing
        raise SecretKeyError("key.file_missing", path=key_file)
    key_file.parent.mkdir(parents=True, exist_ok=True)
    new_key = Fernet.generate_key()
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(new_key + b"\n")
    return new_key


def open_secret_box(key_file: Path | None, environ: dict[str, str] | None = None) -> SecretBox:
    """A SecretBox whose key (VP_SECRET_KEY, else `key_file`) is read when first needed; only
    storing a password creates the key file."""
    environ = os.environ if environ is None else environ
    origin = "VP_SECRET_KEY" if environ.get("VP_SECRET_KEY") else str(key_file)
    return SecretBox(lambda create: load_key(key_file, environ, create), origin)


def _checked(key: bytes, origin: str) -> bytes:
    try:
        Fernet(key)
    except ValueError as exc:
        raise SecretKeyError("key.invalid", origin=origin) from exc
    return key


class SecretBox:
    """Encrypts and decrypts camera passwords with one key: bytes, or a function giving them
    (its argument says whether a missing key may be created: only to encrypt)."""

    def __init__(self, key: bytes | Callable[[bool], bytes], origin: str = "the given key") -> None:
        self._key = key
        self._loaded: Fernet | None = None
        self.origin = origin

    def _fernet(self, create: bool) -> Fernet:
        if self._loaded is None:
            self._loaded = Fernet(self._key(create) if callable(self._key) else self._key)
        return self._loaded

    def encrypt(self, plaintext: str) -> str:
        return self._fernet(create=True).encrypt(plaintext.encode()).decode()

    def decrypt(self, token: str) -> str:
        fernet = self._fernet(create=False)
        try:
            return fernet.decrypt(token.encode()).decode()
        except InvalidToken as exc:
            raise SecretKeyError("key.wrong", origin=self.origin) from exc
