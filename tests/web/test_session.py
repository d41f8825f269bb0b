"""Login, logout and whoami over real HTTP (aiohttp on 127.0.0.1), with the authentication
the auth middleware calls: cookie flags, rotation, CSRF on every state-changing cookie
request, bearer tokens, throttling as 429, errors as the API's JSON document."""

from __future__ import annotations

import ssl

import pytest
from aiohttp import ClientSession, CookieJar, web
from ports import free_port, serve_on_loopback
from yarl import URL

from vp_monitor.accounts import service
from vp_monitor.accounts.schemas import AccountInput, TokenInput
from vp_monitor.config import Settings
from vp_monitor.registry.schemas import MunicipalityInput
from vp_monitor.service.app import App
from vp_monitor.web.app import create_app
from vp_monitor.web.routes import Route, all_routes

pytestmark = pytest.mark.timeout(60)
PASSWORD = "correct-horse-battery"


async def change_something(call):
    return {"changed_by": call.actor}


def build_web(vp_app: App) -> web.Application:
    """The whole web application (real sign-in, roles from the table) plus a state-changing
    route for operators."""
    things = Route("POST", "/api/v1/things", change_something, frozenset({"admin", "operator"}),
                   "test", response=dict[str, str])  # fmt: skip
    return create_app(vp_app, [*all_routes(), things])


@pytest.fixture
async def server(database_url, secret_key):
    """The web app on 127.0.0.1 over a database holding an operator, a municipality account
    (with a token) and an admin; yields (base URL, the operator's token)."""
    settings = Settings(database_url=database_url, language="en",
                        accounts={"free_failures": 2, "delay_s": 30})  # fmt: skip
    vp_app = App.from_settings(settings, actor="setup")
    with vp_app.registry() as registry:
        registry.add_municipality(MunicipalityInput(insee="92012", name="Boulogne-Billancourt"))
        for name, role, scope in (
            ("martin", "operator", {}),
            ("chef", "admin", {}),
            ("ville", "municipality", {"municipalities": ["92012"]}),
        ):
            service.add_account(registry, AccountInput(name=name, role=role, **scope), PASSWORD)
        _, token = service.create_token(registry, TokenInput(user="martin", name="script"))
    runner, port = await serve_on_loopback(build_web(vp_app))
    yield f"http://127.0.0.1:{port}", token
    await runner.cleanup()
    vp_app.close()


def client() -> ClientSession:
    return ClientSession(cookie_jar=CookieJar(unsafe=True))  # unsafe: cookies for an IP host


async def sign_in(http: ClientSession, base: str, name: str = "martin") -> dict:
    async with http.post(f"{base}/api/v1/session", json={"name": name, "password": PASSWORD}) as r:
        assert r.status == 200, await r.text()
        return await r.json()


async def test_login_sets_a_strict_httponly_cookie_and_whoami_reads_it(server):
    base, _ = server
    async with client() as http:
        async with http.post(f"{base}/api/v1/session",
                             json={"name": "ville", "password": PASSWORD}) as response:  # fmt: skip
            assert response.status == 200
            body = await response.json()
            cookie = response.headers["Set-Cookie"]
        assert body["name"] == "ville" and body["role"] == "municipality" and body["csrf_token"]
        assert "vp_session=" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie
        assert "Max-Age=43200" in cookie and "Path=/" in cookie
        assert "Secure" not in cookie  # plain HTTP here; behind TLS request.secure adds it
        async with http.get(f"{base}/api/v1/session") as response:
            me = await response.json()
        assert me["municipalities"] == ["92012"] and me["csrf_token"] == body["csrf_token"]
        assert PASSWORD not in repr(me)


async def test_cookie_posts_need_the_csrf_token_tokens_do_not(server):
    """With the session cookie a POST without X-CSRF-Token, or with a wrong one, is 403;
    with the session's token it passes. A bearer token needs no CSRF token."""
    base, token = server
    async with client() as http:
        csrf = (await sign_in(http, base))["csrf_token"]
        url = f"{base}/api/v1/things"
        async with http.post(url) as response:
            assert response.status == 403
            assert (await response.json())["error"].startswith("missing or wrong CSRF token")
        async with http.post(url, headers={"X-CSRF-Token": csrf[:-1] + "x"}) as response:
            assert response.status == 403
        async with http.post(url, headers={"X-CSRF-Token": csrf}) as response:
            assert response.status == 200 and (await response.json())["changed_by"] == "martin"
    async with ClientSession() as http:
        headers = {"Authorization": f"Bearer {token}"}
        async with http.post(url, headers=headers) as response:
            assert (await response.json())["changed_by"] == "martin (token script)"
        for bad in (f"Bearer {token[:-2]}xx", "Bearer ", f"Basic {token}"):
            async with http.post(url, headers={"Authorization": bad}) as response:
                assert response.status == 401


async def test_login_rotates_the_session_and_logout_ends_it(server):
    """A second login replaces the session the browser had; logout ends it and clears the
    cookie; the old cookie value, sent again, is nobody."""
    base, _ = server
    async with client() as http:
        first_csrf = (await sign_in(http, base))["csrf_token"]
        first = http.cookie_jar.filter_cookies(URL(base))["vp_session"].value
        second_csrf = (await sign_in(http, base))["csrf_token"]
        second = http.cookie_jar.filter_cookies(URL(base))["vp_session"].value
        assert second != first and second_csrf != first_csrf
        async with http.delete(f"{base}/api/v1/session",
                               headers={"X-CSRF-Token": second_csrf}) as response:  # fmt: skip
            assert response.status == 204
            assert 'vp_session=""' in response.headers["Set-Cookie"]
    async with ClientSession() as http:
        for old in (first, second):
            async with http.get(f"{base}/api/v1/session",
                                headers={"Cookie": f"vp_session={old}"}) as response:  # fmt: skip
                assert response.status == 401


async def test_form_login_and_bad_logins_are_clear_4xx(server):
    """A wrong password is 401 with one message; malformed or unexpected bodies are
    400/415/422 naming the problem (a form post too: sign-in takes JSON); a page of another
    site is refused."""
    base, _ = server
    url = f"{base}/api/v1/session"
    async with ClientSession() as http:
        async with http.post(url, data={"name": "chef", "password": PASSWORD}) as response:
            assert response.status == 415
        async with http.post(url, json={"name": "chef", "password": "wrong-password"}) as r:
            assert r.status == 401
            assert await r.json() == {"error": "wrong user name or password", "field": None}
            assert "Set-Cookie" not in r.headers
        async with http.post(url, json={"name": "chef", "password": PASSWORD, "admin": 1}) as r:
            assert r.status == 422 and (await r.json())["field"] == "admin"
        async with http.post(url, json={"name": "chef"}) as r:
            assert r.status == 422 and (await r.json())["field"] == "password"
        async with http.post(url, data=b"{not json",
                             headers={"Content-Type": "application/json"}) as r:  # fmt: skip
            assert r.status == 400 and (await r.json())["error"].startswith("malformed JSON")
        async with http.post(url, json=["chef", PASSWORD]) as r:
            assert r.status == 400
        async with http.post(url, data=b"chef", headers={"Content-Type": "text/plain"}) as r:
            assert r.status == 415
        async with http.post(url, json={"name": "chef", "password": PASSWORD},
                             headers={"Origin": "https://evil.example"}) as r:  # fmt: skip
            assert r.status == 403


async def test_repeated_failures_answer_429_with_retry_after(server):
    """Past the free failures, the next attempt (even with the right password) waits:
    429 with Retry-After and the wait in words."""
    base, _ = server
    url = f"{base}/api/v1/session"
    async with ClientSession() as http:
        for _ in range(3):
            async with http.post(url, json={"name": "ville", "password": "wrong-password"}) as r:
                assert r.status == 401
        async with http.post(url, json={"name": "ville", "password": PASSWORD}) as r:
            assert r.status == 429
            wait = int(r.headers["Retry-After"])  # 30 s, less what the attempts took
            assert 25 <= wait <= 30
            assert (await r.json())["error"].startswith("too many login attempts: try again in")


async def test_behind_a_trusted_proxy_its_client_address_and_https_count(server):
    """From a trusted proxy (loopback by default) X-Forwarded-For names the client whose
    failures are counted, and X-Forwarded-Proto: https makes the cookie Secure."""
    base, _ = server
    url = f"{base}/api/v1/session"
    async with ClientSession() as http:
        for _ in range(3):
            headers = {"X-Forwarded-For": "203.0.113.7, 198.51.100.1"}
            async with http.post(url, json={"name": f"guess{_}", "password": "wrong-pass"},
                                 headers=headers) as r:  # fmt: skip
                assert r.status == 401
        # 198.51.100.1 (the last hop, what the proxy saw) now waits; another client does not.
        async with http.post(url, json={"name": "chef", "password": PASSWORD},
                             headers={"X-Forwarded-For": "198.51.100.1"}) as r:  # fmt: skip
            assert r.status == 429
        async with http.post(url, json={"name": "chef", "password": PASSWORD},
                             headers={"X-Forwarded-For": "198.51.100.2",
                                      "X-Forwarded-Proto": "https"}) as r:  # fmt: skip
            assert r.status == 200
            assert "Secure" in r.headers["Set-Cookie"]


def self_signed_context(directory) -> ssl.SSLContext:
    """A TLS server context with a throw-away certificate for 127.0.0.1."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))  # fmt: skip
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_path, key_path)
    return context


async def test_over_https_the_cookie_is_secure(database_url, secret_key, tmp_path):
    """Served over TLS (request.secure), the session cookie carries Secure."""
    vp_app = App.from_settings(Settings(database_url=database_url), actor="setup")
    with vp_app.registry() as registry:
        service.add_account(registry, AccountInput(name="chef", role="admin"), PASSWORD)
    runner = web.AppRunner(build_web(vp_app), access_log=None)
    await runner.setup()
    port = free_port("127.0.0.1")
    await web.TCPSite(runner, "127.0.0.1", port, ssl_context=self_signed_context(tmp_path)).start()
    try:
        async with ClientSession() as http:
            async with http.post(f"https://127.0.0.1:{port}/api/v1/session", ssl=False,
                                 json={"name": "chef", "password": PASSWORD}) as r:  # fmt: skip
                assert r.status == 200
                assert "Secure" in r.headers["Set-Cookie"]
    finally:
        await runner.cleanup()
        vp_app.close()
