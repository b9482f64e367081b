"""TOTP secrets at rest: AES-256-GCM under a key file, the callsign as associated data.

The associated data binds each ciphertext to its callsign, so a row copied to another
callsign does not decrypt. Blob layout: version (1) | nonce (12) | ciphertext+tag.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from gateway.private_files import read_private_file, write_private_file

KEY_BYTES = 32
_VERSION = 1
_NONCE = 12


class SecretKeyError(Exception):
    """The key file is missing, malformed or does not open a stored secret."""


class SecretBox:
    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise SecretKeyError(f"key must be {KEY_BYTES} bytes")
        self._aead = AESGCM(key)

    def __repr__(self) -> str:
        return "SecretBox(<key hidden>)"

    @staticmethod
    def _aad(callsign: str) -> bytes:
        return b"gateway-totp-secret:" + callsign.encode("ascii")

    def seal(self, callsign: str, secret: str) -> bytes:
        nonce = os.urandom(_NONCE)
        sealed = self._aead.encrypt(nonce, secret.encode("ascii"), self._aad(callsign))
        return bytes([_VERSION]) + nonce + sealed

    def open(self, callsign: str, blob: bytes) -> str:
        if len(blob) < 1 + _NONCE + 16 or blob[0] != _VERSION:
            raise SecretKeyError(f"stored secret for {callsign} is malformed")
        nonce, sealed = blob[1 : 1 + _NONCE], blob[1 + _NONCE :]
        try:
            return self._aead.decrypt(nonce, sealed, self._aad(callsign)).decode("ascii")
        except InvalidTag:
            raise SecretKeyError(
                f"stored secret for {callsign} does not decrypt with this key file"
            ) from None

    # A key check value: a known text sealed under the key, kept in the database so a
    # different key file is caught at start. Random nonce, so it says nothing of the key.
    _CHECK_AAD = b"gateway-key-check"
    _CHECK_TEXT = b"gateway key check v1"

    def check_value(self) -> bytes:
        nonce = os.urandom(_NONCE)
        return (
            bytes([_VERSION]) + nonce + self._aead.encrypt(nonce, self._CHECK_TEXT, self._CHECK_AAD)
        )

    def verify_check(self, blob: bytes) -> bool:
        """True if `blob` (from `check_value`) was made with this key."""
        if len(blob) < 1 + _NONCE + 16 or blob[0] != _VERSION:
            return False
        nonce, sealed = blob[1 : 1 + _NONCE], blob[1 + _NONCE :]
        try:
            return self._aead.decrypt(nonce, sealed, self._CHECK_AAD) == self._CHECK_TEXT
        except InvalidTag:
            return False


def load_key(path: Path) -> bytes:
    data = read_private_file(path, KEY_BYTES)
    if len(data) != KEY_BYTES:
        raise SecretKeyError(f"{path}: expected {KEY_BYTES} bytes of key, found {len(data)}")
    return data


def create_key(path: Path) -> bytes:
    """Write a new random key file (0600); never overwrites an existing one."""
    key = os.urandom(KEY_BYTES)
    write_private_file(path, key, exclusive=True)
    return key
