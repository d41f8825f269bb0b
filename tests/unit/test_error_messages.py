"""Error and warning lines in the interface language: French by default, English with
VP_LANGUAGE=en (as `language = "en"`), one representative error of each family."""

from __future__ import annotations

import json
import re

import pytest

from vp_monitor.registry.service import RegistryError

# Words of the English messages: none may remain in a French error line (field and column
# names such as expected_codec are not words here: `\b` does not split at "_"; commands and
# options are removed first).
ENGLISH_WORDS = re.compile(
    r"\b(error|warning|the|unknown|already|exists|give|cannot|should|required|not|line|"
    r"column|expected|invalid|database|key|file|password|users|at most|input)\b"
)


@pytest.fixture
def cli(town_cli, monkeypatch):
    """`vp-monitor` on a database with one municipality and one site, in the default language."""
    monkeypatch.delenv("VP_LANGUAGE", raising=False)
    return town_cli


ADD = ["camera", "add", "CAM-P", "--site", "Mairie", "--municipality", "92012", "--no-probe"]
ROW = {"code": "R-1", "site": "Mairie", "municipality": "92012", "rtsp_main": "rtsp://h/m"}


def _import(tmp_path, **row):
    path = tmp_path / "rows.json"
    fields = {name: value for name, value in {**ROW, **row}.items() if value is not None}
    path.write_text(json.dumps([fields]), encoding="utf-8")
    return ["camera", "import", str(path)]


def _config(tmp_path, text):
    path = tmp_path / "vp.toml"
    path.write_text(text, encoding="utf-8")
    return ["--config", str(path), "config", "check"]


# (family, how to make the error: (tmp_path) -> (args, stdin, environment, use --database-url),
#  the French text, the English text)
CASES = [
    ("registry", lambda t: (["camera", "show", "NOPE"], None, {}, True),
     "erreur : caméra inconnue 'NOPE'", "error: unknown camera 'NOPE'"),
    ("registry", lambda t: (["municipality", "add", "--insee", "92012"], None, {}, True),
     "erreur : la commune 92012 existe déjà", "error: municipality 92012 already exists"),
    ("validation", lambda t: (["contact", "add", "C" * 121, "--channel", "email", "--address",
                               "a@b.fr"], None, {}, True),
     "' : au plus 120 caractères sont admis", "': String should have at most 120 characters"),
    ("validation", lambda t: (["contact", "add", "CSU", "--channel", "mqtt", "--address",
                               "a/#"], None, {}, True),
     "erreur : entrée : address = 'a/#' : un préfixe de sujet MQTT ne peut pas contenir",
     "error: input: address = 'a/#': an MQTT topic prefix cannot hold"),
    ("validation", lambda t: ([*ADD, "--onvif", "127.9.9.2:99999"], None, {}, True),
     "erreur : entrée : onvif_host = '127.9.9.2:99999' : port ONVIF '99999' hors de la plage",
     "error: input: onvif_host = '127.9.9.2:99999': ONVIF port '99999' out of range"),
    ("import row", lambda t: (_import(t, onvif_port="abc"), None, {}, True),
     "ligne 1, colonne onvif_port : un nombre entier est attendu",
     "line 1, column onvif_port: Input should be a valid integer"),
    ("import row", lambda t: (_import(t, site=None), None, {}, True),
     "ligne 1, colonne site : champ obligatoire", "line 1, column site: Field required"),
    ("import row", lambda t: (_import(t, municipality="92004"), None, {}, True),
     "ligne 1, colonne municipality : commune inconnue '92004'",
     "line 1, column municipality: unknown municipality '92004'"),
    ("database", lambda t: (["--database-url", f"sqlite:///{t}/nowhere/x.db", "status"], None,
                            {}, False),
     "erreur : aucune base de données à ", "error: no database at "),
    ("database", lambda t: (["--database-url", "mysql://u:pw@h/vp", "status"], None, {}, False),
     "pilote de base de données non pris en charge 'mysql'",
     "unsupported database driver 'mysql'"),
    ("config", lambda t: (_config(t, 'timezone = "Mars/Olympus"\n'), None, {}, False),
     "vp.toml : timezone = 'Mars/Olympus' : fuseau horaire inconnu 'Mars/Olympus'",
     "vp.toml: timezone = 'Mars/Olympus': unknown time zone 'Mars/Olympus'"),
    ("config", lambda t: (_config(t, "colour = 1\n"), None, {}, False),
     "vp.toml : clé inconnue 'colour'", "vp.toml: unknown key 'colour'"),
    ("config", lambda t: (_config(t, "database_url = 5\n"), None, {}, False),
     "vp.toml : database_url = 5 : un texte est attendu",
     "vp.toml: database_url = 5: Input should be a valid string"),
    ("key", lambda t: ([*ADD, "--rtsp", "rtsp://127.9.9.3/m", "--user", "u", "--password-stdin"],
                       "pw\n", {"VP_SECRET_KEY": "not-a-key"}, True),
     "erreur : VP_SECRET_KEY : clé invalide", "error: VP_SECRET_KEY: not a valid key"),
    ("warning", lambda t: ([*ADD, "--rtsp", "rtsp://u:pw@127.9.9.4/m"], None, {}, True),
     "attention : le mot de passe de --rtsp est visible des autres utilisateurs",
     "warning: the password in --rtsp is visible to other users"),
]  # fmt: skip


@pytest.mark.parametrize(("family", "make", "french", "english"), CASES)
def test_errors_in_french_by_default_and_in_english(
    cli, tmp_path, monkeypatch, family, make, french, english
):
    """Each family's error line is in French by default, in English with VP_LANGUAGE=en; the
    French line holds no English word (field names and values apart)."""
    args, stdin, environment, database = make(tmp_path)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    code, _, err = cli(*args, input=stdin, database=database)
    assert french in err, err
    if family != "warning":
        assert code == 2, err
    line = next(line for line in err.splitlines() if french in line)
    words = re.sub(r"`[^`]*`|--[\w-]+|VP_SECRET_KEY", "", line)  # commands, options, names
    assert not ENGLISH_WORDS.search(words), line
    monkeypatch.setenv("VP_LANGUAGE", "en")
    code, _, err = cli(*args, input=stdin, database=database)
    assert english in err, err
    assert french not in err


def test_str_of_an_error_is_the_english_text():
    """Logs and code reading `str(error)` get the English text; the CLI renders the key."""
    error = RegistryError("camera.unknown", code="X-1")
    assert str(error) == "unknown camera 'X-1'"
    assert error.message.key == "camera.unknown"
