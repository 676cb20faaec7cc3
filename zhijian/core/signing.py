"""Ed25519 signatures over canonical JSON, with key rotation.

Canonical JSON: keys sorted, UTF-8 (no ``\\u`` escapes), no whitespace; dates, decimals and UUIDs
as Django's JSON encoder writes them. The same bytes are what ``trace`` hashes.

Keys (``SigningKey``):
- the *active* key signs; retired keys stay in the table so old signatures keep verifying;
- verification needs only the public key, so it works on any copy of the database;
- a generated private key is stored AES-GCM encrypted under a key derived (HKDF) from SECRET_KEY:
  a stolen database alone cannot sign. Changing SECRET_KEY makes those keys unusable for
  signing (not for verifying): run ``rotate_signing_key`` afterwards;
- ``ZHIJIAN_SIGNING_KEY`` (32-byte seed, hex or base64) supplies the key from outside (an HSM
  export, a secret manager); it is never written to the database, only its public half is.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import secrets

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.utils import timezone

from .errors import ApplicationError
from .models import SigningKey


def canonical_json(data) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, cls=DjangoJSONEncoder).encode("utf-8")


def digest(data) -> str:
    """SHA-256 hex of the canonical JSON; ``None`` (no state) digests to the empty string."""
    if data is None:
        return ""
    return hashlib.sha256(canonical_json(data)).hexdigest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _raw_public(private: Ed25519PrivateKey) -> bytes:
    return private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _raw_seed(private: Ed25519PrivateKey) -> bytes:
    return private.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())


def _kid_for(public_raw: bytes, prefix: str) -> str:
    return f"{prefix}-{hashlib.sha256(public_raw).hexdigest()[:16]}"


def _kek() -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"zhijian-signing", info=b"private-key-wrap").derive(
        settings.SECRET_KEY.encode("utf-8")
    )


def _wrap(seed: bytes, kid: str) -> str:
    nonce = os.urandom(12)
    return _b64(nonce + AESGCM(_kek()).encrypt(nonce, seed, kid.encode()))


def _unwrap(blob: str, kid: str) -> bytes:
    raw = _unb64(blob)
    return AESGCM(_kek()).decrypt(raw[:12], raw[12:], kid.encode())


def _env_seed() -> bytes | None:
    value = (getattr(settings, "SIGNING_KEY", "") or "").strip()
    if not value:
        return None
    try:
        seed = bytes.fromhex(value)
    except ValueError:
        try:
            seed = _unb64(value.replace("+", "-").replace("/", "_").rstrip("="))
        except (binascii.Error, ValueError):
            seed = b""
    if len(seed) != 32:
        raise ApplicationError("ZHIJIAN_SIGNING_KEY 必须是 32 字节的 Ed25519 种子（hex 或 base64）", code="signing_key")
    return seed


@transaction.atomic
def rotate(*, seed: bytes | None = None):
    """Retire the active key and make a new one active. Returns the new ``SigningKey``."""

    private = Ed25519PrivateKey.from_private_bytes(seed) if seed else Ed25519PrivateKey.generate()
    public = _raw_public(private)
    kid = _kid_for(public, "k" + timezone.now().strftime("%Y%m%d"))
    SigningKey.objects.select_for_update().filter(active=True).update(active=False, retired_at=timezone.now())
    return SigningKey.objects.create(
        kid=kid, public_key=_b64(public), private_key_enc=_wrap(_raw_seed(private), kid), active=True
    )


def _env_key() -> tuple[str, Ed25519PrivateKey] | None:
    seed = _env_seed()
    if seed is None:
        return None

    private = Ed25519PrivateKey.from_private_bytes(seed)
    public = _raw_public(private)
    kid = _kid_for(public, "env")
    if not SigningKey.objects.filter(kid=kid).exists():
        # Only the public half is recorded, so signatures stay verifiable after the env changes.
        try:
            with transaction.atomic():
                SigningKey.objects.create(kid=kid, public_key=_b64(public), external=True, active=False)
        except IntegrityError:
            pass
    return kid, private


def active_key() -> tuple[str, Ed25519PrivateKey]:
    env = _env_key()
    if env:
        return env

    key = SigningKey.objects.filter(active=True).first()
    if key is None:
        try:
            key = rotate()
        except IntegrityError:  # another process created one at the same moment
            key = SigningKey.objects.get(active=True)
    try:
        seed = _unwrap(key.private_key_enc, key.kid)
    except (InvalidTag, ValueError) as exc:
        raise ApplicationError("当前签名密钥无法解密（SECRET_KEY 已更换？），请运行 rotate_signing_key", code="signing_key") from exc
    return key.kid, Ed25519PrivateKey.from_private_bytes(seed)


def sign(payload) -> dict:
    """``{"kid", "sig"}``: an Ed25519 signature (base64url) over the payload's canonical JSON."""
    kid, private = active_key()
    return {"kid": kid, "sig": _b64(private.sign(canonical_json(payload)))}


def public_key(kid: str) -> Ed25519PublicKey | None:

    raw = SigningKey.objects.filter(kid=kid).values_list("public_key", flat=True).first()
    return Ed25519PublicKey.from_public_bytes(_unb64(raw)) if raw else None


def verify(payload, kid: str, sig: str) -> bool:
    key = public_key(kid)
    if key is None:
        return False
    try:
        key.verify(_unb64(sig), canonical_json(payload))
    except (InvalidSignature, ValueError, binascii.Error):
        return False
    return True


def new_seed_hex() -> str:
    """A fresh seed for ZHIJIAN_SIGNING_KEY."""
    return secrets.token_bytes(32).hex()
