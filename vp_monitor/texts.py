"""The catalogue of what people read: French (default) and English words, plurals and dates.

The command line, the demo console and notification subjects take their words from here;
conditions, states, severities and events keep their labels in `alerts/labels.py`, which this
module uses. A plural entry is a (singular, plural) pair chosen by `plural_index`.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from vp_monitor.alerts import labels
from vp_monitor.alerts.labels import Language

Entry = str | tuple[str, str]

# Table headers and record keys, by column name.
COLUMNS: dict[str, dict[Language, str]] = {
    "id": {"fr": "id", "en": "id"},
    "code": {"fr": "code", "en": "code"},
    "name": {"fr": "nom", "en": "name"},
    "insee": {"fr": "INSEE", "en": "INSEE"},
    "departement": {"fr": "département", "en": "département"},
    "camera": {"fr": "caméra", "en": "camera"},
    "camera_name": {"fr": "nom de la caméra", "en": "camera name"},
    "site": {"fr": "site", "en": "site"},
    "site_id": {"fr": "id du site", "en": "site id"},
    "municipality": {"fr": "commune", "en": "municipality"},
    "state": {"fr": "état", "en": "state"},
    "conditions": {"fr": "défauts", "en": "faults"},
    "since": {"fr": "depuis", "en": "since"},
    "last_check": {"fr": "dernière vérification", "en": "last check"},
    "incident": {"fr": "incident", "en": "incident"},
    "incident_status": {"fr": "incident", "en": "incident"},
    "event": {"fr": "événement", "en": "event"},
    "contact": {"fr": "contact", "en": "contact"},
    "queued_at": {"fr": "en file le", "en": "queued at"},
    "acknowledged_by": {"fr": "pris en compte par", "en": "acknowledged by"},
    "acknowledged_at": {"fr": "pris en compte le", "en": "acknowledged at"},
    "acknowledgement_note": {"fr": "note de prise en compte", "en": "acknowledgement note"},
    "kind": {"fr": "type", "en": "kind"},
    "status": {"fr": "statut", "en": "status"},
    "severity": {"fr": "gravité", "en": "severity"},
    "opened_at": {"fr": "ouvert le", "en": "opened at"},
    "resolved_at": {"fr": "résolu le", "en": "resolved at"},
    "reopened_count": {"fr": "réouvertures", "en": "reopened"},
    "escalation_level": {"fr": "niveau d'escalade", "en": "escalation level"},
    "silenced": {"fr": "pendant une maintenance", "en": "during maintenance"},
    "parent_id": {"fr": "incident parent", "en": "parent incident"},
    "evidence_bytes": {"fr": "preuve (octets)", "en": "evidence (bytes)"},
    "availability_pct": {"fr": "disponibilité %", "en": "availability %"},
    "down_min": {"fr": "indisponible (min)", "en": "down (min)"},
    "maintenance_min": {"fr": "maintenance (min)", "en": "maintenance (min)"},
    "degraded_min": {"fr": "dégradée mais utilisable (min)", "en": "degraded, usable (min)"},
    "scope": {"fr": "portée", "en": "scope"},
    "starts_at": {"fr": "début", "en": "start"},
    "ends_at": {"fr": "fin", "en": "end"},
    "reason": {"fr": "motif", "en": "reason"},
    "planned_by": {"fr": "planifiée par", "en": "planned by"},
    "at": {"fr": "date", "en": "at"},
    "actor": {"fr": "auteur", "en": "actor"},
    "action": {"fr": "action", "en": "action"},
    "changes": {"fr": "modifications", "en": "changes"},
    "channel": {"fr": "canal", "en": "channel"},
    "address": {"fr": "adresse", "en": "address"},
    "owner": {"fr": "rattachement", "en": "owner"},
    "min_severity": {"fr": "gravité minimale", "en": "minimum severity"},
    "language": {"fr": "langue", "en": "language"},
    "level": {"fr": "niveau", "en": "level"},
    "quiet_hours": {"fr": "heures calmes", "en": "quiet hours"},
    "digest": {"fr": "récapitulatif", "en": "digest"},
    "reports": {"fr": "rapports", "en": "reports"},
    "secret": {"fr": "secret", "en": "secret"},
    "uplink": {"fr": "liaison", "en": "uplink"},
    "latitude": {"fr": "latitude", "en": "latitude"},
    "longitude": {"fr": "longitude", "en": "longitude"},
    "lifecycle": {"fr": "cycle de vie", "en": "lifecycle"},
    "maintainer": {"fr": "mainteneur", "en": "maintainer"},
    "password": {"fr": "mot de passe", "en": "password"},
    "onvif_host": {"fr": "hôte ONVIF", "en": "ONVIF host"},
    "onvif_port": {"fr": "port ONVIF", "en": "ONVIF port"},
    "username": {"fr": "utilisateur", "en": "user name"},
    "rtsp_main": {"fr": "flux principal", "en": "main stream"},
    "rtsp_sub": {"fr": "flux secondaire", "en": "sub stream"},
    "expected_codec": {"fr": "codec attendu", "en": "expected codec"},
    "expected_width": {"fr": "largeur attendue", "en": "expected width"},
    "expected_height": {"fr": "hauteur attendue", "en": "expected height"},
    "expected_fps": {"fr": "images/s attendues", "en": "expected fps"},
    "manufacturer": {"fr": "fabricant", "en": "manufacturer"},
    "model": {"fr": "modèle", "en": "model"},
    "serial": {"fr": "numéro de série", "en": "serial"},
    "firmware": {"fr": "micrologiciel", "en": "firmware"},
    "installed_on": {"fr": "installée le", "en": "installed on"},
    "authorisation_number": {"fr": "autorisation préfectorale", "en": "authorisation"},
    "authorisation_expires": {"fr": "fin d'autorisation", "en": "authorisation expires"},
    "tags": {"fr": "étiquettes", "en": "tags"},
    "notes": {"fr": "notes", "en": "notes"},
    "captured_at": {"fr": "prise le", "en": "captured at"},
    "size": {"fr": "taille", "en": "size"},
    "approved_by": {"fr": "approuvée par", "en": "approved by"},
    "note": {"fr": "note", "en": "note"},
    "host": {"fr": "hôte", "en": "host"},
    "port": {"fr": "port", "en": "port"},
    "xaddr": {"fr": "adresse ONVIF", "en": "ONVIF address"},
    "endpoint": {"fr": "identifiant", "en": "endpoint"},
    "recipient": {"fr": "destinataire", "en": "recipient"},
    "metric": {"fr": "mesure", "en": "metric"},
    "value": {"fr": "valeur", "en": "value"},
    "probe": {"fr": "sonde", "en": "probe"},
    "result": {"fr": "résultat", "en": "result"},
    "duration": {"fr": "durée", "en": "duration"},
    "detail": {"fr": "détail", "en": "detail"},
    "sent_at": {"fr": "envoyé le", "en": "sent at"},
}

STATUSES: dict[str, dict[Language, str]] = {
    "open": {"fr": "ouvert", "en": "open"},
    "acknowledged": {"fr": "pris en compte", "en": "acknowledged"},
    "resolved": {"fr": "résolu", "en": "resolved"},
    "pending": {"fr": "en attente", "en": "pending"},
    "sent": {"fr": "envoyé", "en": "sent"},
    "failed": {"fr": "échec", "en": "failed"},
}

# Values shown in tables, by column: codes stay in --json, people read these.
VALUES: dict[str, dict[str, dict[Language, str]]] = {
    "status": STATUSES,
    "incident_status": STATUSES,
    "event": labels.EVENTS,
    "kind": {
        "fixed": {"fr": "fixe", "en": "fixed"},
        "ptz": {"fr": "PTZ", "en": "PTZ"},
        "dome": {"fr": "dôme", "en": "dome"},
        "multisensor": {"fr": "multicapteur", "en": "multisensor"},
        "camera": {"fr": "caméra", "en": "camera"},
        "site": {"fr": "site", "en": "site"},
        "flapping": {"fr": "instabilité", "en": "flapping"},
        "monitor": {"fr": "supervision", "en": "monitor"},
        "day": {"fr": "jour", "en": "day"},
        "night": {"fr": "nuit", "en": "night"},
    },
    "scope": {
        "camera": {"fr": "caméra", "en": "camera"},
        "site": {"fr": "site", "en": "site"},
        "municipality": {"fr": "commune", "en": "municipality"},
    },
    "lifecycle": {
        "planned": {"fr": "prévue", "en": "planned"},
        "active": {"fr": "active", "en": "active"},
        "maintenance": {"fr": "en maintenance", "en": "maintenance"},
        "decommissioned": {"fr": "retirée du service", "en": "decommissioned"},
    },
    "action": {
        "create": {"fr": "création", "en": "create"},
        "update": {"fr": "modification", "en": "update"},
        "delete": {"fr": "suppression", "en": "delete"},
        "reference": {"fr": "image de référence", "en": "reference"},
    },
    "channel": {
        "email": {"fr": "e-mail", "en": "e-mail"},
        "webhook": {"fr": "webhook", "en": "webhook"},
        "mqtt": {"fr": "MQTT", "en": "MQTT"},
    },
}

MESSAGES: dict[str, dict[Language, Entry]] = {
    "yes": {"fr": "oui", "en": "yes"},
    "no": {"fr": "non", "en": "no"},
    "none": {"fr": "—", "en": "—"},
    "colon": {"fr": " : ", "en": ": "},
    # counts
    "count.incident": {
        "fr": ("{n} incident", "{n} incidents"),
        "en": ("{n} incident", "{n} incidents"),
    },
    "count.camera": {"fr": ("{n} caméra", "{n} caméras"), "en": ("{n} camera", "{n} cameras")},
    "count.invalid_row": {
        "fr": ("{n} ligne invalide", "{n} lignes invalides"),
        "en": ("{n} invalid row", "{n} invalid rows"),
    },
    "count.to_create": {"fr": "{n} à créer", "en": "{n} to create"},
    "count.to_update": {"fr": "{n} à modifier", "en": "{n} to update"},
    "count.unchanged": {
        "fr": ("{n} inchangée", "{n} inchangées"),
        "en": ("{n} unchanged", "{n} unchanged"),
    },
    "count.new_site": {
        "fr": ("{n} nouveau site", "{n} nouveaux sites"),
        "en": ("{n} new site", "{n} new sites"),
    },
    "count.opened": {"fr": ("{n} ouvert", "{n} ouverts"), "en": ("{n} opened", "{n} opened")},
    "count.resolved": {
        "fr": ("{n} rétabli", "{n} rétablis"),
        "en": ("{n} resolved", "{n} resolved"),
    },
    "count.still_open": {
        "fr": ("{n} toujours en cours", "{n} toujours en cours"),
        "en": ("{n} still open", "{n} still open"),
    },
    # a camera count by state, the adjective agreeing with "caméra"
    "count.state.unknown": {
        "fr": ("{n} inconnue", "{n} inconnues"),
        "en": ("{n} unknown", "{n} unknown"),
    },
    "count.state.ok": {"fr": "{n} en service", "en": "{n} ok"},
    "count.state.degraded": {
        "fr": ("{n} dégradée", "{n} dégradées"),
        "en": ("{n} degraded", "{n} degraded"),
    },
    "count.state.down": {"fr": "{n} hors service", "en": "{n} down"},
    "count.state.maintenance": {"fr": "{n} en maintenance", "en": "{n} under maintenance"},
    "count.state.decommissioned": {
        "fr": ("{n} retirée du service", "{n} retirées du service"),
        "en": ("{n} decommissioned", "{n} decommissioned"),
    },
    # notification subjects: what happened, how many incidents
    "subject.opened": {
        "fr": ("{n} incident ouvert", "{n} incidents ouverts"),
        "en": ("{n} incident opened", "{n} incidents opened"),
    },
    "subject.acknowledged": {
        "fr": ("{n} incident pris en compte", "{n} incidents pris en compte"),
        "en": ("{n} incident acknowledged", "{n} incidents acknowledged"),
    },
    "subject.resolved": {
        "fr": ("{n} incident résolu", "{n} incidents résolus"),
        "en": ("{n} incident resolved", "{n} incidents resolved"),
    },
    "subject.reopened": {
        "fr": ("{n} incident rouvert", "{n} incidents rouverts"),
        "en": ("{n} incident reopened", "{n} incidents reopened"),
    },
    "subject.escalated": {
        "fr": ("escalade : {n} incident", "escalade : {n} incidents"),
        "en": ("escalation: {n} incident", "escalation: {n} incidents"),
    },
    "subject.reminder": {
        "fr": ("rappel : {n} incident en cours", "rappel : {n} incidents en cours"),
        "en": ("reminder: {n} incident ongoing", "reminder: {n} incidents ongoing"),
    },
    "subject.recovered": {"fr": "RÉTABLI", "en": "RESOLVED"},
    "subject.digest": {"fr": "Récapitulatif", "en": "Digest"},
    # e-mail bodies
    "email.failures": {"fr": "Incidents en cours", "en": "Ongoing incidents"},
    "email.recoveries": {"fr": "Rétablissements", "en": "Recoveries"},
    "email.conditions": {"fr": "Défauts", "en": "Faults"},
    "email.state": {"fr": "État", "en": "State"},
    "email.since": {"fr": "depuis le", "en": "since"},
    "email.duration": {"fr": "durée", "en": "duration"},
    "email.resolved_at": {"fr": "rétabli le", "en": "resolved on"},
    "email.evidence": {"fr": "Preuve", "en": "Evidence"},
    "email.footer": {
        "fr": "Message automatique de vp-monitor. Ne pas répondre.",
        "en": "Automatic message from vp-monitor. Do not reply.",
    },
    "email.date": {"fr": "%d/%m/%Y %H:%M %Z", "en": "%Y-%m-%d %H:%M %Z"},
    # status wall and incidents
    "status.no_problem": {
        "fr": "Aucune caméra en défaut : toutes les caméras suivies sont en service.",
        "en": "No camera has a problem: every watched camera is ok.",
    },
    "status.no_camera": {"fr": "Aucune caméra suivie.", "en": "No camera is watched."},
    "incident.none": {"fr": "Aucun incident en cours.", "en": "No open incident."},
    "incident.none_at_all": {"fr": "Aucun incident.", "en": "No incident."},
    "incident.acknowledged": {
        "fr": "incident {id} pris en compte par {actor}",
        "en": "incident {id} acknowledged by {actor}",
    },
    "incident.not_open": {
        "fr": "incident {id} déjà {status} : rien à prendre en compte",
        "en": "incident {id} is {status}: nothing to acknowledge",
    },
    "incident.no_evidence": {
        "fr": "cet incident n'a pas d'image de preuve",
        "en": "this incident has no evidence frame",
    },
    "incident.evidence_written": {
        "fr": "image de preuve écrite dans {path}",
        "en": "evidence frame written to {path}",
    },
    "incident.title": {"fr": "Incident {id}", "en": "Incident {id}"},
    "incident.opening_metrics": {"fr": "Mesures à l'ouverture", "en": "Metrics at opening"},
    "incident.worst_metrics": {"fr": "Mesures au pire moment", "en": "Metrics at the worst"},
    "incident.no_metrics": {"fr": "aucune mesure", "en": "no metrics"},
    "incident.notifications": {"fr": "Notifications", "en": "Notifications"},
    "incident.no_notification": {
        "fr": "aucune notification envoyée",
        "en": "no notification sent",
    },
    "incident.whole_site": {"fr": "tout le site", "en": "whole site"},
    # check
    "check.failed": {"fr": "ÉCHEC", "en": "FAILED"},
    "check.ok": {"fr": "ok", "en": "ok"},
    "check.image": {"fr": "image", "en": "image"},
    "check.findings": {"fr": "Analyse de l'image", "en": "Image findings"},
    "check.no_picture": {"fr": "aucune image analysée", "en": "no picture analysed"},
    "availability.period": {
        "fr": "Période du {start} au {end} ({zone})",
        "en": "Period from {start} to {end} ({zone})",
    },
    "availability.until_now": {"fr": " : jusqu'à maintenant", "en": ": until now"},
    # maintenance
    "maintenance.none": {
        "fr": "Aucune fenêtre de maintenance.",
        "en": "No maintenance window.",
    },
    # confirmations of the registry commands
    "db.up_to_date": {
        "fr": "le schéma de la base de données est à jour",
        "en": "database schema is up to date",
    },
    "config.valid": {"fr": "la configuration est valide", "en": "configuration is valid"},
    "municipality.added": {
        "fr": "commune {insee} {name} ajoutée",
        "en": "municipality {insee} {name} added",
    },
    "municipality.updated": {
        "fr": "commune {insee} modifiée",
        "en": "municipality {insee} updated",
    },
    "municipality.removed": {
        "fr": "commune {insee} supprimée",
        "en": "municipality {insee} removed",
    },
    "site.added": {"fr": "site {id} « {name} » ajouté", "en": "site {id} '{name}' added"},
    "site.updated": {"fr": "site {id} modifié", "en": "site {id} updated"},
    "site.removed": {"fr": "site {ref} supprimé", "en": "site {ref} removed"},
    "camera.added": {"fr": "caméra {code} ajoutée", "en": "camera {code} added"},
    "camera.added_rtsp": {
        "fr": "caméra {code} ajoutée d'après son flux RTSP : {codec} {width}x{height}",
        "en": "camera {code} added from RTSP: {codec} {width}x{height}",
    },
    "camera.added_onvif": {
        "fr": "caméra {code} ajoutée d'après ONVIF : {manufacturer} {model}, numéro de série "
        "{serial}, micrologiciel {firmware}",
        "en": "camera {code} added from ONVIF: {manufacturer} {model}, serial {serial}, "
        "firmware {firmware}",
    },
    "camera.updated": {"fr": "caméra {code} modifiée", "en": "camera {code} updated"},
    "camera.unchanged": {"fr": "caméra {code} inchangée", "en": "camera {code} unchanged"},
    "camera.decommissioned": {
        "fr": "caméra {code} retirée du service",
        "en": "camera {code} decommissioned",
    },
    "camera.removed": {"fr": "caméra {code} supprimée", "en": "camera {code} removed"},
    "camera.exported": {
        "fr": ("{n} caméra exportée dans {path}", "{n} caméras exportées dans {path}"),
        "en": ("{n} camera exported to {path}", "{n} cameras exported to {path}"),
    },
    "owner.municipality": {"fr": "commune : {name}", "en": "municipality: {name}"},
    "owner.maintainer": {"fr": "mainteneur : {name}", "en": "maintainer: {name}"},
    "owner.supervision": {"fr": "centre de supervision", "en": "supervision centre"},
    "contact.added": {"fr": "contact {id} « {name} » ajouté", "en": "contact {id} '{name}' added"},
    "contact.updated": {"fr": "contact {id} modifié", "en": "contact {id} updated"},
    "contact.removed": {"fr": "contact {id} supprimé", "en": "contact {id} removed"},
    "maintenance.planned": {
        "fr": "fenêtre de maintenance {id} planifiée",
        "en": "maintenance window {id} planned",
    },
    "maintenance.removed": {
        "fr": "fenêtre de maintenance {id} supprimée",
        "en": "maintenance window {id} removed",
    },
    "reference.all": {
        "fr": "chaque caméra a une image de référence ({kind})",
        "en": "every camera has a {kind} reference",
    },
    "reference.approved": {
        "fr": "{code} : nouvelle image de référence ({kind}) {size} approuvée",
        "en": "{code}: new {kind} reference {size} approved",
    },
    "reference.missed": {
        "fr": (
            "aucune image de {n} caméra, pas de référence pour elle : {codes}",
            "aucune image de {n} caméras, pas de référence pour elles : {codes}",
        ),
        "en": (
            "no picture from {n} camera, no reference for it: {codes}",
            "no picture from {n} cameras, no reference for them: {codes}",
        ),
    },  # fmt: skip
    "sim.csv_written": {
        "fr": ("{n} caméra écrite dans {path}", "{n} caméras écrites dans {path}"),
        "en": ("wrote {n} camera to {path}", "wrote {n} cameras to {path}"),
    },
    "serve.checks_run": {
        "fr": ("{n} vérification effectuée", "{n} vérifications effectuées"),
        "en": ("{n} check run", "{n} checks run"),
    },
    "demo.registered": {
        "fr": (
            "{n} caméra enregistrée dans {database} ; démarrage du simulateur…",
            "{n} caméras enregistrées dans {database} ; démarrage du simulateur…",
        ),
        "en": (
            "{n} camera registered in {database}; simulator starting…",
            "{n} cameras registered in {database}; simulator starting…",
        ),
    },  # fmt: skip
    "demo.monitoring": {
        "fr": "surveillance en cours (changements d'état et notifications ci-dessous ; "
        "Ctrl-C pour arrêter)",
        "en": "monitoring (state changes and notifications below; Ctrl-C to stop)",
    },
    "import.summary.would": {"fr": "modifications à écrire", "en": "changes would be written"},
    "import.summary.were": {"fr": "modifications écrites", "en": "changes were written"},
    "import.summary.nothing": {"fr": "rien n'a été écrit", "en": "nothing written"},
    "import.summary.nothing_to_change": {"fr": "rien à modifier", "en": "nothing to change"},
    "import.summary.fix_dry": {
        "fr": "rien ne serait écrit (corrigez les lignes ci-dessus, ou utilisez --skip-invalid)",
        "en": "nothing would be written (fix the rows above, or use --skip-invalid)",
    },
    "import.summary.fix": {
        "fr": "rien n'a été écrit (corrigez les lignes ci-dessus, ou utilisez --skip-invalid)",
        "en": "nothing written (fix the rows above, or use --skip-invalid)",
    },
}

# Metric names as people read them (the keys stay in --json).
METRICS: dict[str, dict[Language, str]] = {
    "mean_luma": {"fr": "luminosité moyenne", "en": "mean brightness"},
    "contrast": {"fr": "contraste", "en": "contrast"},
    "dark_fraction": {"fr": "part sombre", "en": "dark share"},
    "bright_fraction": {"fr": "part claire", "en": "bright share"},
    "flat_fraction": {"fr": "part uniforme", "en": "flat share"},
    "luma_ratio": {"fr": "luminosité / référence", "en": "brightness / reference"},
    "frame_diff": {"fr": "écart entre images", "en": "difference between frames"},
    "peak_diff": {"fr": "écart maximal", "en": "peak difference"},
    "noise_level": {"fr": "niveau de bruit", "en": "noise level"},
    "noise_diff_ratio": {"fr": "écart / bruit", "en": "difference / noise"},
    "sharpness": {"fr": "netteté", "en": "sharpness"},
    "sharpness_ratio": {"fr": "netteté / référence", "en": "sharpness / reference"},
    "covered_fraction": {"fr": "part masquée", "en": "covered share"},
    "match_candidates": {"fr": "points candidats", "en": "match candidates"},
    "match_inliers": {"fr": "points appariés", "en": "matched points"},
    "shift_x_pct": {"fr": "décalage horizontal %", "en": "horizontal shift %"},
    "shift_y_pct": {"fr": "décalage vertical %", "en": "vertical shift %"},
    "rotation_deg": {"fr": "rotation (°)", "en": "rotation (°)"},
    "displacement_pct": {"fr": "déplacement de la vue %", "en": "view displacement %"},
    "homography": {
        "fr": "changement de perspective (1 = oui)",
        "en": "perspective change (1 = yes)",
    },
    "moved_displacement": {"fr": "vue déplacée (1 = oui)", "en": "view displaced (1 = yes)"},
    "moved_no_match": {"fr": "vue méconnaissable (1 = oui)", "en": "view not recognised (1 = yes)"},
    "in_place_share": {"fr": "part des repères à leur place", "en": "share of landmarks in place"},
    "clock_offset_s": {"fr": "décalage d'horloge (s)", "en": "clock offset (s)"},
    "onvif_clock_offset_s": {"fr": "décalage d'horloge (s)", "en": "clock offset (s)"},
    "first_keyframe_s": {"fr": "première image clé (s)", "en": "first keyframe (s)"},
    "rtsp_main_response_s": {"fr": "réponse RTSP principal (s)", "en": "RTSP main answer (s)"},
    "rtsp_sub_response_s": {"fr": "réponse RTSP secondaire (s)", "en": "RTSP sub answer (s)"},
    "stream_bitrate_kbps": {"fr": "débit du flux (kbit/s)", "en": "stream bitrate (kbit/s)"},
    "stream_first_keyframe_s": {"fr": "première image clé (s)", "en": "first keyframe (s)"},
    "stream_fps": {"fr": "images par seconde", "en": "frames per second"},
    "stream_frames": {"fr": "images reçues", "en": "frames received"},
    "stream_packet_loss": {"fr": "paquets perdus", "en": "packets lost"},
    "stream_packets": {"fr": "paquets reçus", "en": "packets received"},
}

DATETIME_FORMATS: dict[Language, str] = {"fr": "%d/%m/%Y %H:%M:%S", "en": "%Y-%m-%d %H:%M:%S"}
DECIMAL_MARKS: dict[Language, str] = {"fr": ",", "en": "."}
ISO_MOMENT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


def plural_index(count: int, language: Language) -> int:
    """0 for the singular, 1 for the plural: French takes the singular for 0 and 1."""
    singular = abs(count) <= 1 if language == "fr" else count == 1
    return 0 if singular else 1


class Texts:
    """The catalogue in one language, dates in one time zone."""

    def __init__(self, language: Language = "fr", timezone: str = "Europe/Paris") -> None:
        self.language, self.zone = language, ZoneInfo(timezone)

    def __call__(self, key: str, count: int | None = None, **values: Any) -> str:
        """The message `key`, its plural form chosen by `count` (given to it as {n})."""
        entry = MESSAGES[key][self.language]
        if isinstance(entry, tuple):
            entry = entry[plural_index(count or 0, self.language)]
        if count is not None:
            values["n"] = count
        return entry.format(**values)

    def header(self, column: str) -> str:
        """The header of a column (its name when the catalogue has none)."""
        return labels.label(COLUMNS, column, self.language)

    def state(self, state: str) -> str:
        return labels.label(labels.CAMERA_STATES, state, self.language)

    def condition(self, condition: str) -> str:
        return labels.condition_label(condition, self.language)

    def conditions(self, names: list[str] | tuple[str, ...] | str | None) -> str:
        """Condition labels joined by commas ("" when there are none)."""
        if isinstance(names, str):
            names = [part.strip() for part in names.split(",") if part.strip()]
        return ", ".join(self.condition(name) for name in names or ())

    def severity(self, severity: str) -> str:
        return labels.label(labels.SEVERITIES, severity, self.language)

    def metric(self, name: str) -> str:
        return labels.label(METRICS, name, self.language)

    def number(self, value: float) -> str:
        """A measure for people: three significant digits, the language's decimal mark."""
        return f"{value:.3g}".replace(".", DECIMAL_MARKS[self.language])

    def moment(self, value: datetime | str | None) -> str:
        """A date and time in the display time zone, to the second ("" for none)."""
        if value is None:
            return ""
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        if value.tzinfo is None:  # the database stores UTC
            value = value.replace(tzinfo=ZoneInfo("UTC"))
        return value.astimezone(self.zone).strftime(DATETIME_FORMATS[self.language])

    def value(self, column: str, value: Any) -> str:
        """A record's value as a table cell: labels for codes, local times, yes/no."""
        if value is None or value == "" or value == []:
            return ""
        if isinstance(value, bool):
            return self("yes" if value else "no")
        if isinstance(value, float):
            return str(value).replace(".", DECIMAL_MARKS[self.language])
        if isinstance(value, datetime):
            return self.moment(value)
        if isinstance(value, date):
            return value.isoformat()
        if isinstance(value, str) and ISO_MOMENT.match(value) and column.endswith("_at"):
            return self.moment(value)
        if column in ("state",):
            return self.state(str(value))
        if column in ("severity", "min_severity"):
            return self.severity(str(value))
        if column == "conditions":
            return self.conditions(value)
        if column in VALUES and isinstance(value, str):
            return labels.label(VALUES[column], value, self.language)
        if isinstance(value, list | tuple):
            return ", ".join(str(item) for item in value)
        if isinstance(value, dict):
            return ", ".join(f"{key}: {item}" for key, item in value.items())
        return str(value)
