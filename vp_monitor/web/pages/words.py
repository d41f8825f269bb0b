"""The pages' words, French and English: what the templates and their scripts show.

States, conditions, severities, metric names and dates come from the project's catalogue
(vp_monitor/texts.py, alerts/labels.py); this table holds only what the pages add.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from vp_monitor.alerts.labels import Language, format_duration
from vp_monitor.conditions import CONDITIONS
from vp_monitor.texts import Texts

# A catalogue: its entries look alike (a key, French, English) as texts.py's do; that shape is
# its form, no logic repeated.
WORDS: dict[str, dict[Language, str]] = {
    "app.name": {"fr": "Supervision vidéoprotection", "en": "Video-protection monitor"},
    "nav.wall": {"fr": "Mur d'état", "en": "Status wall"},
    "nav.incidents": {"fr": "Incidents", "en": "Incidents"},
    "nav.signed_in": {"fr": "Compte connecté", "en": "Signed-in account"},
    "nav.logout": {"fr": "Se déconnecter", "en": "Sign out"},
    "nav.skip": {"fr": "Aller au contenu", "en": "Skip to content"},
    "login.title": {"fr": "Connexion", "en": "Sign in"},
    "login.name": {"fr": "Identifiant", "en": "User name"},
    "login.password": {"fr": "Mot de passe", "en": "Password"},
    "login.submit": {"fr": "Se connecter", "en": "Sign in"},
    "login.failed": {"fr": "Connexion refusée", "en": "Sign-in refused"},
    "login.unreachable": {"fr": "Service injoignable", "en": "Service unreachable"},
    "wall.title": {"fr": "Mur d'état", "en": "Status wall"},
    "wall.counts": {"fr": "Caméras par état", "en": "Cameras by state"},
    "wall.total": {"fr": "surveillées", "en": "watched"},
    "wall.by_place": {"fr": "Par commune et par site", "en": "By municipality and site"},
    "wall.filters": {"fr": "Filtres", "en": "Filters"},
    "wall.any": {"fr": "tous", "en": "any"},
    "wall.text": {"fr": "Recherche (code, nom, site)", "en": "Search (code, name, site)"},
    "wall.apply": {"fr": "Filtrer", "en": "Filter"},
    "wall.reset": {"fr": "Tout afficher", "en": "Show all"},
    "wall.none": {"fr": "Aucune caméra ne correspond.", "en": "No camera matches."},
    "wall.shown": {"fr": "Caméras {first} à {last} sur {total}",
                   "en": "Cameras {first} to {last} of {total}"},
    "wall.previous": {"fr": "Page précédente", "en": "Previous page"},
    "wall.next": {"fr": "Page suivante", "en": "Next page"},
    "wall.kiosk": {"fr": "Mode mur d'écrans", "en": "Wall screen mode"},
    "wall.no_image": {"fr": "pas d'image", "en": "no image"},
    "wall.live_on": {"fr": "en direct", "en": "live"},
    "wall.live_off": {"fr": "direct interrompu, nouvelle tentative…",
                      "en": "live feed lost, retrying…"},
    "wall.critical": {"fr": "Nouvel incident critique : {camera}",
                      "en": "New critical incident: {camera}"},
    "wall.silence": {"fr": "Couper l'alerte", "en": "Silence"},
    "wall.sound_on": {"fr": "Activer le son", "en": "Sound on"},
    "wall.sound_off": {"fr": "Couper le son", "en": "Sound off"},
    "wall.acknowledged": {"fr": "pris en compte par {name}", "en": "acknowledged by {name}"},
    "wall.all_ok": {"fr": "Aucun problème en cours", "en": "No problem right now"},
    "wall.site_count": {"fr": "Site {index} sur {count}", "en": "Site {index} of {count}"},
    "filter.municipality": {"fr": "Commune", "en": "Municipality"},
    "filter.site": {"fr": "Site", "en": "Site"},
    "filter.state": {"fr": "État", "en": "State"},
    "filter.condition": {"fr": "Défaut", "en": "Fault"},
    "filter.status": {"fr": "Statut", "en": "Status"},
    "filter.severity": {"fr": "Gravité", "en": "Severity"},
    "filter.history": {"fr": "Inclure les incidents résolus", "en": "Include resolved incidents"},
    "incidents.title": {"fr": "Incidents", "en": "Incidents"},
    "incidents.none": {"fr": "Aucun incident.", "en": "No incident."},
    "incidents.since": {"fr": "depuis {duration}", "en": "for {duration}"},
    "incidents.site_kind": {"fr": "incident de site", "en": "site incident"},
    "incident.title": {"fr": "Incident {id}", "en": "Incident {id}"},
    "incident.evidence": {"fr": "Image au moment de l'incident", "en": "Frame at the incident"},
    "incident.reference": {"fr": "Image de référence", "en": "Reference image"},
    "incident.notifications": {"fr": "Notifications envoyées", "en": "Notifications sent"},
    "incident.no_notification": {"fr": "Aucune notification.", "en": "No notification."},
    "incident.children": {"fr": "Caméras concernées", "en": "Cameras concerned"},
    "incident.metrics": {"fr": "Ce que la vérification a vu", "en": "What the check saw"},
    "metrics.separator": {"fr": " ; ", "en": "; "},
    "metrics.all": {"fr": "Toutes les mesures de la vérification ({count})",
                    "en": "Every measure of the check ({count})"},
    "incident.act": {"fr": "Traiter l'incident", "en": "Handle the incident"},
    "incident.note": {"fr": "Note", "en": "Note"},
    "incident.acknowledge": {"fr": "Prendre en compte", "en": "Acknowledge"},
    "incident.resolve": {"fr": "Clore", "en": "Resolve"},
    "incident.done": {"fr": "Enregistré.", "en": "Saved."},
    "incident.failed": {"fr": "Refusé : {error}", "en": "Refused: {error}"},
    "camera.title": {"fr": "Caméra {code}", "en": "Camera {code}"},
    "camera.latest": {"fr": "Dernière image", "en": "Latest frame"},
    "camera.reference_day": {"fr": "Référence de jour", "en": "Day reference"},
    "camera.reference_night": {"fr": "Référence de nuit", "en": "Night reference"},
    # Learned by the monitor from healthy checks until a technician approves one.
    "camera.reference_provisional": {"fr": "provisoire", "en": "provisional"},
    "camera.findings": {"fr": "Constats", "en": "Findings"},
    "camera.no_finding": {"fr": "Aucun défaut en cours.", "en": "No fault right now."},
    "camera.timeline": {"fr": "Historique des états", "en": "State timeline"},
    "camera.availability": {"fr": "Disponibilité", "en": "Availability"},
    "camera.period.24h": {"fr": "24 h", "en": "24 h"},
    "camera.period.7d": {"fr": "7 jours", "en": "7 days"},
    "camera.period.30d": {"fr": "30 jours", "en": "30 days"},
    "camera.no_history": {"fr": "Historique indisponible.", "en": "No history available."},
    "camera.incidents": {"fr": "Incidents récents", "en": "Recent incidents"},
    "camera.registry": {"fr": "Fiche", "en": "Registry record"},
    "camera.has_password": {"fr": "mot de passe enregistré", "en": "password stored"},
    "camera.maintenance": {"fr": "Maintenances", "en": "Maintenance windows"},
    "camera.no_maintenance": {"fr": "Aucune maintenance prévue.",
                              "en": "No maintenance planned."},
    "camera.audit": {"fr": "Journal des modifications", "en": "Audit trail"},
    "metric.darker": {"fr": "image {pct} % plus sombre que la référence",
                      "en": "image {pct} % darker than the reference"},
    "metric.brighter": {"fr": "image {pct} % plus claire que la référence",
                        "en": "image {pct} % brighter than the reference"},
    "metric.less_sharp": {"fr": "image {pct} % moins nette que la référence",
                          "en": "image {pct} % less sharp than the reference"},
    "metric.share": {"fr": "{label} : {pct} % de l'image", "en": "{label}: {pct} % of the image"},
    "metric.plain": {"fr": "{label} : {value}", "en": "{label}: {value}"},
    "nav.new_camera": {"fr": "Ajouter une caméra", "en": "Add a camera"},
    "new.title": {"fr": "Ajouter une caméra", "en": "Add a camera"},
    "new.step_test": {"fr": "1. Tester la caméra", "en": "1. Test the camera"},
    "new.step_test_help": {
        "fr": "Son adresse ONVIF et ses identifiants, ou l'URL de son flux RTSP : rien n'est "
              "enregistré avant l'étape 2.",
        "en": "Its ONVIF address and credentials, or its RTSP stream URL: nothing is saved "
              "before step 2.",
    },
    "new.or_rtsp": {"fr": "ou par son flux RTSP", "en": "or by its RTSP stream"},
    "new.test": {"fr": "Tester", "en": "Test"},
    "new.testing": {"fr": "Test en cours…", "en": "Testing…"},
    "new.result": {"fr": "Ce que la caméra a répondu", "en": "What the camera answered"},
    "new.device": {"fr": "Équipement", "en": "Device"},
    "new.profiles": {"fr": "Profils vidéo", "en": "Video profiles"},
    "new.picture": {"fr": "Analyse de l'image", "en": "Picture analysis"},
    "new.frame": {"fr": "Image reçue", "en": "Frame received"},
    "new.no_frame": {"fr": "Aucune image reçue.", "en": "No frame received."},
    "new.step_save": {"fr": "2. Enregistrer la caméra", "en": "2. Save the camera"},
    "new.duplicate": {"fr": "Un autre enregistrement partage cet équipement (encodeur)",
                      "en": "Another record shares this device (an encoder)"},
    "new.save": {"fr": "Enregistrer", "en": "Save"},
    "new.failed": {"fr": "Refusé : {error}", "en": "Refused: {error}"},
    "camera.approve": {"fr": "Approuver une nouvelle référence", "en": "Approve a new reference"},
    "camera.approve_help": {
        "fr": "Une image est prise maintenant et remplace la référence choisie : comparez la "
              "dernière image et la référence ci-dessus.",
        "en": "A frame is captured now and replaces the chosen reference: compare the latest "
              "frame and the reference above.",
    },
    "camera.kind": {"fr": "Référence", "en": "Reference"},
    "camera.kind.day": {"fr": "de jour", "en": "day"},
    "camera.kind.night": {"fr": "de nuit", "en": "night"},
    "camera.approve_button": {"fr": "Approuver", "en": "Approve"},
    "camera.plan": {"fr": "Planifier une maintenance", "en": "Plan a maintenance window"},
    "camera.plan_on": {"fr": "Sur", "en": "On"},
    "camera.plan_on.camera": {"fr": "cette caméra", "en": "this camera"},
    "camera.plan_on.site": {"fr": "tout le site", "en": "the whole site"},
    "camera.plan_on.municipality": {"fr": "toute la commune", "en": "the whole municipality"},
    "camera.plan_button": {"fr": "Planifier", "en": "Plan"},
    # -- technicians' registry forms (pages/forms.py) --
    "nav.import": {"fr": "Importer des caméras", "en": "Import cameras"},
    "camera.edit": {"fr": "Modifier la fiche", "en": "Edit the record"},
    "import.title": {"fr": "Importer des caméras", "en": "Import cameras"},
    "import.format": {"fr": "Format du fichier", "en": "File format"},
    "import.format_help": {
        "fr": "Un fichier CSV (séparateur virgule, point-virgule ou tabulation) dont la "
              "première ligne nomme les colonnes, ou une liste JSON de caméras. Colonnes "
              "obligatoires : {required} ; une nouvelle caméra a aussi un hôte ONVIF ou un flux "
              "RTSP. Une caméra déjà enregistrée (même code) est mise à jour. {limit} ko au plus.",
        "en": "A CSV file (comma, semicolon or tab separated) whose first line names the "
              "columns, or a JSON list of cameras. Required columns: {required}; a new camera "
              "also has an ONVIF host or an RTSP stream. A camera already registered (same "
              "code) is updated. {limit} kB at most.",
    },
    "import.sample": {"fr": "Exemple :", "en": "Example:"},
    "import.all_columns": {"fr": "Toutes les colonnes reconnues", "en": "Every column known"},
    "import.export": {"fr": "Télécharger les caméras actuelles dans ce format",
                      "en": "Download the current cameras in this format"},
    "import.file": {"fr": "Fichier à importer", "en": "File to import"},
    "import.choose": {"fr": "Choisir un fichier CSV ou JSON", "en": "Choose a CSV or JSON file"},
    "import.paste": {"fr": "ou coller son contenu", "en": "or paste its content"},
    "import.check": {"fr": "Vérifier", "en": "Check"},
    "import.import": {"fr": "Importer", "en": "Import"},
    "import.empty": {"fr": "Choisissez un fichier ou collez son contenu.",
                     "en": "Choose a file or paste its content."},
    "import.sending": {"fr": "Envoi en cours…", "en": "Sending…"},
    "import.problems": {"fr": "Lignes refusées", "en": "Rows refused"},
    "import.problems_summary": {
        "fr": "{count} ligne(s) refusée(s) : rien n'a été enregistré. Corrigez-les puis "
              "vérifiez à nouveau.",
        "en": "{count} row(s) refused: nothing was saved. Fix them, then check again.",
    },
    "import.line": {"fr": "Ligne", "en": "Line"},
    "import.column": {"fr": "Colonne", "en": "Column"},
    "import.reason": {"fr": "Problème", "en": "Problem"},
    "import.whole_row": {"fr": "(toute la ligne)", "en": "(the whole row)"},
    "import.checked": {"fr": "Vérification : aucune erreur, rien n'est encore enregistré",
                       "en": "Check: no error, nothing saved yet"},
    "import.done": {"fr": "Import enregistré", "en": "Import saved"},
    "import.summary": {
        "fr": "{create} à créer, {update} à modifier, {unchanged} inchangée(s), "
              "{new_sites} nouveau(x) site(s).",
        "en": "{create} to create, {update} to update, {unchanged} unchanged, "
              "{new_sites} new site(s).",
    },
    "import.summary_written": {
        "fr": "{create} créée(s), {update} modifiée(s), {unchanged} inchangée(s), "
              "{new_sites} nouveau(x) site(s).",
        "en": "{create} created, {update} updated, {unchanged} unchanged, "
              "{new_sites} new site(s).",
    },
    "import.created": {"fr": "Caméras créées", "en": "Cameras created"},
    "import.updated": {"fr": "Caméras modifiées", "en": "Cameras updated"},
    "import.nothing": {"fr": "aucune", "en": "none"},
    "edit.title": {"fr": "Modifier la caméra {code}", "en": "Edit camera {code}"},
    "edit.back": {"fr": "Retour à la caméra {code}", "en": "Back to camera {code}"},
    "edit.registry": {"fr": "Fiche", "en": "Registry record"},
    "edit.help": {
        "fr": "Seuls les champs modifiés sont envoyés ; un champ vidé garde sa valeur. Chaque "
              "modification est inscrite au journal de la caméra.",
        "en": "Only the fields changed are sent; a field emptied keeps its value. Every "
              "change is written in the camera's audit trail.",
    },
    "edit.tags_hint": {"fr": "séparées par des points-virgules", "en": "separated by semicolons"},
    "edit.connection": {"fr": "Connexion", "en": "Connection"},
    "edit.new_password": {"fr": "Nouveau mot de passe", "en": "New password"},
    "edit.password_kept": {"fr": "un mot de passe est enregistré : laisser vide pour le garder",
                           "en": "a password is stored: leave empty to keep it"},
    "edit.password_none": {"fr": "aucun mot de passe enregistré",
                           "en": "no password stored"},
    "edit.save": {"fr": "Enregistrer les modifications", "en": "Save the changes"},
    "edit.unchanged": {"fr": "Aucune modification à enregistrer.", "en": "Nothing changed."},
    "edit.site": {"fr": "Site : {site}", "en": "Site: {site}"},
    "edit.site_help": {"fr": "L'adresse est celle du site, pour toutes ses caméras.",
                       "en": "The address is the site's, for all its cameras."},
    "edit.save_site": {"fr": "Enregistrer l'adresse", "en": "Save the address"},
    "edit.decommission": {"fr": "Retirer du service", "en": "Decommission"},
    "edit.decommission_help": {
        "fr": "La caméra ne sera plus vérifiée ; sa fiche et son historique sont gardés.",
        "en": "The camera will no longer be checked; its record and history are kept.",
    },
    "edit.decommission_confirm": {"fr": "Je confirme le retrait de la caméra {code}",
                                  "en": "I confirm camera {code} is decommissioned"},
    "edit.decommission_button": {"fr": "Retirer la caméra", "en": "Decommission the camera"},
    "error.title": {"fr": "Erreur {status}", "en": "Error {status}"},
    "error.back": {"fr": "Retour au mur d'état", "en": "Back to the status wall"},
    # -- the accounts page (administrators) --
    "nav.accounts": {"fr": "Comptes", "en": "Accounts"},
    "accounts.title": {"fr": "Comptes", "en": "Accounts"},
    "accounts.users": {"fr": "Comptes, rôles et périmètres", "en": "Accounts, roles and scopes"},
    "accounts.role": {"fr": "Rôle", "en": "Role"},
    "accounts.scope": {"fr": "Périmètre", "en": "Scope"},
    "accounts.everything": {"fr": "tout le parc", "en": "the whole fleet"},
    "accounts.language": {"fr": "Langue", "en": "Language"},
    "accounts.state": {"fr": "État", "en": "State"},
    "accounts.enabled": {"fr": "actif", "en": "enabled"},
    "accounts.disabled": {"fr": "désactivé", "en": "disabled"},
    "accounts.may_sign_in": {"fr": "Compte actif (peut se connecter, ses jetons marchent)",
                             "en": "Enabled (may sign in, its tokens work)"},
    "accounts.last_login": {"fr": "Dernière connexion", "en": "Last login"},
    "accounts.never": {"fr": "jamais", "en": "never"},
    "accounts.add": {"fr": "Ajouter un compte", "en": "Add an account"},
    "accounts.add_button": {"fr": "Ajouter", "en": "Add"},
    "accounts.municipalities": {"fr": "Communes (rôle commune)",
                                "en": "Municipalities (municipality role)"},
    "accounts.municipalities_help": {"fr": "Ctrl+clic pour en choisir plusieurs",
                                     "en": "Ctrl+click to choose several"},
    "accounts.maintainer": {"fr": "Société de maintenance (rôle mainteneur)",
                            "en": "Maintainer company (maintainer role)"},
    "accounts.password": {"fr": "Mot de passe (12 caractères au moins)",
                          "en": "Password (12 characters at least)"},
    "accounts.edit": {"fr": "Rôle, périmètre, langue", "en": "Role, scope, language"},
    "accounts.save": {"fr": "Enregistrer", "en": "Save"},
    "accounts.set_password": {"fr": "Changer le mot de passe", "en": "Set the password"},
    "accounts.new_password": {"fr": "Nouveau mot de passe (ses sessions seront fermées)",
                              "en": "New password (its sessions will end)"},
    "accounts.remove": {"fr": "Supprimer le compte", "en": "Remove the account"},
    "accounts.confirm_remove": {"fr": "Supprimer le compte {name}, ses jetons et ses sessions ?",
                                "en": "Remove account {name}, its tokens and its sessions?"},
    "accounts.tokens": {"fr": "Jetons d'API", "en": "API tokens"},
    "accounts.no_token": {"fr": "Aucun jeton.", "en": "No token."},
    "accounts.token_name": {"fr": "Nom du jeton", "en": "Token name"},
    "accounts.token_expires": {"fr": "Expire le (facultatif)", "en": "Expires on (optional)"},
    "accounts.create_token": {"fr": "Créer un jeton", "en": "Create a token"},
    "accounts.revoke": {"fr": "Révoquer", "en": "Revoke"},
    "accounts.revoke_named": {"fr": "Révoquer le jeton {name}", "en": "Revoke token {name}"},
    "accounts.revoked": {"fr": "révoqué le {at}", "en": "revoked at {at}"},
    "accounts.token_once": {
        "fr": "Voici le jeton : copiez-le maintenant, il ne sera plus jamais affiché.",
        "en": "Here is the token: copy it now, it will never be shown again.",
    },
    "accounts.copy": {"fr": "Copier", "en": "Copy"},
    "accounts.copied": {"fr": "Copié", "en": "Copied"},
    "accounts.token_done": {"fr": "C'est copié, fermer", "en": "Copied, close"},
    "accounts.failed": {"fr": "Refusé : {error}", "en": "Refused: {error}"},
    "language.fr": {"fr": "français", "en": "French"},
    "language.en": {"fr": "anglais", "en": "English"},
    "role.admin": {"fr": "administration", "en": "administrator"},
    "role.technician": {"fr": "technicien", "en": "technician"},
    "role.operator": {"fr": "opérateur", "en": "operator"},
    "role.municipality": {"fr": "commune", "en": "municipality"},
    "role.maintainer": {"fr": "mainteneur", "en": "maintainer"},
    # -- the map of sites (pages/map.py) and the not-found page
    "map.title": {"fr": "Carte des sites", "en": "Map of sites"},
    "map.help": {"fr": "Chaque repère est un site, marqué par le pire état de ses caméras ; "
                       "les repères proches sont regroupés.",
                 "en": "Each marker is a site, marked with the worst state of its cameras; "
                       "nearby markers are grouped."},
    "map.none": {"fr": "Aucun site n'a de coordonnées.", "en": "No site has coordinates."},
    "map.without_coordinates": {"fr": "Sites sans coordonnées, absents de la carte : {count}",
                                "en": "Sites without coordinates, not on the map: {count}"},
    "map.wall_link": {"fr": "Voir ses caméras sur le mur", "en": "See its cameras on the wall"},
    "map.no_camera": {"fr": "aucune caméra surveillée", "en": "no watched camera"},
    "map.cluster": {"fr": "{count} sites, le pire : {state}",
                    "en": "{count} sites, the worst: {state}"},
    "error.not_found": {"fr": "Page introuvable : {path}", "en": "Page not found: {path}"},
}  # fmt: skip

STATE_ICONS = {"down": "✖", "degraded": "▲", "unknown": "?", "maintenance": "⚙", "ok": "✔",
               "decommissioned": "–"}  # fmt: skip
# The words the scripts show besides states and conditions.
BROWSER_WORDS = (
    "wall.live_on", "wall.live_off", "wall.critical", "wall.sound_on", "wall.sound_off",
    "wall.site_count", "wall.no_image", "incident.done", "incident.failed", "login.failed",
    "login.unreachable", "camera.no_history", "new.testing", "new.no_frame", "new.failed",
    "new.device", "new.profiles", "new.picture",
    "accounts.failed", "accounts.copied",
    # technicians' registry forms (forms.js)
    "import.empty", "import.sending", "import.problems_summary", "import.whole_row",
    "import.checked", "import.done", "import.summary", "import.summary_written", "import.nothing",
    "edit.unchanged",
)  # fmt: skip
# The map page's script (pages/map.py).
BROWSER_WORDS += ("map.wall_link", "map.no_camera", "map.cluster")
# Record fields the scripts name (what a camera test found).
BROWSER_HEADERS = ("manufacturer", "model", "serial", "firmware")
# Metrics shown as a share of the picture (0..1 in the record).
SHARE_METRICS = ("dark_fraction", "bright_fraction", "flat_fraction", "covered_fraction")


class Words:
    """The pages' words in one language, with the project's catalogue beside them."""

    def __init__(self, texts: Texts) -> None:
        self.texts = texts
        self.language: Language = texts.language

    def __call__(self, key: str, **values: Any) -> str:
        return WORDS[key][self.language].format(**values)

    def since(self, moment: datetime | None, now: datetime | None = None) -> str:
        """How long ago, in words ("depuis 3 h 05 min")."""
        if moment is None:
            return ""
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        seconds = max(0.0, ((now or datetime.now(UTC)) - moment).total_seconds())
        return self("incidents.since", duration=format_duration(seconds, self.language))

    def metric(self, name: str, value: Any) -> str:
        """One measure in plain words: a ratio to the reference as a percentage, a share of
        the picture as a percentage, anything else as its label and value."""
        texts = self.texts
        if not isinstance(value, int | float) or isinstance(value, bool):
            return self("metric.plain", label=texts.metric(name), value=value)
        if name == "luma_ratio" and value != 1:
            key = "metric.darker" if value < 1 else "metric.brighter"
            return self(key, pct=round(abs(1 - value) * 100))
        if name == "sharpness_ratio" and value < 1:
            return self("metric.less_sharp", pct=round((1 - value) * 100))
        if name in SHARE_METRICS:
            return self("metric.share", label=texts.metric(name), pct=round(value * 100))
        return self("metric.plain", label=texts.metric(name), value=texts.number(value))

    def explain(self, condition: str, metrics: dict[str, Any]) -> str:
        """The measures that show a condition (its row's `explained_by`), in plain words."""
        row = CONDITIONS.get(condition)
        shown = [name for name in (row.explained_by if row else ()) if name in metrics]
        return self("metrics.separator").join(self.metric(name, metrics[name]) for name in shown)

    def browser_words(self) -> dict[str, str]:
        """What the scripts show, handed to them in a data attribute."""
        words = {f"state.{name}": self.texts.state(name) for name in STATE_ICONS}
        words.update({f"condition.{name}": self.texts.condition(name) for name in CONDITIONS})
        words.update({f"header.{name}": self.texts.header(name) for name in BROWSER_HEADERS})
        for key in BROWSER_WORDS:
            words[key] = WORDS[key][self.language]
        return words
