"""The accounts API over real HTTP, on SQLite and PostgreSQL, signed in with the real accounts
and API tokens of two_towns: users created, changed, disabled and removed; tokens shown once,
usable as Bearer, refused once revoked; every route refused to the other roles; the password
in no response and no log line; the last administrator kept."""

from __future__ import annotations

import logging

import pytest
from two_towns import ACCOUNT_PASSWORD, PRINCIPALS

from vp_monitor.web.api import accounts
from vp_monitor.web.pages import accounts as accounts_page

pytestmark = pytest.mark.timeout(120)
NEW_PASSWORD = "Brand-New-Passw0rd-77"  # never in any response, log line or audit entry


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def admin(signed_api):
    """A client and the headers of the administrator's token."""
    client, tokens = signed_api
    return client, bearer(tokens["admin"])


async def answer(response) -> tuple[int, dict | list | None]:
    text = await response.text()
    return response.status, (await response.json()) if text else None


async def test_admin_creates_changes_disables_and_removes_a_user(admin, vp_app):
    """`user add|update|remove` over HTTP: the account as given, never a password; a new role
    drops the scope it does not take; a disabled account's token signs nothing in; unknown
    names are 404, a name taken (any case) 409, bad fields 422 naming the field; every write
    is audited under the administrator's name."""
    client, headers = admin
    new = {"name": "mia.ville", "role": "municipality", "municipalities": ["92012"],
           "language": "en", "password": NEW_PASSWORD}  # fmt: skip
    status, body = await answer(await client.post("/api/v1/users", json=new, headers=headers))
    assert status == 201, body
    assert (body["name"], body["role"], body["municipalities"], body["language"]) == (
        "mia.ville", "municipality", ["92012"], "en")  # fmt: skip
    assert body["enabled"] is True and body["last_login_at"] is None and "password" not in body
    status, body = await answer(await client.get("/api/v1/users/MIA.VILLE", headers=headers))
    assert (status, body["name"]) == (200, "mia.ville")
    status, listed = await answer(await client.get("/api/v1/users", headers=headers))
    assert [user["name"] for user in listed] == sorted(
        [p.name for p in PRINCIPALS.values()] + ["mia.ville"])  # fmt: skip

    signed = await client.post("/api/v1/session",
                               json={"name": "mia.ville", "password": NEW_PASSWORD})  # fmt: skip
    assert signed.status == 200  # the password set is the one that signs in
    status, body = await answer(await client.get("/api/v1/users/mia.ville", headers=headers))
    assert body["last_login_at"] is not None

    change = {"role": "maintainer", "maintainer": "Acme Vidéo"}
    status, body = await answer(
        await client.patch("/api/v1/users/mia.ville", json=change, headers=headers)
    )
    assert (status, body["role"], body["municipalities"], body["maintainer"]) == (
        200, "maintainer", [], "Acme Vidéo")  # fmt: skip

    created = await client.post("/api/v1/tokens", json={"user": "mia.ville", "name": "cron"},
                                headers=headers)  # fmt: skip
    token = (await created.json())["token"]
    assert (await client.get("/api/v1/session", headers=bearer(token))).status == 200
    status, body = await answer(await client.patch(
        "/api/v1/users/mia.ville", json={"enabled": False}, headers=headers))  # fmt: skip
    assert (status, body["enabled"]) == (200, False)
    assert (await client.get("/api/v1/session", headers=bearer(token))).status == 401
    refused = await client.post("/api/v1/session",
                                json={"name": "mia.ville", "password": NEW_PASSWORD})  # fmt: skip
    assert refused.status == 401

    for bad, field in (({**new, "name": "Mia.Ville"}, None),
                       ({**new, "name": "zoe", "role": "king"}, "role"),
                       ({**new, "name": "zoe", "password": "short"}, "password"),
                       ({**new, "name": "zoe", "municipalities": []}, "municipalities"),
                       ({**new, "name": "zoe", "colour": "red"}, "colour")):  # fmt: skip
        status, body = await answer(await client.post("/api/v1/users", json=bad, headers=headers))
        assert (status, body["field"]) == (409 if field is None else 422, field), (bad, body)
    taken = await client.post("/api/v1/users", json={**new, "name": "Mia.Ville"}, headers=headers)
    assert "existe déjà" in (await taken.json())["error"]
    status, body = await answer(await client.post(
        "/api/v1/users", json={**new, "name": "zoe", "municipalities": ["75056"]},
        headers=headers))  # fmt: skip
    assert status == 404 and "75056" in body["error"]

    for method, path, json in (("GET", "/api/v1/users/nobody", None),
                               ("PATCH", "/api/v1/users/nobody", {"language": "fr"}),
                               ("PUT", "/api/v1/users/nobody/password",
                                {"password": NEW_PASSWORD}),
                               ("DELETE", "/api/v1/users/nobody", None)):  # fmt: skip
        response = await client.request(method, path, json=json, headers=headers)
        status, body = await answer(response)
        assert (status, "nobody" in body["error"]) == (404, True), (method, path)

    assert (await client.delete("/api/v1/users/mia.ville", headers=headers)).status == 204
    assert (await client.get("/api/v1/users/mia.ville", headers=headers)).status == 404
    trail = [e for e in audit(vp_app, "account", "mia.ville") if not e[1].startswith("login")]
    assert [action for _, action in trail] == ["create", "update", "update", "delete"]
    assert {actor for actor, _ in trail} == {"alice.admin (token tests)"}


def audit(vp_app, entity: str, key: str) -> list[tuple[str, str]]:
    """The audit trail of one account or token: (actor, action), oldest first."""
    with vp_app.registry() as registry:
        return [(entry.actor, entry.action) for entry in registry.history(entity, key)]


async def test_token_is_shown_once_works_as_bearer_and_not_once_revoked(admin, vp_app):
    """`token create|list|revoke` over HTTP: the token in the creating answer only (lists show
    its prefix), usable as `Authorization: Bearer`; once revoked it is refused; unknown
    account or token 404, a label taken 409."""
    client, headers = admin
    request = {"user": "olga.op", "name": "wall-script", "expires_on": "2099-01-01"}
    status, created = await answer(await client.post("/api/v1/tokens", json=request,
                                                     headers=headers))  # fmt: skip
    assert status == 201, created
    token = created["token"]
    assert token.startswith("vpm_") and created["prefix"] == token[:12] + "…"
    assert created["expires_at"].startswith("2098-12-31T23:00:00")  # midnight in Paris
    status, who = await answer(await client.get("/api/v1/session", headers=bearer(token)))
    assert (status, who["name"], who["token"]) == (200, "olga.op", "wall-script")
    listing = await client.get("/api/v1/tokens", params={"user": "olga.op"}, headers=headers)
    listed = await listing.json()
    assert [t["name"] for t in listed] == ["tests", "wall-script"]
    assert token not in await listing.text() and all("token" not in t for t in listed)
    assert listed[1]["last_used_at"] is not None  # it just signed in
    every = await (await client.get("/api/v1/tokens", headers=headers)).json()
    assert len(every) == len(PRINCIPALS) + 1

    dup = await client.post("/api/v1/tokens", json=request, headers=headers)
    assert dup.status == 409 and "wall-script" in (await dup.json())["error"]
    status, revoked = await answer(
        await client.post("/api/v1/tokens/olga.op/wall-script/revoke", headers=headers)
    )
    assert status == 200 and revoked["revoked_at"] is not None and "token" not in revoked
    assert (await client.get("/api/v1/session", headers=bearer(token))).status == 401
    for path in ("/api/v1/tokens/olga.op/nothing/revoke", "/api/v1/tokens/nobody/tests/revoke"):
        assert (await client.post(path, headers=headers)).status == 404, path
    unknown = await client.get("/api/v1/tokens", params={"user": "nobody"}, headers=headers)
    assert unknown.status == 404
    assert [a for _, a in audit(vp_app, "api_token", "olga.op/wall-script")] == [
        "create", "revoke"]  # fmt: skip


async def test_every_accounts_route_refused_to_every_other_role(signed_api, vp_app):
    """Each route of the accounts API and page, called by each role but admin (its real
    token), is 403, and without any sign-in 401; nothing was written."""
    client, tokens = signed_api
    before = audit_size(vp_app)
    routes = accounts.ROUTES + accounts_page.ROUTES
    samples = {"user": "olga.op", "token": "tests"}
    bodies = {"create_user": {"name": "x.y", "role": "operator", "password": NEW_PASSWORD},
              "update_user": {"role": "admin"}, "set_user_password": {"password": NEW_PASSWORD},
              "create_token": {"user": "olga.op", "name": "stolen"}}  # fmt: skip
    for route in routes:
        path = route.path.replace("{user}", samples["user"]).replace(accounts.TOKEN, "tests")
        json = bodies.get(route.operation_id)
        for caller in ("technician", "operator", "boulogne", "acme"):
            response = await client.request(route.method, path, json=json,
                                            headers=bearer(tokens[caller]))  # fmt: skip
            assert response.status == 403, (route.method, path, caller)
        response = await client.request(route.method, path, json=json, allow_redirects=False)
        assert response.status in (401, 303), (route.method, path)  # a page: to the sign-in
    assert audit_size(vp_app) == before


def audit_size(vp_app) -> int:
    from sqlalchemy import func, select

    from vp_monitor.registry.models import AuditEntry

    with vp_app.registry() as registry:
        return registry.session.scalar(select(func.count()).select_from(AuditEntry))


async def test_password_is_in_no_response_log_or_audit_entry(admin, vp_app, caplog):
    """A password sent to create an account, to set one, refused for being short or for an
    unknown field beside it, and signed in with: in no response body or header, no log
    record (at debug level) and no audit entry."""
    caplog.set_level(logging.DEBUG)
    client, headers = admin
    short = "Short-Pw-1"
    calls = [
        ("POST", "/api/v1/users", {"name": "pat", "role": "operator", "password": NEW_PASSWORD}),
        ("POST", "/api/v1/users", {"name": "pat2", "role": "operator", "password": short}),
        ("POST", "/api/v1/users", {"name": "pat3", "role": "operator", "password": NEW_PASSWORD,
                                   "passwd": NEW_PASSWORD}),
        ("PUT", "/api/v1/users/pat/password", {"password": NEW_PASSWORD + "!"}),
        ("PUT", "/api/v1/users/pat/password", {"password": short}),
        ("PUT", "/api/v1/users/pat/password", {"password": NEW_PASSWORD, "x": 1}),
    ]  # fmt: skip
    seen = []
    for method, path, json in calls:
        response = await client.request(method, path, json=json, headers=headers)
        seen.append(f"{response.status} {dict(response.headers)} {await response.text()}")
    for password in (NEW_PASSWORD + "!", "wrong-" + NEW_PASSWORD):
        response = await client.post("/api/v1/session", json={"name": "pat", "password": password})
        seen.append(f"{response.status} {dict(response.headers)} {await response.text()}")
    assert [text[:3] for text in seen] == ["201", "422", "422", "204", "422", "422", "200", "401"]
    assert "password" in seen[1] and "12" in seen[1]  # the field named, the rule said
    from sqlalchemy import select

    from vp_monitor.registry.models import AuditEntry

    with vp_app.registry() as registry:
        stored = repr([(e.before, e.after) for e in registry.session.scalars(select(AuditEntry))])
    for secret in (NEW_PASSWORD, short):
        assert not [text for text in seen if secret in text], secret
        assert secret not in caplog.text and secret not in stored


async def test_the_last_administrator_cannot_be_removed_demoted_or_disabled(admin, signed_api):
    """alice.admin is the only administrator: removing, demoting or disabling her is a 409
    saying so; once another is made administrator, she can be demoted."""
    client, headers = admin
    for method, json in (("DELETE", None), ("PATCH", {"role": "operator"}),
                         ("PATCH", {"enabled": False})):  # fmt: skip
        response = await client.request(method, "/api/v1/users/alice.admin", json=json,
                                        headers=headers)  # fmt: skip
        status, body = await answer(response)
        assert status == 409 and "dernier compte administrateur" in body["error"], (method, json)
    promoted = await client.patch("/api/v1/users/theo.tech", json={"role": "admin"},
                                  headers=headers)  # fmt: skip
    assert promoted.status == 200
    demoted = await client.patch("/api/v1/users/alice.admin", json={"role": "operator"},
                                 headers=headers)  # fmt: skip
    assert demoted.status == 200 and (await demoted.json())["role"] == "operator"
    # Her token now acts as an operator: the accounts API is no longer hers.
    assert (await client.get("/api/v1/users", headers=headers)).status == 403
    _, tokens = signed_api
    theo = bearer(tokens["technician"])
    assert (await client.delete("/api/v1/users/theo.tech", headers=theo)).status == 409


async def test_a_browser_session_writes_with_its_csrf_token_only(signed_api):
    """With the session cookie (as the accounts page sends), a write without the CSRF token
    is 403 and writes nothing; with it, the account is added."""
    client, _ = signed_api
    admin_login = {"name": "alice.admin", "password": ACCOUNT_PASSWORD}
    signed = await client.post("/api/v1/session", json=admin_login)
    csrf = (await signed.json())["csrf_token"]
    new = {"name": "kim", "role": "operator", "password": NEW_PASSWORD}
    assert (await client.post("/api/v1/users", json=new)).status == 403
    assert (await client.get("/api/v1/users/kim")).status == 404
    added = await client.post("/api/v1/users", json=new, headers={"X-CSRF-Token": csrf})
    assert added.status == 201
