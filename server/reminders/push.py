"""Web Push: a reminder, encrypted for one device (RFC 8291) and signed with the deployment's
VAPID key (RFC 8292), sent to the device's push service.

Nothing private leaves the server: a push says "Cairn" and a neutral line; lock screens are
not private. The keys come from settings (`cairn vapid-keys` makes a pair)."""

from __future__ import annotations

import base64
import json
import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from server.config import Settings
from server.errors import Invalid
from server.i18n import N_

logger = logging.getLogger("cairn.reminders")

# How long a push service keeps a reminder for a device that is off (seconds).
TTL = 4 * 3600


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def new_keys() -> tuple[str, str]:
    """A VAPID key pair: (private key, public key), base64url as browsers and settings take
    them (the private key's 32 bytes, the public key's uncompressed point)."""
    key = ec.generate_private_key(ec.SECP256R1())
    private = key.private_numbers().private_value.to_bytes(32, "big")
    public = key.public_key().public_bytes(serialization.Encoding.X962,
                                           serialization.PublicFormat.UncompressedPoint)
    return _b64(private), _b64(public)


def public_key(settings: Settings) -> str | None:
    """The application server key browsers subscribe with, or None without VAPID keys."""
    if not settings.vapid_private_key:
        return None
    raw = _unb64(settings.vapid_private_key)
    if len(raw) != 32:
        raise ValueError("a P-256 private key is 32 bytes")
    key = ec.derive_private_key(int.from_bytes(raw, "big"), ec.SECP256R1())
    return _b64(key.public_key().public_bytes(serialization.Encoding.X962,
                                              serialization.PublicFormat.UncompressedPoint))


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def accepted_endpoint(settings: Settings, endpoint: str) -> str:
    """A device's endpoint, if it is at one of the push services this deployment sends to
    (so that nobody can make the server call anything else); else Invalid."""
    parts = urlsplit(endpoint)
    origin = f"{parts.scheme}://{parts.netloc}".lower()
    if len(endpoint) <= 2000 and parts.path and any(
            origin == allowed or (allowed.startswith("https://*.") and parts.scheme == "https"
                                  and parts.hostname is not None
                                  and parts.hostname.endswith(allowed[len("https://*"):]))
            for allowed in settings.push_services):
        return endpoint
    raise Invalid(N_("That push service is not one this Cairn sends to."), code="invalid_push_endpoint")


def usable_keys(p256dh: str, auth: str) -> bool:
    """Whether a device's keys are what a browser makes: a P-256 public point and a 16-byte
    secret, base64url."""
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), _unb64(p256dh))
        return len(_unb64(auth)) == 16
    except (ValueError, TypeError):
        return False


@dataclass(frozen=True)
class Device:
    endpoint: str
    p256dh: str
    auth: str


class Gone(Exception):
    """The push service says the device is no longer there (404 or 410)."""


class Pusher:
    """Sends pushes with this deployment's VAPID key."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @property
    def ready(self) -> bool:
        return bool(self.settings.vapid_private_key)

    async def send(self, device: Device, payload: dict[str, Any]) -> int:
        """The push service's status (201 when it took the push); raises Gone when the
        device is no longer there."""
        import aiohttp
        from pywebpush import WebPushException, webpush_async  # type: ignore[import-untyped]

        try:
            response = await webpush_async(
                subscription_info={"endpoint": device.endpoint,
                                   "keys": {"p256dh": device.p256dh, "auth": device.auth}},
                data=json.dumps(payload), vapid_private_key=self.settings.vapid_private_key,
                vapid_claims={"sub": self.settings.vapid_subject}, ttl=TTL, timeout=10)
        except WebPushException as exc:
            status = int(getattr(exc, "status_code", 0) or 0)
            if status in (404, 410):
                raise Gone(device.endpoint) from None
            logger.warning("push to %s failed: %s", urlsplit(device.endpoint).netloc, status or exc)
            return status
        except (OSError, TimeoutError, aiohttp.ClientError) as exc:  # the service cannot be reached
            logger.warning("push to %s failed: %s", urlsplit(device.endpoint).netloc, exc)
            return 0
        return int(getattr(response, "status", 0))
