"""The app starts on both databases and answers its health checks."""


async def test_health_and_ready(clients):
    c = clients.anonymous()
    assert (await c.get("/healthz")).json() == {"status": "ok"}
    r = await c.get("/readyz")
    assert r.status_code == 200
    assert r.json()["checks"]["database"] == "ok"
