"""The accounts page in Debian's chromium (Playwright), signed in with a real administrator's
session, its forms going to the real accounts API with the CSRF token: a municipality account
added with its scope, changed, given a token shown once and revoked, its password reset, then
removed; not reachable nor linked for an operator; no serious accessibility violation.

Screenshots go to /tmp/shots (or $VP_SHOTS).
"""

from __future__ import annotations

import pytest
from test_pages import browser, signed_in
from two_towns import PRINCIPALS

# SQLite only, as the other browser tests: the API's tests run on both databases.
pytestmark = [
    pytest.mark.timeout(90),
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]
PASSWORD = "Mairie-Passw0rd-2026"


def user_section(b, name: str):
    return b.page.locator(f'details.account[data-user="{name}"]')


async def submit_and_reload(b, form) -> None:
    async with b.page.expect_event("load"):
        await form.locator("button[type=submit]").click()


async def test_admin_manages_an_account_and_its_token(signed_api):
    """As the administrator: add a municipality account with Boulogne as its scope; create a
    token (shown once, with the copy hint, and working as Bearer), revoke it (refused
    afterwards); change the account's role; reset its password; remove it."""
    client, _ = signed_api
    cookie, _ = await signed_in(client, "alice.admin")
    client.session.cookie_jar.clear()  # the browser's session: a login here would end it
    async with browser(client, None, cookie=cookie) as b:
        await b.open("/accounts")
        assert await b.page.locator("header.top a[href='/accounts']").count() == 1
        rows = await b.page.eval_on_selector_all(
            "table.accounts tbody tr", "rows => rows.map(r => r.dataset.user)")  # fmt: skip
        assert rows == sorted(p.name for p in PRINCIPALS.values())
        opened = "ds => ds.filter(d => d.open).map(d => d.dataset.user)"
        assert await b.page.eval_on_selector_all("details.account", opened) == []  # folded
        await b.page.click('table.accounts a[href="#user-olga.op"]')  # the table's link opens it
        assert await b.page.eval_on_selector_all("details.account", opened) == ["olga.op"]
        assert await user_section(b, "olga.op").locator("form.account-update").is_visible()

        add = b.page.locator("#account-add")
        await add.locator("[name=name]").fill("mia.ville")
        await add.locator("[name=role]").select_option("municipality")
        await add.locator("[name=language]").select_option("en")
        await add.locator("[name=password]").fill(PASSWORD)
        await add.locator("button[type=submit]").click()  # no municipality: the API says so
        await add.locator(".form-error", has_text="municipalities").wait_for()
        await add.locator("[name=municipalities]").select_option("92012")
        await submit_and_reload(b, add)
        row = b.page.locator('table.accounts tr[data-user="mia.ville"]')
        assert (await row.inner_text()).split("\t")[1:5] == [
            "commune", "92012", "anglais", "actif"]  # fmt: skip

        # The reload after adding shows the new account, open, and only it.
        assert await b.page.eval_on_selector_all("details.account", opened) == ["mia.ville"]
        section = user_section(b, "mia.ville")
        create = section.locator("form.token-create")
        await create.locator("[name=name]").fill("export-nuit")
        await create.locator("button[type=submit]").click()
        shown = create.locator(".new-token .token-value")
        await shown.wait_for()
        token = await shown.inner_text()
        assert token.startswith("vpm_")
        assert "ne sera plus jamais affiché" in await create.locator(".new-token").inner_text()
        assert await create.locator(".token-copy").is_visible()
        await b.shot("accounts-token-once")
        who = await client.get("/api/v1/session", headers={"Authorization": f"Bearer {token}"})
        assert (await who.json())["name"] == "mia.ville"
        async with b.page.expect_event("load"):
            await create.locator(".token-done").click()
        assert token not in await b.page.content()  # shown once: never again
        revoke = section.locator('tr[data-token="export-nuit"] form.token-revoke')
        await submit_and_reload(b, revoke)
        assert "révoqué le" in await section.locator('tr[data-token="export-nuit"]').inner_text()
        who = await client.get("/api/v1/session", headers={"Authorization": f"Bearer {token}"})
        assert who.status == 401

        update = section.locator("form.account-update")
        await update.locator("[name=role]").select_option("operator")
        await update.locator("[name=municipalities]").select_option([])
        await submit_and_reload(b, update)
        assert (await row.inner_text()).split("\t")[1:3] == ["opérateur", "tout le parc"]

        password = section.locator("form.account-password")
        await password.locator("[name=password]").fill(PASSWORD + "-b")
        await submit_and_reload(b, password)
        again = {"name": "mia.ville", "password": PASSWORD + "-b"}
        signed = await client.post("/api/v1/session", json=again)
        assert signed.status == 200

        await b.shot("accounts")
        assert await b.csp_violations() == []

        async def confirm(dialog):
            assert "mia.ville" in dialog.message
            await dialog.accept()

        b.page.once("dialog", confirm)
        await submit_and_reload(b, section.locator("form.account-remove"))
        assert await b.page.locator('[data-user="mia.ville"]').count() == 0


async def test_accounts_page_is_the_admins_only(api):
    """An operator, a technician and a municipality get the forbidden page at /accounts and
    see no link to it; the administrator sees it."""
    for caller in ("operator", "technician", "boulogne"):
        async with browser(api, caller) as b:
            await b.open("/")
            assert await b.page.locator("a[href='/accounts']").count() == 0, caller
            response = await b.open("/accounts")
            assert response.status == 403, caller
            assert "mia" not in await b.page.content()
            assert await b.page.locator("form.account-form").count() == 0
    async with browser(api, "admin") as b:
        await b.open("/")
        assert await b.page.locator("a[href='/accounts']").count() == 1


async def test_accounts_page_has_no_serious_accessibility_violation(signed_api):
    """axe-core in the accounts page (every test account, each with a token): no serious or
    critical violation (labels, contrast, names of the revoke buttons)."""
    axe = pytest.importorskip("axe_playwright_python.async_playwright").Axe()
    client, _ = signed_api
    cookie, _ = await signed_in(client, "alice.admin")
    async with browser(client, None, cookie=cookie) as b:
        await b.open("/accounts")
        results = await axe.run(b.page)
        bad = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
               for v in results.response["violations"]
               if v["impact"] in ("serious", "critical")]  # fmt: skip
        assert bad == []
        await b.shot("accounts-admin")
