"""A push service on this machine, playing the browser vendors' one: it takes Web Push
requests, checks their VAPID signature (RFC 8292) and decrypts what they carry (RFC 8291)
with the keys of subscriptions the test made itself, as a browser would."""

from __future__ import annotations

import base64
import json
import os
import time
from dataclasses import dataclass, field
from typing import Any

import http_ece
from aiohttp import web
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Subscription:
    """What a browser's pushManager.subscribe() gives: an endpoint and the public keys; the
    private key stays with the 'browser' (here, the test) to read what arrives."""

    endpoint: str
    key: ec.EllipticCurvePrivateKey
    auth: bytes

    @property
    def p256dh(self) -> str:
        return b64(self.key.public_key().public_bytes(serialization.Encoding.X962,
                                                      serialization.PublicFormat.UncompressedPoint))

    @property
    def keys(self) -> dict[str, str]:
        return {"p256dh": self.p256dh, "auth": b64(self.auth)}


@dataclass
class Received:
    endpoint: str
    payload: dict[str, Any]
    ttl: int
    claims: dict[str, Any]


def verify_vapid(header: str, application_key: str | None = None) -> tuple[dict[str, Any], str]:
    """The JWT's claims and the signer's public key from `Authorization: vapid t=..., k=...`;
    raises ValueError unless its ES256 signature holds (and, if given, k is that key)."""
    scheme, _, rest = header.partition(" ")
    if scheme.lower() != "vapid":
        raise ValueError(f"not a VAPID authorization: {header[:20]}")
    parts = dict(p.strip().split("=", 1) for p in rest.split(","))
    token, k = parts["t"], parts["k"]
    if application_key is not None and k != application_key:
        raise ValueError("signed with another key than the one browsers subscribed with")
    head, body, signature = token.split(".")
    raw = unb64(signature)
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64(k))
    try:
        public.verify(der, f"{head}.{body}".encode(), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise ValueError("the VAPID signature does not hold") from None
    if json.loads(unb64(head)).get("alg") != "ES256":
        raise ValueError("not ES256")
    return json.loads(unb64(body)), k


@dataclass
class PushService:
    port: int = 0
    application_key: str | None = None  # the deployment's public key, when the test knows it
    subscriptions: dict[str, Subscription] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # why requests were turned away
    gone: set[str] = field(default_factory=set)  # endpoints that answer 410
    unknown: set[str] = field(default_factory=set)  # endpoints that answer 404
    _runner: web.AppRunner | None = None

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def subscribe(self) -> Subscription:
        endpoint = f"{self.origin}/push/{b64(os.urandom(12))}"
        sub = Subscription(endpoint, ec.generate_private_key(ec.SECP256R1()), os.urandom(16))
        self.subscriptions[endpoint] = sub
        return sub

    async def _take(self, request: web.Request) -> web.Response:
        endpoint = f"{self.origin}{request.path}"
        if endpoint in self.gone:
            return web.Response(status=410)
        sub = self.subscriptions.get(endpoint)
        if sub is None or endpoint in self.unknown:
            return web.Response(status=404)
        try:
            claims, _ = verify_vapid(request.headers.get("Authorization", ""), self.application_key)
            if claims.get("aud") != self.origin or int(claims["exp"]) <= time.time():
                raise ValueError(f"claims not for this service or expired: {claims}")
            if request.headers.get("Content-Encoding") != "aes128gcm":
                raise ValueError("not aes128gcm")
            body = await request.read()
            plain = http_ece.decrypt(body, private_key=sub.key, auth_secret=sub.auth, version="aes128gcm")
            payload = json.loads(plain)
        except (ValueError, KeyError) as exc:
            self.refused.append(str(exc))
            return web.Response(status=400, text=str(exc))
        self.received.append(Received(endpoint, payload, int(request.headers.get("TTL", "0")), claims))
        return web.Response(status=201)

    async def __aenter__(self) -> PushService:
        app = web.Application()
        app.router.add_post("/push/{id}", self._take)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
