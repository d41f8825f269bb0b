"""Secrets never shown: every secret-bearing input through every failing validation path (CLI,
CSV/JSON import, configuration file and environment), contact addresses, the redaction module."""

from __future__ import annotations

import json

import pytest

from vp_monitor.redaction import MASK, redact, redact_url

# These tests match the English messages.
pytestmark = pytest.mark.usefixtures("english")

SECRET = "Sup3r-S3cret!"  # the same secret in every case: it must never come out


@pytest.fixture
def cli(town_cli, database_url):
    """`vp-monitor` on a database with one site and one camera; (code, out, err)."""
    run = town_cli
    assert run("camera", "add", "CAM-1", "--site", "Mairie", "--municipality", "92012",
               "--rtsp", "rtsp://127.9.9.1/main", "--no-probe")[0] == 0  # fmt: skip
    run.database_url = database_url
    return run


ADD = ["camera", "add", "CAM-P", "--site", "Mairie", "--municipality", "92012", "--no-probe"]
UPDATE = ["camera", "update", "CAM-1"]
STDIN = ["--password-stdin"]
URL = f"rtsp://op:{SECRET}@127.9.9.2"
HOOK = f"https://hooks.example/vp?token={SECRET}"
CONTACT = ["contact", "add", "CSU", "--secret-stdin"]

# (command line, what standard input carries, the field the error must name)
CLI_CASES = [
    ([*ADD, "--onvif", "127.9.9.2:99999", "--user", "admin", *STDIN], SECRET, "onvif_host"),
    ([*ADD, "--onvif", "127.9.9.2", "--no-probe", "--user", "a", "--installed-on", "soon", *STDIN],
     SECRET, "installed_on"),
    ([*ADD, "--rtsp", f"{URL}:99999/main"], None, "rtsp_main"),
    ([*ADD, "--rtsp", "rtsp://127.9.9.2/main", "--rtsp-sub", f"{URL}:99999/sub"], None, "rtsp_sub"),
    ([*ADD, "--rtsp", f"http://op:{SECRET}@127.9.9.2/main"], None, "rtsp_main"),
    ([*UPDATE, "--onvif", "127.9.9.2:99999", *STDIN], SECRET, "onvif_host"),
    ([*UPDATE, "--rtsp", f"{URL}:99999/main"], None, "rtsp_main"),
    ([*UPDATE, "--installed-on", "soon", *STDIN], SECRET, "installed_on"),
    ([*CONTACT, "--channel", "email", "--address", "not-an-address"], SECRET, "address"),
    ([*CONTACT, "--channel", "webhook", "--address", HOOK.replace("https", "ftp")], SECRET,
     "address"),
    ([*CONTACT, "--channel", "webhook", "--address", HOOK, "--municipality", "92012",
      "--maintainer", "Acme"], SECRET, "municipality, maintainer"),
    ([*CONTACT, "--channel", "webhook", "--address", HOOK, "--municipality", "9201"], SECRET,
     "municipality"),
    ([*CONTACT, "--channel", "webhook", "--address", HOOK, "--level", "12"], SECRET, "level"),
]  # fmt: skip


@pytest.mark.parametrize(("args", "stdin", "field"), CLI_CASES)
def test_cli_validation_errors_name_the_field_never_the_secret(cli, args, stdin, field):
    """Each failing command names the field and exits 2; the secret is nowhere in its output."""
    code, out, err = cli(*args, input=None if stdin is None else stdin + "\n")
    assert code == 2, (out, err)
    assert SECRET not in out + err
    assert f"input: {field}" in err, err
    assert "input:  =" not in err and "{" not in err  # neither nameless nor the whole input


IMPORT_ROWS = [
    # (row fields, the column the problem must name)
    ({"rtsp_main": f"{URL}:99999/main", "password": SECRET}, "rtsp_main"),
    ({"onvif_host": "127.9.9.3:70000", "password": SECRET}, "onvif_host"),
    ({"rtsp_main": "rtsp://127.9.9.3/main", "password": SECRET, "expected_codec": "xvid"},
     "expected_codec"),
    ({"rtsp_main": "rtsp://127.9.9.3/main", "password": SECRET, "onvif_port": "x"}, "onvif_port"),
    ({"rtsp_main": f"{URL}/main", "rtsp_sub": f"{URL}:0/sub"}, "rtsp_sub"),
]  # fmt: skip


@pytest.mark.parametrize("fmt", ["csv", "json"])
@pytest.mark.parametrize(("fields", "column"), IMPORT_ROWS)
def test_import_problems_name_the_column_never_the_secret(cli, tmp_path, fmt, fields, column):
    """A bad import row names its column; no secret in the report, text or JSON."""
    row = {"code": "IMP-1", "site": "Mairie", "municipality": "92012", "username": "op", **fields}
    path = tmp_path / f"cameras.{fmt}"
    if fmt == "json":
        path.write_text(json.dumps([row]), encoding="utf-8")
    else:
        path.write_text(",".join(row) + "\n" + ",".join(row.values()) + "\n", encoding="utf-8")
    for extra in ([], ["--json"]):
        code, out, err = cli("camera", "import", str(path), *extra)
        assert code == 2, (out, err)
        assert SECRET not in out + err
        assert f"column {column}:" in out + err


def test_import_secret_of_a_wrong_type_is_not_shown(cli, tmp_path):
    """A password given as a list (JSON) is refused by name, its value left out."""
    row = {"code": "IMP-1", "site": "Mairie", "municipality": "92012", "password": [SECRET],
           "rtsp_main": "rtsp://127.9.9.3/main"}  # fmt: skip
    path = tmp_path / "cameras.json"
    path.write_text(json.dumps([row]), encoding="utf-8")
    code, out, err = cli("camera", "import", str(path))
    assert code == 2 and SECRET not in out + err and "column password:" in err


CONFIG_CASES = [
    # (configuration file, environment, the key the error must name)
    (f'[channels.email]\npassword = ["{SECRET}"]\n', {}, "channels.email.password"),
    (f"[channels.mqtt]\npassword = {{ value = '{SECRET}' }}\n", {}, "channels.mqtt.password"),
    (f'[channels.email]\npassword = "{SECRET}"\nport = "x"\n', {}, "channels.email.port"),
    (f'[channels.email]\npasswrd = "{SECRET}"\n', {}, "channels.email.passwrd"),
    (f'database_url = ["postgresql+psycopg://vp:{SECRET}@db/vp"]\n', {}, "database_url"),
    ("", {"VP_CHANNELS__MQTT__PASSWORD": SECRET, "VP_CHANNELS__MQTT__PORT": "x"},
     "channels.mqtt.port"),
    ("", {"VP_DATABASE_URL": f"postgresql://vp:{SECRET}@db/vp", "VP_LANGUAGE": "de"},
     "language"),
]  # fmt: skip


@pytest.mark.parametrize(("content", "environ", "key"), CONFIG_CASES)
def test_configuration_errors_name_the_key_never_the_secret(
    cli, tmp_path, monkeypatch, content, environ, key
):
    """`config check` on a bad file or environment names the key; the secret never shows."""
    path = tmp_path / "vp.toml"
    path.write_text(content, encoding="utf-8")
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    code, out, err = cli("--config", str(path), "config", "check", database=False)
    assert code == 2, (out, err)
    assert SECRET not in out + err
    assert key in err, err


def test_shown_value_keeps_the_url_without_its_credentials(cli, tmp_path):
    """Where a value helps, it is shown, with the URL's credentials masked."""
    code, _, err = cli(*ADD, "--rtsp", f"{URL}:99999/main")
    assert code == 2 and f"rtsp://{MASK}@127.9.9.2:99999/main" in err
    path = tmp_path / "vp.toml"
    path.write_text('timezone = "Mars/Olympus"\n', encoding="utf-8")
    code, _, err = cli("--config", str(path), "config", "check", database=False)
    assert code == 2 and "timezone = 'Mars/Olympus'" in err


# -- contact addresses -------------------------------------------------------------------------
def test_contact_list_masks_webhook_credentials_and_query(cli):
    """`contact list` (table and JSON) and the audit trail never show a webhook's token."""
    address = f"https://bot:{SECRET}@hooks.example/vp/hook?token={SECRET}&room=1"
    code, _, err = cli("contact", "add", "CSU", "--channel", "webhook", "--address", address)
    assert code == 0, err
    code, out, _ = cli("contact", "list", "--json")
    assert SECRET not in out
    assert json.loads(out)[0]["address"] == (
        f"https://{MASK}@hooks.example/vp/hook?token={MASK}&room={MASK}"
    )
    code, out, _ = cli("contact", "list")
    assert code == 0 and SECRET not in out
    from vp_monitor.cli_context import Context

    with Context(None, cli.database_url, "t").registry() as registry:
        entries = registry.history("contact", "1")
        assert entries and SECRET not in json.dumps([e.after for e in entries])


def test_contact_list_keeps_e_mail_and_mqtt_addresses(cli):
    """Addresses that carry no secret are shown as they are."""
    cli("contact", "add", "A", "--channel", "email", "--address", "csu@mairie.example")
    cli("contact", "add", "B", "--channel", "mqtt", "--address", "vp/csu")
    code, out, _ = cli("contact", "list", "--json")
    assert [c["address"] for c in json.loads(out)] == ["csu@mairie.example", "vp/csu"]


# -- command-line URLs with a password ---------------------------------------------------------
@pytest.mark.parametrize(
    "args",
    [
        [*ADD, "--rtsp", f"{URL}/main", "--site", "Mairie"],
        [*ADD, "--rtsp", "rtsp://127.9.9.2/main", "--rtsp-sub", f"{URL}/sub"],
        [*UPDATE, "--rtsp", f"{URL}/main"],
    ],
)
def test_password_in_a_command_line_url_is_warned_about(cli, args):
    """`ps` shows arguments to every user: a password in --rtsp/--rtsp-sub gets a warning."""
    code, out, err = cli(*args)
    assert "warning:" in err and "--password-stdin" in err, err
    assert SECRET not in out + err


def test_password_in_database_url_is_warned_about(cli, tmp_path):
    """--database-url with a password points to VP_DATABASE_URL instead."""
    url = f"sqlite:///{tmp_path}/x.db".replace("sqlite:///", f"sqlite://u:{SECRET}@/")
    _code, _out, err = cli("--database-url", url, "config", "check", database=False)
    assert "warning:" in err and "VP_DATABASE_URL" in err and SECRET not in err


def test_no_warning_without_a_password(cli):
    """A URL without a password, or with a user only, gives no warning."""
    _code, _out, err = cli(*ADD, "--rtsp", "rtsp://op@127.9.9.2/main")
    assert "warning" not in err


# -- the redaction module ----------------------------------------------------------------------
def test_redact_ignores_empty_secrets():
    """An empty (or missing) secret masks nothing: the text stays readable."""
    text = "ONVIF auth_failed: credentials refused"
    assert redact(text, ("", None)) == text


def test_redact_masks_urls_parameters_and_known_secrets():
    """URL userinfo and query values, password= parameters and known secrets are masked."""
    text = f"failed rtsp://admin:{SECRET}@h/main?auth={SECRET} pwd={SECRET}; got {SECRET}"
    shown = redact(text, (SECRET,))
    assert SECRET not in shown and "rtsp://" in shown and "h/main" in shown
    assert redact_url(f"https://h/x?token={SECRET}&a=") == f"https://h/x?token={MASK}&a="
    assert redact_url(f"https://u:{SECRET}@h:8443/p") == f"https://{MASK}@h:8443/p"
    assert redact_url("rtsp://h/main") == "rtsp://h/main"
    assert redact_url("sqlite:////var/lib/vp.db") == "sqlite:////var/lib/vp.db"
