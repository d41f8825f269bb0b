"""`vp-monitor user …` and `vp-monitor token …` end to end with click's runner: the forms
scripts rely on, the token alone on the last line, and no secret in any listing or log."""

from __future__ import annotations

import json
import logging

from vp_monitor.accounts import service
from vp_monitor.db import make_engine, session_factory, transaction

PASSWORD = "correct-horse-battery"


def test_user_and_token_commands_end_to_end(town_cli, database_url, english, caplog):
    """Accounts are added, listed, updated, given a new password and removed; a token is
    printed alone on the last line, works as its account, is listed without itself and is
    revoked. No password, hash or token is in any listing or log line."""
    caplog.set_level(logging.DEBUG)
    run = town_cli
    code, out, err = run("user", "add", "chef", "--role", "admin", "--password-stdin",
                         input=PASSWORD + "\n")  # fmt: skip
    assert (code, out.strip()) == (0, "account chef (administrator) added"), err
    code, out, err = run(
        "user", "add", "boulogne", "--role", "municipality", "--municipality", "92012",
        "--language", "en", "--password-stdin", input=PASSWORD + "\n",
    )  # fmt: skip
    assert code == 0, err
    code, out, err = run("token", "create", "--user", "boulogne", "--name", "reports",
                         "--expires", "2099-01-01")  # fmt: skip
    assert code == 0, err
    lines = out.strip().splitlines()
    token = lines[-1]
    assert token.startswith("vpm_") and " " not in token and "shown once" in lines[0]
    engine = make_engine(database_url)
    try:
        with transaction(session_factory(engine)) as session:
            principal = service.principal_for_token(session, token)
        assert principal.name == "boulogne" and principal.municipalities == {"92012"}
    finally:
        engine.dispose()

    code, listed, _ = run("user", "list")
    assert code == 0 and "boulogne" in listed and "municipality" in listed and "92012" in listed
    code, listed_json, _ = run("user", "list", "--json")
    records = json.loads(listed_json)
    assert [r["name"] for r in records] == ["boulogne", "chef"]
    assert not any("password" in key or "hash" in key for r in records for key in r)
    code, tokens, _ = run("token", "list")
    assert code == 0 and "reports" in tokens and token[:12] in tokens
    code, tokens_json, _ = run("token", "list", "--user", "boulogne", "--json")
    assert json.loads(tokens_json)[0]["expires_at"].startswith("2098-12-31T23:00")
    for shown in (listed, listed_json, tokens, tokens_json, caplog.text):
        assert token not in shown and PASSWORD not in shown and "$argon2" not in shown

    assert run("user", "update", "boulogne", "--role", "operator")[0] == 0
    assert json.loads(run("user", "list", "--json")[1])[0]["role"] == "operator"
    assert run("user", "update", "boulogne", "--disable")[0] == 0
    assert json.loads(run("user", "list", "--json")[1])[0]["enabled"] is False
    code, out, err = run("user", "update", "chef", "--disable")  # the only administrator
    assert code == 2 and "last administrator" in out + err
    assert run("user", "update", "boulogne", "--enable")[0] == 0
    code, out, _ = run("user", "password", "boulogne", "--password-stdin",
                       input="another-long-password\n")  # fmt: skip
    assert code == 0 and "password of account boulogne changed" in out
    code, out, _ = run("token", "revoke", "--user", "boulogne", "--name", "reports")
    assert code == 0 and "revoked" in out
    assert json.loads(run("token", "list", "--json")[1])[0]["revoked_at"] is not None
    assert run("user", "remove", "boulogne")[0] == 0
    assert [r["name"] for r in json.loads(run("user", "list", "--json")[1])] == ["chef"]
    assert run("token", "list")[1].strip() == "No token."


def test_bad_input_exits_2_with_one_clear_line(town_cli, english):
    """Short password, no --password-stdin, unknown municipality, scope that does not fit the
    role, unknown account or token: `error: …` and exit code 2, nothing written."""
    run = town_cli
    cases = [
        (("user", "add", "x1", "--role", "operator", "--password-stdin"), "short\n",
         "at least 12 characters"),
        (("user", "add", "x2", "--role", "operator"), None, "--password-stdin"),
        (("user", "add", "x3", "--role", "municipality", "--municipality", "75056",
          "--password-stdin"), PASSWORD + "\n", "unknown municipality '75056'"),
        (("user", "add", "x4", "--role", "municipality", "--password-stdin"), PASSWORD + "\n",
         "municipalities"),
        (("user", "add", "x5", "--role", "maintainer", "--maintainer", "Nobody",
          "--password-stdin"), PASSWORD + "\n", "unknown maintainer 'Nobody'"),
        (("user", "remove", "ghost"), None, "unknown account 'ghost'"),
        (("token", "create", "--user", "ghost", "--name", "t"), None, "unknown account"),
        (("token", "revoke", "--user", "ghost", "--name", "t"), None, "unknown account"),
    ]  # fmt: skip
    for args, stdin, expected in cases:
        code, out, err = run(*args, input=stdin)
        assert code == 2 and err.startswith("error: ") and expected in err, (args, err)
    assert run("user", "list")[1].strip() == "No account."


def test_demo_creates_one_account_per_role(engine, secret_key):
    """The demo registers one account per role, each able to sign in with the password it
    prints; the municipality and maintainer accounts see the first site's cameras."""
    from vp_monitor.accounts.principal import ROLES
    from vp_monitor.demo import DEFAULT_FLEET, create_demo_accounts, register_fleet
    from vp_monitor.registry.secrets import SecretBox
    from vp_monitor.registry.service import Registry
    from vp_monitor.sim.fleet import load_fleet

    fleet = load_fleet(DEFAULT_FLEET)
    with transaction(session_factory(engine)) as session:
        registry = Registry(session, SecretBox(secret_key.encode()), "demo")
        register_fleet(registry, fleet, "http://127.0.0.1:9/hook")
        logins = create_demo_accounts(registry, fleet)
    assert [role for role, _, _ in logins] == list(ROLES)
    first_site = fleet.cameras[0].site
    for role, name, password in logins:
        with transaction(session_factory(engine)) as session:
            _, _, principal = service.login(session, name, password, "127.0.0.1")
        assert principal.role == role
        if role == "municipality":
            assert principal.municipalities == {first_site.municipality}
        if role == "maintainer":
            assert principal.maintainer == "Maintenance Démo"
