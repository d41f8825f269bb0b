"""Technician CLI: registry commands, import/export, and bad input with exit code 2."""

import csv
import json

import pytest

PASSWORD = "Sup3r-S3cret!"


@pytest.fixture
def cli(run_cli):
    """`vp-monitor` on a database holding Boulogne-Billancourt (site "Mairie", uplink UP-1)
    and Versailles."""
    assert (
        run_cli("municipality", "add", "--insee", "92012", "--name", "Boulogne-Billancourt")[0] == 0
    )
    assert run_cli("municipality", "add", "--insee", "78646", "--name", "Versailles")[0] == 0
    assert run_cli("site", "add", "Mairie", "--municipality", "92012", "--uplink", "UP-1")[0] == 0
    return run_cli


def write_csv(path, rows, encoding="utf-8", delimiter=","):
    columns = list(dict.fromkeys(key for row in rows for key in row))
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.DictWriter(handle, columns, delimiter=delimiter)
        writer.writeheader()
        writer.writerows(rows)
    return path


def camera_row(code, **fields):
    row = {
        "code": code, "name": f"Caméra {code}", "site": "Mairie", "municipality": "92012",
        "rtsp_main": f"rtsp://127.9.1.{len(code)}/{code}/main", "username": "admin",
        "password": PASSWORD,
    }  # fmt: skip
    return {**row, **fields}


def test_add_list_show_camera(cli):
    """A camera added with --password-stdin is listed and shown, password masked."""
    code, out, err = cli(
        "camera", "add", "BB-001", "--site", "Mairie", "--municipality", "92012",
        "--onvif", "127.9.9.5:8080", "--no-probe", "--user", "admin", "--password-stdin",
        input=PASSWORD + "\n",
    )  # fmt: skip
    assert code == 0, err
    code, out, _ = cli("camera", "show", "BB-001", "--json")
    shown = json.loads(out)
    assert shown["onvif_host"] == "127.9.9.5" and shown["onvif_port"] == 8080
    assert shown["password"] == "********"
    code, out, _ = cli("camera", "list", "--json")
    assert [c["code"] for c in json.loads(out)] == ["BB-001"]
    code, out, _ = cli("camera", "list")
    assert "BB-001" in out and PASSWORD not in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["municipality", "add", "--insee", "9201", "--name", "X"], "INSEE"),
        (["municipality", "add", "--insee", "92012", "--name", "X"], "existe déjà"),
        (["site", "add", "Gare", "--municipality", "99999"], "commune inconnue"),
        (["site", "add", "Gare", "--municipality", "92012", "--lat", "95"], "latitude"),
        (["camera", "add", "C1", "--site", "Mairie", "--municipality", "78000",
          "--rtsp", "rtsp://h/x"], "commune inconnue"),
        (["camera", "add", "C1", "--site", "Mairie", "--municipality", "92012",
          "--rtsp", "http://h/x"], "rtsp://"),
        (["camera", "add", "C1", "--site", "Mairie", "--municipality", "92012",
          "--onvif", "h:99999"], "port"),
        (["camera", "add", "C1", "--site", "Mairie", "--municipality", "92012"], "--onvif"),
        (["camera", "show", "NOPE"], "caméra inconnue"),
    ],
)  # fmt: skip
def test_bad_input_exit_code_2(cli, args, message):
    """Bad input is refused with exit code 2 and a message naming what was wrong."""
    code, out, err = cli(*args)
    assert code == 2
    assert message in err


def test_duplicate_camera_writes_nothing(cli):
    """A duplicate asset code is refused and the first camera is left as it was."""
    args = ["camera", "add", "BB-1", "--site", "Mairie", "--municipality", "92012", "--no-probe",
            "--rtsp"]  # fmt: skip
    assert cli(*args, "rtsp://127.9.9.1/a")[0] == 0
    code, _, err = cli(*args, "rtsp://127.9.9.2/b")
    assert code == 2 and "code d'équipement en double" in err
    assert json.loads(cli("camera", "show", "BB-1", "--json")[1])["rtsp_main"].endswith("/a")


def test_import_export_roundtrip_is_idempotent(cli, tmp_path):
    """Importing, exporting and re-importing changes nothing; exports never hold the password."""
    source = write_csv(tmp_path / "in.csv", [camera_row(f"BB-{i:03d}") for i in range(1, 6)])
    code, out, err = cli("camera", "import", str(source), "--json")
    assert code == 0, err
    assert json.loads(out)["create"] == 5
    code, out, _ = cli("camera", "import", str(source), "--json")
    assert json.loads(out) | {"file": None} == json.loads(out) | {
        "file": None,
        "create": 0,
        "update": 0,
        "unchanged": 5,
    }
    exported = tmp_path / "out.csv"
    assert cli("camera", "export", "-o", str(exported))[0] == 0
    text = exported.read_text(encoding="utf-8")
    assert PASSWORD not in text and "********" in text and "Caméra BB-001" in text
    code, out, _ = cli("camera", "import", str(exported), "--json")
    assert json.loads(out)["unchanged"] == 5 and json.loads(out)["update"] == 0
    code, out, _ = cli("camera", "export", "--json")
    assert PASSWORD not in out and len(json.loads(out)) == 5


def test_import_reports_every_bad_row_and_writes_nothing(cli, tmp_path):
    """Every bad row is reported with line, column and reason, and nothing is written."""
    rows = [
        camera_row("OK-1"),
        camera_row("BAD-1", municipality="75056"),
        camera_row("BAD-2", rtsp_main="http://x/y"),
        camera_row("OK-1"),
        camera_row("BAD-3", onvif_port="0"),
        camera_row("BAD-4", municipality="9A012"),
    ]
    source = write_csv(tmp_path / "bad.csv", rows)
    code, out, err = cli("camera", "import", str(source))
    assert code == 2
    assert "ligne 3, colonne municipality : commune inconnue '75056'" in err
    assert "ligne 4, colonne rtsp_main" in err
    assert "ligne 5, colonne code : code d'équipement en double 'OK-1' (ligne 2)" in err
    assert "ligne 6, colonne onvif_port" in err
    assert "ligne 7, colonne municipality" in err
    assert "rien n'a été écrit" in out
    assert json.loads(cli("camera", "list", "--json")[1]) == []


def test_import_skip_invalid_and_dry_run(cli, tmp_path):
    """--dry-run writes nothing; --skip-invalid writes the good rows only."""
    source = write_csv(
        tmp_path / "mixed.csv", [camera_row("OK-1"), camera_row("BAD-1", kind="periscope")]
    )
    code, out, _ = cli("camera", "import", str(source), "--dry-run", "--skip-invalid", "--json")
    assert json.loads(out)["create"] == 1 and json.loads(out)["written"] is False
    assert json.loads(cli("camera", "list", "--json")[1]) == []
    code, out, _ = cli("camera", "import", str(source), "--skip-invalid", "--json")
    assert code == 2 and json.loads(out)["written"] is True
    assert [c["code"] for c in json.loads(cli("camera", "list", "--json")[1])] == ["OK-1"]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252"])
def test_import_french_spreadsheet_encodings(cli, tmp_path, encoding):
    """UTF-8 with or without BOM and Windows-1252 with ';' all import accents intact."""
    source = write_csv(
        tmp_path / "fr.csv", [camera_row("BB-1", name="Entrée rue de l'Église")], encoding, ";"
    )
    code, _, err = cli("camera", "import", str(source))
    assert code == 0, err
    assert (
        json.loads(cli("camera", "show", "BB-1", "--json")[1])["name"] == "Entrée rue de l'Église"
    )


def test_import_unreadable_files(cli, tmp_path):
    """Missing files, binary files and unknown columns are refused with a clear message."""
    assert "fichier illisible" in cli("camera", "import", str(tmp_path / "nope.csv"))[2]
    binary = tmp_path / "bin.csv"
    binary.write_bytes(b"code,site\n\x81\x8d\x8f\x90\x9d,x\n")
    code, _, err = cli("camera", "import", str(binary))
    assert code == 2 and "encodage" in err
    unknown = tmp_path / "unknown.csv"
    unknown.write_text("code,site,municipality,colour\nA,Mairie,92012,red\n")
    code, _, err = cli("camera", "import", str(unknown))
    assert code == 2 and "colonne(s) inconnue(s) colour" in err


def test_import_creates_missing_sites_with_uplink(cli, tmp_path):
    """A row naming a new site creates it in the row's municipality, with its uplink."""
    row = camera_row("VE-1", site="Château", municipality="78646", uplink="UP-VE")
    code, _, err = cli("camera", "import", str(write_csv(tmp_path / "s.csv", [row])))
    assert code == 0, err
    site = json.loads(cli("site", "show", "Château", "--municipality", "78646", "--json")[1])
    assert site["uplink"] == "UP-VE"


def test_json_import(cli, tmp_path):
    """A JSON list of cameras imports like a CSV, with item numbers in errors."""
    source = tmp_path / "in.json"
    source.write_text(json.dumps([camera_row("J-1"), camera_row("J-2", onvif_port=0)]))
    code, _, err = cli("camera", "import", str(source))
    assert code == 2 and "ligne 2, colonne onvif_port" in err


def test_update_decommission_history(cli):
    """Updates and decommissioning are recorded in the camera's history, password masked."""
    args = ["camera", "add", "BB-1", "--site", "Mairie", "--municipality", "92012", "--no-probe"]
    assert cli(*args, "--rtsp", "rtsp://127.9.9.1/a")[0] == 0
    assert cli("camera", "update", "BB-1", "--password-stdin", input="n3w\n")[0] == 0
    assert cli("camera", "decommission", "BB-1", "--note", "retirée")[0] == 0
    code, out, _ = cli("camera", "history", "BB-1", "--json")
    history = json.loads(out)
    assert [h["action"] for h in history] == ["create", "update", "update"]
    assert "n3w" not in out and "decommissioned" in out


def test_contacts_scoped_and_secret_masked(cli, secret_key, database_url):
    """Contacts belong to a municipality, a maintainer or the supervision centre; secrets hidden."""
    assert cli("contact", "add", "Mairie BB", "--channel", "email", "--address", "pm@bb.fr",
               "--municipality", "92012", "--quiet", "22:00-07:00")[0] == 0  # fmt: skip
    hook = ["--channel", "webhook", "--address", "https://csu.example/hook", "--secret-stdin"]
    code, _, err = cli("contact", "add", "CSU", *hook, input="hmac-key\n")
    assert code == 0, err
    code, out, _ = cli("contact", "list", "--json")
    contacts = json.loads(out)
    assert [c["owner"] for c in contacts] == ["municipality 92012", "supervision centre"]
    assert contacts[0]["quiet_hours"] == "22:00-07:00"
    assert contacts[1]["secret"] == "********" and "hmac-key" not in out
    from vp_monitor.db import make_engine, session_factory
    from vp_monitor.registry.models import Contact
    from vp_monitor.registry.secrets import SecretBox

    with session_factory(make_engine(database_url))() as session:
        stored = session.get(Contact, contacts[1]["id"]).secret_encrypted
    assert SecretBox(secret_key.encode()).decrypt(stored) == "hmac-key"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--channel", "email", "--address", "not-an-address"], "e-mail"),
        (["--channel", "webhook", "--address", "ftp://x/y"], "http"),
        (["--channel", "mqtt", "--address", "a/#"], "jokers"),
        (["--channel", "email", "--address", "a@b.fr", "--quiet", "22:00"], "HH:MM"),
        (["--channel", "email", "--address", "a@b.fr", "--municipality", "99999"], "inconnue"),
    ],
)
def test_bad_contacts_refused(cli, args, message):
    """A malformed contact is refused with exit code 2, naming what is wrong."""
    code, _, err = cli("contact", "add", "X", *args)
    assert code == 2 and message in err


def test_maintenance_windows(cli):
    """Maintenance windows are planned on a camera, site or municipality, and validated."""
    args = ["camera", "add", "BB-1", "--site", "Mairie", "--municipality", "92012", "--no-probe"]
    assert cli(*args, "--rtsp", "rtsp://127.9.9.1/a")[0] == 0
    window = ["--start", "2026-11-24T08:00:00+01:00", "--end", "2026-11-24T12:00:00+01:00"]
    assert cli("maintenance", "add", "--camera", "BB-1", *window, "--reason", "nettoyage")[0] == 0
    assert cli("maintenance", "add", "--site", "Mairie", "--municipality", "92012", *window)[0] == 0
    assert cli("maintenance", "add", "--municipality", "78646", *window)[0] == 0
    code, out, _ = cli("maintenance", "list", "--json")
    assert [w["scope"] for w in json.loads(out)] == ["camera", "site", "municipality"]
    reversed_window = ["--start", window[3], "--end", window[1]]
    code, _, err = cli("maintenance", "add", "--camera", "BB-1", *reversed_window)
    assert code == 2 and "finir après son début" in err
    code, _, err = cli("maintenance", "add", "--camera", "BB-1", "--start", "2026-11-24T08:00",
                       "--end", "2026-11-24T09:00")  # fmt: skip
    assert code == 2 and "timezone" in err


def stored_password(database_url, secret_key, code):
    """The camera's password as stored, decrypted with the test key."""
    from sqlalchemy import select

    from vp_monitor.db import make_engine, session_factory
    from vp_monitor.registry.models import Camera
    from vp_monitor.registry.secrets import SecretBox

    with session_factory(make_engine(database_url))() as session:
        token = session.scalar(select(Camera.password_encrypted).where(Camera.code == code))
    return SecretBox(secret_key.encode()).decrypt(token)


@pytest.mark.parametrize("option", ["--rtsp", "--rtsp-sub"])
def test_update_moves_url_credentials_into_the_fields(cli, database_url, secret_key, option):
    """`camera update --rtsp URL-with-credentials` replaces the stored user and password and
    stores the URL without them, as `add` does (it used to say `unchanged`)."""
    assert cli("camera", "add", "BB-1", "--site", "Mairie", "--municipality", "92012",
               "--no-probe", "--rtsp", "rtsp://127.9.9.1/main", "--user", "admin",
               "--password-stdin", input="old-pass\n")[0] == 0  # fmt: skip
    code, out, err = cli("camera", "update", "BB-1", option, "rtsp://op2:pw%40x@127.9.9.1:8554/s")
    assert code == 0, err
    assert "modifiée" in out and "pw@x" not in out + err
    shown = json.loads(cli("camera", "show", "BB-1", "--json")[1])
    field = "rtsp_main" if option == "--rtsp" else "rtsp_sub"
    assert shown[field] == "rtsp://127.9.9.1:8554/s" and shown["username"] == "op2"
    assert stored_password(database_url, secret_key, "BB-1") == "pw@x"
    history = cli("camera", "history", "BB-1", "--json")[1]
    assert "pw@x" not in history


def test_import_update_moves_url_credentials(cli, tmp_path, database_url, secret_key):
    """A re-import whose URL carries new credentials updates the user and the password."""
    assert cli("camera", "import", str(write_csv(tmp_path / "a.csv", [camera_row("BB-1")])))[0] == 0
    row = camera_row("BB-1", rtsp_main="rtsp://op3:pw3@127.9.1.4/BB-1/main")
    del row["username"], row["password"]
    code, out, err = cli("camera", "import", str(write_csv(tmp_path / "b.csv", [row])), "--json")
    assert code == 0, err
    assert json.loads(out)["update"] == 1 and "pw3" not in out
    shown = json.loads(cli("camera", "show", "BB-1", "--json")[1])
    assert shown["username"] == "op3" and shown["rtsp_main"] == "rtsp://127.9.1.4/BB-1/main"
    assert stored_password(database_url, secret_key, "BB-1") == "pw3"


def test_import_messages_say_what_happened(cli, tmp_path):
    """A dry run with bad rows says nothing would be written; a re-import with nothing to do
    says so; a check of a row names its line and column (never a `column row`)."""
    bad = write_csv(
        tmp_path / "bad.csv", [camera_row("OK-1"), camera_row("BAD-1", expected_codec="vp9")]
    )
    code, out, err = cli("camera", "import", str(bad), "--dry-run")
    assert code == 2
    assert "modifications à écrire" not in out and "rien ne serait écrit" in out
    assert "ligne 3, colonne expected_codec : valeurs admises" in err and "colonne row" not in err
    good = write_csv(tmp_path / "good.csv", [camera_row("OK-1")])
    assert "modifications à écrire" in cli("camera", "import", str(good), "--dry-run")[1]
    assert "modifications écrites" in cli("camera", "import", str(good))[1]
    code, out, _ = cli("camera", "import", str(good))
    assert code == 0 and "rien à modifier" in out and "écrit" not in out
    code, out, _ = cli("camera", "import", str(good), "--dry-run")
    assert code == 0 and "rien à modifier" in out


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_import_excel_unicode_text(cli, tmp_path, encoding):
    """Excel's "Unicode text" (UTF-16, tab separated; with a BOM, or without) is read."""
    source = write_csv(tmp_path / "unicode.txt", [camera_row("BB-1", name="Entrée Église")],
                       encoding, "\t")  # fmt: skip
    code, _, err = cli("camera", "import", str(source))
    assert code == 0, err
    assert json.loads(cli("camera", "show", "BB-1", "--json")[1])["name"] == "Entrée Église"


def test_export_excel_reimports(cli, tmp_path):
    """`export --excel` writes UTF-8 with a BOM and ';' (French Excel); import reads it back."""
    rows = [camera_row("BB-1", name="Entrée; côté Église", tags="a;b"), camera_row("BB-22")]
    assert cli("camera", "import", str(write_csv(tmp_path / "in.csv", rows)))[0] == 0
    exported = tmp_path / "excel.csv"
    assert cli("camera", "export", "--excel", "-o", str(exported))[0] == 0
    raw = exported.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbfcode;name;site;") and "Entrée".encode() in raw
    code, out, err = cli("camera", "import", str(exported), "--json")
    assert code == 0, err
    assert (json.loads(out)["unchanged"], json.loads(out)["update"]) == (2, 0)
    code, out, _ = cli("camera", "export", "--excel")
    assert code == 0 and out.startswith("\ufeffcode;name")
    assert cli("camera", "export", "--excel", "--json")[0] == 2


def test_asset_codes_are_unique_whatever_their_case(cli, tmp_path):
    """`cam-mairie-01` is refused when `CAM-MAIRIE-01` exists, on add and on import."""
    add = ["camera", "add", "--site", "Mairie", "--municipality", "92012", "--no-probe"]
    assert cli(*add[:2], "CAM-MAIRIE-01", *add[2:], "--rtsp", "rtsp://127.9.9.1/a")[0] == 0
    code, _, err = cli(*add[:2], "cam-mairie-01", *add[2:], "--rtsp", "rtsp://127.9.9.2/b")
    assert code == 2 and "existe déjà (sous 'CAM-MAIRIE-01')" in err
    rows = [camera_row("OK-1"), camera_row("ok-1")]
    code, _, err = cli("camera", "import", str(write_csv(tmp_path / "case.csv", rows)))
    assert code == 2
    assert "ligne 3, colonne code : code d'équipement en double 'ok-1' (ligne 2)" in err
    # A row naming the camera in another case updates it, and never creates a twin.
    row = camera_row("cam-mairie-01", rtsp_main="rtsp://127.9.9.1/a", name="Parvis")
    code, out, err = cli("camera", "import", str(write_csv(tmp_path / "u.csv", [row])), "--json")
    assert code == 0, err
    assert (json.loads(out)["create"], json.loads(out)["update"]) == (0, 1)
    codes = [c["code"] for c in json.loads(cli("camera", "list", "--json")[1])]
    assert codes == ["CAM-MAIRIE-01"]


def test_the_same_device_is_registered_once(cli, tmp_path):
    """A second camera with a registered stream URL, ONVIF address or serial number is refused
    naming the existing camera, unless --allow-duplicate-device (a shared encoder)."""
    add = ["--site", "Mairie", "--municipality", "92012", "--no-probe"]
    assert cli("camera", "add", "A-1", *add, "--rtsp", "rtsp://127.9.9.1/main")[0] == 0
    same_stream = [
        "--rtsp",
        "rtsp://u:p@127.9.9.1:554/other",
        "--rtsp-sub",
        "RTSP://127.9.9.1/main",
    ]
    code, _, err = cli("camera", "add", "A-2", *add, *same_stream)
    assert code == 2 and "appartient déjà à la caméra 'A-1'" in err and "l'URL de flux" in err
    assert cli("camera", "add", "A-2", *add, *same_stream, "--allow-duplicate-device")[0] == 0
    assert cli("camera", "add", "O-1", *add, "--onvif", "127.9.9.9")[0] == 0
    code, _, err = cli("camera", "add", "O-2", *add, "--onvif", "127.9.9.9:80")
    assert code == 2 and "l'adresse ONVIF 127.9.9.9:80 appartient déjà à la caméra 'O-1'" in err
    assert cli("camera", "add", "O-2", *add, "--onvif", "127.9.9.9:8080")[0] == 0
    code, _, err = cli("camera", "update", "O-2", "--onvif", "127.9.9.9:80")
    assert code == 2 and "'O-1'" in err
    update = ["camera", "update", "O-2", "--onvif", "127.9.9.9:80", "--allow-duplicate-device"]
    assert cli(*update)[0] == 0
    assert json.loads(cli("camera", "show", "O-2", "--json")[1])["onvif_port"] == 80
    codes = [c["code"] for c in json.loads(cli("camera", "list", "--json")[1])]
    assert codes == ["A-1", "A-2", "O-1", "O-2"]
    rows = [camera_row("S-1", serial="SN-42"), camera_row("S-2", serial="sn-42"),
            camera_row("S-3", rtsp_main="rtsp://127.9.9.1/main")]  # fmt: skip
    source = write_csv(tmp_path / "devices.csv", rows)
    code, _, err = cli("camera", "import", str(source))
    assert code == 2
    assert "ligne 3 : le numéro de série 'sn-42' appartient déjà à la caméra 'S-1'" in err
    assert "ligne 4 : l'URL de flux rtsp://127.9.9.1/main appartient déjà à la caméra 'A-1'" in err
    code, out, err = cli("camera", "import", str(source), "--allow-duplicate-device", "--json")
    assert code == 0, err
    assert json.loads(out)["create"] == 3


def test_insee_codes_are_checked_against_the_official_list(cli):
    """A code that is not a current commune needs --force; the name comes from the list."""
    code, _, err = cli("municipality", "add", "--insee", "99999", "--name", "Nulle-part")
    assert code == 2 and "99999 n'est pas une commune actuelle" in err and "--force" in err
    code, _, err = cli("municipality", "add", "--insee", "92001")  # Antony was never 92001
    assert code == 2 and "pas une commune actuelle" in err
    assert cli("municipality", "add", "--insee", "99999", "--name", "Essai", "--force")[0] == 0
    code, _, err = cli("municipality", "add", "--insee", "2A004", "--force")
    assert code == 2 and "--name" in err
    code, out, err = cli("municipality", "add", "--insee", "92050")
    assert code == 0, err
    assert "commune 92050 Nanterre ajoutée" in out
    shown = json.loads(cli("municipality", "show", "92050", "--json")[1])
    assert (shown["name"], shown["departement"]) == ("Nanterre", "92")
    insee = [m["insee"] for m in json.loads(cli("municipality", "list", "--json")[1])]
    assert insee == ["78646", "92012", "92050", "99999"]


def test_a_shared_encoder_accepted_once_stays_accepted(cli, tmp_path):
    """Cameras sharing an encoder (accepted with --allow-duplicate-device) can still be updated,
    decommissioned and re-imported without the option; a new shared key still needs it."""
    rows = [camera_row("E-1", rtsp_main="rtsp://127.9.9.7/ch1", serial="ENC-1"),
            camera_row("E-2", rtsp_main="rtsp://127.9.9.7/ch2", serial="ENC-1")]  # fmt: skip
    source = write_csv(tmp_path / "encoder.csv", rows)
    assert cli("camera", "import", str(source))[0] == 2
    assert cli("camera", "import", str(source), "--allow-duplicate-device")[0] == 0
    code, out, err = cli("camera", "import", str(source))
    assert code == 0 and "rien à modifier" in out, err
    assert cli("camera", "update", "E-2", "--name", "Canal 2")[0] == 0
    code, _, err = cli("camera", "update", "E-2", "--rtsp-sub", "rtsp://127.9.9.7/ch1")
    assert code == 2 and "'E-1'" in err
    assert cli("camera", "decommission", "E-1")[0] == 0


def test_interface_language_follows_the_settings(cli, tmp_path, monkeypatch):
    """Confirmations, table headers, values and the import summary are French by default
    (plurals agreeing), English with language = "en"."""
    code, out, _ = cli("camera", "add", "BB-9", "--site", "Mairie", "--municipality", "92012",
                       "--rtsp", "rtsp://127.9.9.9/main", "--name", "Parvis",
                       "--no-probe")  # fmt: skip
    assert code == 0 and out.strip() == "caméra BB-9 ajoutée"
    _, out, _ = cli("camera", "list")
    assert "nom" in out and "cycle de vie" in out and "fixe" in out and "lifecycle" not in out
    cli("contact", "add", "CSU", "--channel", "email", "--address", "csu@example.org")
    assert "centre de supervision" in cli("contact", "list")[1]
    source = write_csv(tmp_path / "one-bad.csv", [camera_row("OK-1"),
                                                  camera_row("BAD-1", onvif_port="0")])  # fmt: skip
    _, out, _ = cli("camera", "import", str(source))
    assert "1 à créer" in out and "1 ligne invalide" in out and "0 nouveau site" in out
    monkeypatch.setenv("VP_LANGUAGE", "en")
    _, out, _ = cli("camera", "import", str(source))
    assert "1 to create" in out and "1 invalid row\n" in out
    assert "0 new sites" in out
    _, out, _ = cli("camera", "update", "BB-9", "--name", "Cour")
    assert out.strip() == "camera BB-9 updated"
    assert "lifecycle" in cli("camera", "list")[1]
    assert "supervision centre" in cli("contact", "list")[1]
