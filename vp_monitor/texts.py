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
    "previous": {"fr": "état précédent", "en": "previous state"},
    "cameras": {"fr": "caméras", "en": "cameras"},
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
    "provisional": {"fr": "provisoire", "en": "provisional"},
    "in_force": {"fr": "en vigueur", "en": "in force"},
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
    "role": {"fr": "rôle", "en": "role"},
    "user": {"fr": "compte", "en": "account"},
    "municipalities": {"fr": "communes", "en": "municipalities"},
    "prefix": {"fr": "début du jeton", "en": "token start"},
    "created_at": {"fr": "créé le", "en": "created at"},
    "updated_at": {"fr": "modifié le", "en": "updated at"},
    "expires_at": {"fr": "expire le", "en": "expires at"},
    "last_used_at": {"fr": "dernier usage", "en": "last used"},
    "revoked_at": {"fr": "révoqué le", "en": "revoked at"},
    "enabled": {"fr": "actif", "en": "enabled"},
    "last_login_at": {"fr": "dernière connexion", "en": "last login"},
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
# The catalogues below repeat one shape (a key, French, English): their form, no logic.
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
        "password": {"fr": "mot de passe", "en": "password"},
        "revoke": {"fr": "révocation", "en": "revoke"},
        "login": {"fr": "connexion", "en": "login"},
        "login_failed": {"fr": "échec de connexion", "en": "failed login"},
        "lockout": {"fr": "connexions bloquées", "en": "logins locked out"},
        "logout": {"fr": "déconnexion", "en": "logout"},
    },
    "role": {
        "admin": {"fr": "administrateur", "en": "administrator"},
        "technician": {"fr": "technicien", "en": "technician"},
        "operator": {"fr": "opérateur", "en": "operator"},
        "municipality": {"fr": "commune", "en": "municipality"},
        "maintainer": {"fr": "mainteneur", "en": "maintainer"},
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
    # incidents resolved by hand, camera tests and images (web API)
    "incident.resolved": {
        "fr": "incident {id} résolu par {actor}",
        "en": "incident {id} resolved by {actor}",
    },
    "incident.already_resolved": {
        "fr": "incident {id} déjà résolu : rien à faire",
        "en": "incident {id} is resolved already: nothing to do",
    },
    "value.iso_moment": {
        "fr": "une date et heure ISO 8601 est attendue (AAAA-MM-JJTHH:MM:SS+01:00)",
        "en": "an ISO 8601 date and time is expected (YYYY-MM-DDTHH:MM:SS+01:00)",
    },
    "value.test_address": {
        "fr": "donnez l'adresse ONVIF (onvif_host) ou l'URL RTSP (rtsp_main) de la caméra",
        "en": "give the camera's ONVIF address (onvif_host) or RTSP URL (rtsp_main)",
    },
    "test.unknown": {
        "fr": "test de caméra inconnu ou expiré {id} : relancez le test",
        "en": "unknown or expired camera test {id}: run the test again",
    },
    "test.registered": {
        "fr": "ce test porte sur la caméra déjà enregistrée {code!r}",
        "en": "this test is of camera {code!r}, registered already",
    },
    "test.no_frame": {
        "fr": "ce test n'a donné aucune image",
        "en": "this test gave no picture",
    },
    "camera.no_frame": {
        "fr": "caméra {code!r} : aucune image dans le délai de {seconds} s",
        "en": "camera {code!r}: no picture within {seconds} s",
    },
    "camera.frames_busy": {
        "fr": "trop de captures d'images en cours : réessayez dans quelques secondes",
        "en": "too many pictures being captured: try again in a few seconds",
    },
    "reference.none": {
        "fr": "caméra {code!r} : aucune image de référence {kind}",
        "en": "camera {code!r}: no {kind} reference image",
    },
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
    "states.at_start": {"fr": "État au début : {state}", "en": "State at the start: {state}"},
    "states.none": {
        "fr": "Aucun changement d'état sur la période",
        "en": "No change of state in the period",
    },
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
    "health.up": {"fr": "en marche", "en": "up"},
    "ready.ok": {"fr": "prêt", "en": "ready"},
    "ready.database_unreachable": {
        "fr": "base de données injoignable ({reason})",
        "en": "database unreachable ({reason})",
    },
    "ready.database_unavailable": {
        "fr": "base de données indisponible depuis {seconds} s ({kind})",
        "en": "database unavailable for {seconds} s ({kind})",
    },
    "ready.database_timeout": {
        "fr": "la base de données n'a pas répondu en {seconds} s",
        "en": "the database did not answer within {seconds} s",
    },
    "ready.scheduler_stopped": {
        "fr": "le planificateur des vérifications est arrêté",
        "en": "the check scheduler is stopped",
    },
    "ready.scheduler_stalled": {
        "fr": "le planificateur des vérifications ne passe plus (aucun passage récent)",
        "en": "the check scheduler is stalled (no recent planner run)",
    },
    "ready.decoders_closed": {
        "fr": "le groupe de décodeurs vidéo est fermé",
        "en": "the video decoder pool is closed",
    },
    "ready.decoders_not_starting": {
        "fr": "les processus de décodage vidéo ne démarrent pas",
        "en": "video decoder processes do not start",
    },
    "ready.decoders_dead": {
        "fr": "tous les processus de décodage vidéo sont arrêtés",
        "en": "every video decoder process has died",
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
    # errors and warnings (the CLI's `error: …` lines); field names stay as the columns
    "error": {"fr": "erreur : {message}", "en": "error: {message}"},
    "warning": {"fr": "attention : {message}", "en": "warning: {message}"},
    "municipality.unknown": {
        "fr": "commune inconnue {insee!r} (ajoutez-la avec `municipality add`)",
        "en": "unknown municipality {insee!r} (add it with `municipality add`)",
    },
    "municipality.exists": {
        "fr": "la commune {insee} existe déjà",
        "en": "municipality {insee} already exists",
    },
    "municipality.not_official": {
        "fr": "le code INSEE {insee} n'est pas une commune actuelle des départements "
        "{departements} (liste officielle livrée avec vp-monitor) ; vérifiez le code, ou "
        "donnez --force pour l'ajouter quand même",
        "en": "INSEE code {insee} is not a current commune of départements {departements} "
        "(official list shipped with vp-monitor); check the code, or give --force to add it "
        "anyway",
    },
    "municipality.name_needed": {
        "fr": "commune {insee} : donnez son --name",
        "en": "municipality {insee}: give its --name",
    },
    "municipality.has_sites": {
        "fr": "la commune {insee} a encore des sites ; supprimez-les d'abord",
        "en": "municipality {insee} still has sites; remove them first",
    },
    "site.ambiguous": {
        "fr": "le nom de site {ref!r} est ambigu : donnez --municipality ou l'id",
        "en": "site name {ref!r} is ambiguous: give --municipality or the id",
    },
    "site.unknown": {"fr": "site inconnu {ref!r}", "en": "unknown site {ref!r}"},
    "site.unknown_in": {
        "fr": "site inconnu {ref!r} dans la commune {insee}",
        "en": "unknown site {ref!r} in municipality {insee}",
    },
    "site.exists": {
        "fr": "le site {name!r} existe déjà dans {insee}",
        "en": "site {name!r} already exists in {insee}",
    },
    "site.has_cameras": {
        "fr": "le site {name!r} a encore des caméras ; déplacez-les ou supprimez-les d'abord",
        "en": "site {name!r} still has cameras; move or remove them first",
    },
    "camera.unknown": {"fr": "caméra inconnue {code!r}", "en": "unknown camera {code!r}"},
    "camera.exists": {
        "fr": "la caméra {code!r} existe déjà (code d'équipement en double)",
        "en": "camera {code!r} already exists (duplicate asset code)",
    },
    "camera.exists_as": {
        "fr": "la caméra {code!r} existe déjà (sous {existing!r}) (code d'équipement en double)",
        "en": "camera {code!r} already exists (as {existing!r}) (duplicate asset code)",
    },
    "camera.address_needed": {
        "fr": "caméra {code!r} : donnez une adresse ONVIF ou une URL RTSP",
        "en": "camera {code!r}: give an ONVIF host or an RTSP URL",
    },
    "camera.problem": {"fr": "caméra {code!r} : {reason}", "en": "camera {code!r}: {reason}"},
    "reference.not_ptz": {
        "fr": "caméra {code!r} : pas une caméra PTZ, une référence par préréglage n'a pas de sens",
        "en": "camera {code!r}: not a PTZ camera, a reference per preset makes no sense",
    },
    "reference.not_at_preset": {
        "fr": "caméra {code!r} : pas sur le préréglage {preset} (position lue : {at}) ; "
        "référence inchangée",
        "en": "camera {code!r}: not at preset {preset} (position read: {at}); reference unchanged",
    },
    "camera.no_capture": {
        "fr": "caméra {code!r} : aucune image n'a pu être capturée ; référence inchangée",
        "en": "camera {code!r}: no picture could be captured; reference unchanged",
    },
    "device.duplicate": {
        "fr": "{what} appartient déjà à la caméra {holder!r} (le même appareil deux fois ?) ; "
        "donnez --allow-duplicate-device pour un encodeur partagé par des caméras",
        "en": "{what} is already registered as camera {holder!r} (the same device twice?); "
        "give --allow-duplicate-device for an encoder shared by cameras",
    },
    "device.serial": {"fr": "le numéro de série {serial!r}", "en": "serial number {serial!r}"},
    "device.onvif": {"fr": "l'adresse ONVIF {address}", "en": "ONVIF address {address}"},
    "device.stream": {"fr": "l'URL de flux {url}", "en": "stream URL {url}"},
    "contact.unknown": {"fr": "contact inconnu {id}", "en": "unknown contact {id}"},
    "maintenance.unknown": {
        "fr": "fenêtre de maintenance inconnue {id}",
        "en": "unknown maintenance window {id}",
    },
    "input.field": {"fr": "entrée : {field} : {reason}", "en": "input: {field}: {reason}"},
    # validation: lines naming the field, reasons by pydantic error type, validators' reasons
    "lines": {"fr": "{lines}", "en": "{lines}"},
    "input": {"fr": "entrée", "en": "input"},
    "environment": {"fr": "environnement", "en": "environment"},
    "validation.unknown_key": {
        "fr": "{origin} : clé inconnue {field!r}",
        "en": "{origin}: unknown key {field!r}",
    },
    "validation.line": {"fr": "{origin} : {field} : {reason}", "en": "{origin}: {field}: {reason}"},
    "validation.line_value": {
        "fr": "{origin} : {field} = {value} : {reason}",
        "en": "{origin}: {field} = {value}: {reason}",
    },
    "validation.other": {"fr": "{reason}", "en": "{reason}"},
    "validation.missing": {"fr": "champ obligatoire", "en": "Field required"},
    "validation.int_parsing": {
        "fr": "un nombre entier est attendu",
        "en": "Input should be a valid integer, unable to parse string as an integer",
    },
    "validation.int_type": {
        "fr": "un nombre entier est attendu",
        "en": "Input should be a valid integer",
    },
    "validation.int_from_float": {
        "fr": "un nombre entier est attendu, sans partie décimale",
        "en": "Input should be a valid integer, got a number with a fractional part",
    },
    "validation.float_parsing": {
        "fr": "un nombre est attendu",
        "en": "Input should be a valid number, unable to parse string as a number",
    },
    "validation.float_type": {
        "fr": "un nombre est attendu",
        "en": "Input should be a valid number",
    },
    "validation.bool_parsing": {
        "fr": "oui ou non est attendu (true/false)",
        "en": "Input should be a valid boolean, unable to interpret input",
    },
    "validation.bool_type": {
        "fr": "oui ou non est attendu (true/false)",
        "en": "Input should be a valid boolean",
    },
    "validation.string_type": {
        "fr": "un texte est attendu",
        "en": "Input should be a valid string",
    },
    "validation.string_too_short": {
        "fr": ("au moins {n} caractère est attendu", "au moins {n} caractères sont attendus"),
        "en": (
            "String should have at least {n} character",
            "String should have at least {n} characters",
        ),
    },  # fmt: skip
    "validation.string_too_long": {
        "fr": ("au plus {n} caractère est admis", "au plus {n} caractères sont admis"),
        "en": (
            "String should have at most {n} character",
            "String should have at most {n} characters",
        ),
    },  # fmt: skip
    "validation.string_pattern_mismatch": {
        "fr": "le texte doit suivre le motif '{pattern}'",
        "en": "String should match pattern '{pattern}'",
    },
    "validation.greater_than": {
        "fr": "la valeur doit être supérieure à {gt}",
        "en": "Input should be greater than {gt}",
    },
    "validation.greater_than_equal": {
        "fr": "la valeur doit être supérieure ou égale à {ge}",
        "en": "Input should be greater than or equal to {ge}",
    },
    "validation.less_than": {
        "fr": "la valeur doit être inférieure à {lt}",
        "en": "Input should be less than {lt}",
    },
    "validation.less_than_equal": {
        "fr": "la valeur doit être inférieure ou égale à {le}",
        "en": "Input should be less than or equal to {le}",
    },
    "validation.literal_error": {
        "fr": "valeurs admises : {choices}",
        "en": "Input should be {expected}",
    },
    "validation.enum": {"fr": "valeurs admises : {choices}", "en": "Input should be {expected}"},
    "validation.date_parsing": {
        "fr": "une date AAAA-MM-JJ est attendue",
        "en": "Input should be a valid date in the format YYYY-MM-DD, {error}",
    },
    "validation.date_from_datetime_parsing": {
        "fr": "une date AAAA-MM-JJ est attendue",
        "en": "Input should be a valid date or datetime, {error}",
    },
    "validation.date_type": {"fr": "une date est attendue", "en": "Input should be a valid date"},
    "validation.datetime_parsing": {
        "fr": "une date et heure AAAA-MM-JJTHH:MM est attendue",
        "en": "Input should be a valid datetime, {error}",
    },
    "validation.datetime_from_date_parsing": {
        "fr": "une date et heure AAAA-MM-JJTHH:MM est attendue",
        "en": "Input should be a valid datetime or date, {error}",
    },
    "validation.datetime_type": {
        "fr": "une date et heure est attendue",
        "en": "Input should be a valid datetime",
    },
    "validation.list_type": {"fr": "une liste est attendue", "en": "Input should be a valid list"},
    "validation.dict_type": {
        "fr": "une table de clés est attendue",
        "en": "Input should be a valid dictionary",
    },
    "validation.model_type": {
        "fr": "une table de clés est attendue",
        "en": "Input should be a valid dictionary or instance of {class_name}",
    },
    "validation.model_attributes_type": {
        "fr": "une table de clés est attendue",
        "en": "Input should be a valid dictionary or object to extract fields from",
    },
    "validation.too_short": {
        "fr": ("au moins {n} élément est attendu", "au moins {n} éléments sont attendus"),
        "en": ("List should have at least {n} item", "List should have at least {n} items"),
    },
    "validation.too_long": {
        "fr": ("au plus {n} élément est admis", "au plus {n} éléments sont admis"),
        "en": ("List should have at most {n} item", "List should have at most {n} items"),
    },
    "value.nul": {
        "fr": "le caractère NUL (\\0) n'est pas admis dans un texte",
        "en": "the NUL character (\\0) is not allowed in a text",
    },
    "value.insee": {
        "fr": "un code INSEE de 5 caractères est attendu, comme 92012 ou 2A004",
        "en": "expected a 5-character INSEE code such as 92012 or 2A004",
    },
    "value.code": {
        "fr": "1 à 40 lettres, chiffres, '.', '_' ou '-' sont attendus, en commençant par une "
        "lettre ou un chiffre",
        "en": "expected 1-40 letters, digits, '.', '_' or '-', starting with a letter or digit",
    },
    "value.rtsp_url": {
        "fr": "une URL rtsp:// ou rtsps:// avec un hôte est attendue",
        "en": "expected an rtsp:// or rtsps:// URL with a host",
    },
    "value.port_range": {
        "fr": "port hors de la plage 1-65535",
        "en": "port out of range 1-65535",
    },
    "value.onvif_port": {
        "fr": "port ONVIF {port!r} hors de la plage 1-65535",
        "en": "ONVIF port {port!r} out of range 1-65535",
    },
    "value.departement": {
        "fr": "le département {departement!r} ne correspond pas au code INSEE {insee} "
        "({expected} attendu)",
        "en": "departement {departement!r} does not match INSEE code {insee} (expected {expected})",
    },
    "value.codec": {"fr": "valeurs admises : {codecs}", "en": "expected one of {codecs}"},
    "value.contact_owner": {
        "fr": "un contact relève d'une commune ou d'un mainteneur, pas des deux",
        "en": "a contact belongs to a municipality or a maintainer, not both",
    },
    "value.quiet_hours": {
        "fr": "donnez les deux bornes des heures calmes",
        "en": "give both ends of the quiet hours",
    },
    "value.email": {
        "fr": "{address!r} n'est pas une adresse e-mail",
        "en": "{address!r} is not an e-mail address",
    },
    "value.webhook": {
        "fr": "l'adresse d'un webhook est une URL http:// ou https://",
        "en": "a webhook address is an http:// or https:// URL",
    },
    "value.mqtt_topic": {
        "fr": "un préfixe de sujet MQTT ne peut pas contenir les jokers # ou +",
        "en": "an MQTT topic prefix cannot hold the wildcards # or +",
    },
    "value.tile_url": {
        "fr": "un modèle d'URL de tuiles est http(s)://hôte/…{{z}}/{{x}}/{{y}}…, sans espace, "
        "guillemet, virgule ni point-virgule",
        "en": "a tile URL template is http(s)://host/…{{z}}/{{x}}/{{y}}…, without space, quote, "
        "comma or semicolon",
    },
    "value.window_order": {
        "fr": "la fenêtre doit finir après son début",
        "en": "the window must end after it starts",
    },
    # configuration, database, encryption key
    "validation.time_zone": {
        "fr": "fuseau horaire inconnu {zone!r}",
        "en": "unknown time zone {zone!r}",
    },
    "config.not_a_section": {
        "fr": "{path} : impossible de remplacer {key!r}, qui n'est pas une section",
        "en": "{path}: cannot override {key!r}, which is not a section",
    },
    "config.unreadable": {
        "fr": "{path} : fichier de configuration illisible : {reason}",
        "en": "{path}: cannot read configuration file: {reason}",
    },
    "config.not_toml": {
        "fr": "{path} : TOML invalide : {reason}",
        "en": "{path}: not valid TOML: {reason}",
    },
    "database.not_a_url": {
        "fr": "l'URL de base de données {url!r} n'est pas une URL ; attendu : {supported}",
        "en": "database URL {url!r} is not a URL; expected {supported}",
    },
    "database.unsupported": {
        "fr": "URL de base de données {url!r} : pilote de base de données non pris en charge "
        "{driver!r} ; pris en charge : {supported}",
        "en": "database URL {url!r}: unsupported database driver {driver!r}; supported: "
        "{supported}",
    },
    "database.supported": {
        "fr": "sqlite:///CHEMIN ou postgresql+psycopg://UTILISATEUR@HÔTE:PORT/NOM",
        "en": "sqlite:///PATH or postgresql+psycopg://USER@HOST:PORT/NAME",
    },
    "database.unavailable": {
        "fr": "base de données {where} indisponible ({kind}) : {detail}",
        "en": "database {where} unavailable ({kind}): {detail}",
    },
    "database.back": {
        "fr": "base de données {where} de nouveau disponible après {seconds} s",
        "en": "database {where} back after {seconds} s",
    },
    "database.kind.disk_full": {"fr": "disque plein", "en": "disk full"},
    "database.kind.disk_error": {"fr": "erreur du disque", "en": "disk error"},
    "database.kind.server_gone": {"fr": "serveur injoignable", "en": "server unreachable"},
    "database.problem": {
        "fr": "base de données {url} : {reason}",
        "en": "database {url}: {reason}",
    },
    "events.last_event_id": {
        "fr": "Last-Event-ID doit être le numéro d'un événement reçu (entier positif)",
        "en": "Last-Event-ID must be the number of an event received (a positive integer)",
    },
    "database.missing": {
        "fr": "aucune base de données à {where} ; lancez `vp-monitor db upgrade` pour la créer",
        "en": "no database at {where}; run `vp-monitor db upgrade` to create it",
    },
    "database.empty": {
        "fr": "base de données vide (aucune table vp-monitor) à {where} ; lancez "
        "`vp-monitor db upgrade` pour la créer",
        "en": "empty database (no vp-monitor tables) at {where}; run `vp-monitor db upgrade` "
        "to create it",
    },
    "database.refused": {
        "fr": "la base de données a refusé la modification : {reason}",
        "en": "the database refused the change: {reason}",
    },
    "key.none": {
        "fr": "aucune clé de chiffrement pour les mots de passe des caméras : définissez "
        "VP_SECRET_KEY, ou secret_key_file dans la configuration (seule une base SQLite ou un "
        "fichier de configuration donne un fichier de clé par défaut)",
        "en": "no encryption key for camera passwords: set VP_SECRET_KEY, or secret_key_file "
        "in the configuration (only a SQLite database or a configuration file gives a "
        "default key file)",
    },
    "key.file_missing": {
        "fr": "aucun fichier de clé à {path} : les mots de passe enregistrés ne peuvent pas être "
        "déchiffrés sans la clé qui les a chiffrés (restaurez ce fichier, ou définissez "
        "VP_SECRET_KEY)",
        "en": "no key file at {path}: the stored passwords cannot be decrypted without the "
        "key they were encrypted with (restore that file, or set VP_SECRET_KEY)",
    },
    "key.invalid": {
        "fr": "{origin} : clé invalide (32 octets en base64 url-safe attendus, comme ceux que "
        "donne `vp-monitor db new-key`)",
        "en": "{origin}: not a valid key (expected 32 url-safe base64-encoded bytes, "
        "as made by `vp-monitor db new-key`)",
    },
    "key.wrong": {
        "fr": "un mot de passe enregistré ne peut pas être déchiffré avec la clé de {origin} : "
        "les mots de passe ont été chiffrés avec une autre clé (restaurez ce fichier de clé, "
        "ou donnez cette clé dans VP_SECRET_KEY)",
        "en": "a stored password cannot be decrypted with the key from {origin}: the "
        "passwords were encrypted with another key (restore that key file, or set "
        "VP_SECRET_KEY to that key)",
    },
    # import files and rows
    "import.row": {"fr": "ligne {line} : {reason}", "en": "line {line}: {reason}"},
    "import.row_column": {
        "fr": "ligne {line}, colonne {column} : {reason}",
        "en": "line {line}, column {column}: {reason}",
    },
    "import.duplicate_code": {
        "fr": "code d'équipement en double {code!r} (ligne {line})",
        "en": "duplicate asset code {code!r} (line {line})",
    },
    "import.address_needed": {
        "fr": "donnez une adresse ONVIF ou une URL RTSP",
        "en": "give an ONVIF host or an RTSP URL",
    },
    "import.too_large": {
        "fr": "{path} : plus de {mib} Mio",
        "en": "{path}: larger than {mib} MiB",
    },
    "import.unreadable": {
        "fr": "{path} : fichier illisible : {reason}",
        "en": "{path}: cannot read file: {reason}",
    },
    "import.not_json": {
        "fr": "{path} : JSON invalide : {reason}",
        "en": "{path}: not valid JSON: {reason}",
    },
    "import.not_a_list": {
        "fr": "{path} : une liste JSON d'objets caméra est attendue",
        "en": "{path}: expected a JSON list of camera objects",
    },
    "import.no_header": {
        "fr": "{path} : aucune ligne d'en-tête avec une colonne 'code'",
        "en": "{path}: no header line with a 'code' column",
    },
    "import.unknown_columns": {
        "fr": "{path} : colonne(s) inconnue(s) {columns} ; attendu : certaines de {expected}",
        "en": "{path}: unknown column(s) {columns}; expected some of {expected}",
    },
    "import.too_many_values": {
        "fr": "{path} : ligne {line} : plus de valeurs que de colonnes",
        "en": "{path}: line {line}: more values than columns",
    },
    "import.bad_csv": {
        "fr": "{path} : ligne {line} : {reason}",
        "en": "{path}: line {line}: {reason}",
    },
    "import.file_problem": {"fr": "{path} : {problem}", "en": "{path}: {problem}"},
    # warnings
    "warning.password_in_url": {
        "fr": "le mot de passe de {option} est visible des autres utilisateurs de cette machine "
        "(ps, historique du shell) ; {instead}",
        "en": "the password in {option} is visible to other users of this machine "
        "(ps, shell history); {instead}",
    },
    "warning.instead_stdin": {
        "fr": "donnez l'URL sans lui et le mot de passe avec --user et --password-stdin",
        "en": "give the URL without it and the password with --user and --password-stdin",
    },
    "warning.instead_env": {
        "fr": "mettez plutôt l'URL dans VP_DATABASE_URL ou dans le fichier de configuration",
        "en": "put the URL in VP_DATABASE_URL or the configuration file instead",
    },
    "password.stdin_empty": {
        "fr": "--password-stdin donné mais l'entrée standard est vide",
        "en": "--password-stdin given but standard input is empty",
    },
    "import.unknown_municipality": {
        "fr": "commune inconnue {insee!r}",
        "en": "unknown municipality {insee!r}",
    },
    "import.bad_utf16": {
        "fr": "{path} : UTF-16 illisible à l'octet {byte} (le fichier semble être en UTF-16)",
        "en": "{path}: unreadable UTF-16 at byte {byte} (the file looks like UTF-16)",
    },
    "import.bad_encoding": {
        "fr": "{path} : encodage illisible à l'octet {byte} (UTF-8 ou Windows-1252 attendu)",
        "en": "{path}: unreadable encoding at byte {byte} (expected UTF-8 or Windows-1252)",
    },
    "probe.onvif_failed": {
        "fr": "caméra {code!r} : ONVIF {condition} : {reason}",
        "en": "camera {code!r}: ONVIF {condition}: {reason}",
    },
    "probe.rtsp_failed": {
        "fr": "caméra {code!r} : RTSP {condition} : {reason} ; --no-probe l'enregistre sans "
        "interroger la caméra",
        "en": "camera {code!r}: RTSP {condition}: {reason}; --no-probe registers it without "
        "asking the camera",
    },
    "probe.rtsp_auth": {
        "fr": "caméra {code!r} : RTSP {condition} : {reason} (nom d'utilisateur ou mot de passe "
        "erroné ?) ; --no-probe l'enregistre sans interroger la caméra",
        "en": "camera {code!r}: RTSP {condition}: {reason} (wrong user name or password?); "
        "--no-probe registers it without asking the camera",
    },
    "probe.no_picture": {
        "fr": "caméra {code!r} : le flux n'a donné aucune image ; --no-probe l'enregistre sans "
        "interroger la caméra",
        "en": "camera {code!r}: the stream gave no picture; --no-probe registers it without "
        "asking the camera",
    },
    "incident.unknown_id": {
        "fr": "incident {id!r} : aucun incident n'a cet id",
        "en": "incident {id!r}: no incident has this id",
    },
    "incident.ambiguous_id": {
        "fr": "incident {id!r} : correspond à plusieurs incidents",
        "en": "incident {id!r}: matches several incidents",
    },
    # accounts, tokens, logins
    "account.added": {
        "fr": "compte {name} ({role}) ajouté",
        "en": "account {name} ({role}) added",
    },
    "account.updated": {"fr": "compte {name} modifié", "en": "account {name} updated"},
    "account.removed": {"fr": "compte {name} supprimé", "en": "account {name} removed"},
    "account.password_set": {
        "fr": "mot de passe du compte {name} changé ; ses sessions web sont fermées",
        "en": "password of account {name} changed; its web sessions are closed",
    },
    "account.none": {"fr": "Aucun compte.", "en": "No account."},
    "account.unknown": {"fr": "compte inconnu {name!r}", "en": "unknown account {name!r}"},
    "account.exists": {
        "fr": "le compte {name!r} existe déjà (les noms ne distinguent pas les majuscules)",
        "en": "account {name!r} already exists (names ignore case)",
    },
    "account.last_admin": {
        "fr": "{name!r} est le dernier compte administrateur ; créez-en un autre d'abord",
        "en": "{name!r} is the last administrator account; create another one first",
    },
    "password.too_short": {
        "fr": "le mot de passe doit compter au moins {n} caractères",
        "en": "the password must be at least {n} characters long",
    },
    "password.too_long": {
        "fr": "le mot de passe doit compter au plus {n} caractères",
        "en": "the password must be at most {n} characters long",
    },
    "password.stdin_required": {
        "fr": "donnez le mot de passe sur l'entrée standard avec --password-stdin",
        "en": "pipe the password on standard input with --password-stdin",
    },
    "token.created": {
        "fr": "jeton {name!r} créé pour {user} ; il n'est affiché qu'une fois, ci-dessous :",
        "en": "token {name!r} created for {user}; it is shown once only, below:",
    },
    "token.revoked": {
        "fr": "jeton {name!r} de {user} révoqué",
        "en": "token {name!r} of {user} revoked",
    },
    "token.none": {"fr": "Aucun jeton.", "en": "No token."},
    "token.unknown": {
        "fr": "{user} n'a pas de jeton nommé {name!r}",
        "en": "{user} has no token named {name!r}",
    },
    "token.exists": {
        "fr": "{user} a déjà un jeton nommé {name!r} ; choisissez un autre nom",
        "en": "{user} already has a token named {name!r}; choose another name",
    },
    "token.expires_past": {
        "fr": "date d'expiration {day} passée : donnez une date à venir",
        "en": "expiry date {day} has passed: give a date to come",
    },
    "login.refused": {
        "fr": "nom d'utilisateur ou mot de passe incorrect",
        "en": "wrong user name or password",
    },
    "login.slow_down": {
        "fr": "trop de tentatives de connexion : réessayez dans {seconds} s",
        "en": "too many login attempts: try again in {seconds} s",
    },
    "login.locked": {
        "fr": "trop d'échecs de connexion : connexion bloquée pendant {minutes} min",
        "en": "too many failed logins: logins locked for {minutes} min",
    },
    "session.required": {
        "fr": "connexion requise",
        "en": "login required",
    },
    "session.csrf": {
        "fr": "jeton CSRF absent ou incorrect (en-tête X-CSRF-Token)",
        "en": "missing or wrong CSRF token (X-CSRF-Token header)",
    },
    "value.account_name": {
        "fr": "1 à 64 lettres, chiffres, '.', '_', '@' ou '-' sont attendus, en commençant par "
        "une lettre ou un chiffre",
        "en": "expected 1-64 letters, digits, '.', '_', '@' or '-', starting with a letter or "
        "digit",
    },
    "value.municipality_needed": {
        "fr": "un compte de commune a besoin d'au moins une commune (--municipality INSEE)",
        "en": "a municipality account needs at least one municipality (--municipality INSEE)",
    },
    "value.municipalities_not_for": {
        "fr": "seul un compte de commune est rattaché à des communes (rôle {role})",
        "en": "only a municipality account is tied to municipalities (role {role})",
    },
    "value.maintainer_needed": {
        "fr": "un compte de mainteneur a besoin de sa société (--maintainer SOCIÉTÉ)",
        "en": "a maintainer account needs its company (--maintainer COMPANY)",
    },
    "value.maintainer_not_for": {
        "fr": "seul un compte de mainteneur est rattaché à un mainteneur (rôle {role})",
        "en": "only a maintainer account is tied to a maintainer (role {role})",
    },
    "demo.accounts": {
        "fr": "comptes de démonstration (interface web) :",
        "en": "demo accounts (web interface):",
    },
    "demo.account": {
        "fr": "  {role:<15} {name:<18} mot de passe : {password}",
        "en": "  {role:<15} {name:<18} password: {password}",
    },
    "maintainer.unknown": {
        "fr": "mainteneur inconnu {name!r}",
        "en": "unknown maintainer {name!r}",
    },
    "node.starting": {"fr": "nœud {id} (en démarrage)", "en": "node {id} (starting)"},
    "node.running": {
        "fr": "nœud {id} sur l'hôte {host}, pid {pid}, depuis {since}",
        "en": "node {id} on host {host}, pid {pid}, since {since}",
    },
    "node.already_running": {
        "fr": "un autre nœud fonctionne déjà sur {database} : {who}. Une base SQLite sert un "
        "seul nœud ; arrêtez d'abord celui-ci, ou partagez une base PostgreSQL entre les nœuds",
        "en": "another node already runs on {database}: {who}. A SQLite database serves "
        "one node; stop that one first, or share a PostgreSQL database between nodes",
    },  # web service: answers to requests that do not fit
    "query": {"fr": "paramètres de l'URL", "en": "query string"},
    "body": {"fr": "corps de la requête", "en": "request body"},
    "web.repeated_parameter": {
        "fr": "le paramètre {name} est donné plusieurs fois : il n'en prend qu'un",
        "en": "parameter {name} is given more than once: it takes one value",
    },
    "web.json_expected": {
        "fr": "le corps doit être du JSON (Content-Type: application/json), pas {content_type}",
        "en": "the body must be JSON (Content-Type: application/json), not {content_type}",
    },
    "web.media_type_expected": {
        "fr": "le corps doit être de type {expected} (Content-Type), pas {content_type}",
        "en": "the body must be of type {expected} (Content-Type), not {content_type}",
    },
    "web.not_found": {
        "fr": "introuvable : rien de tel dans votre périmètre (vérifiez l'identifiant)",
        "en": "not found: nothing of the kind within your scope (check the identifier)",
    },
    "web.import_too_long": {
        "fr": "l'import a dépassé {seconds} s : rien n'a été écrit ; envoyez moins de lignes à "
        "la fois, ou importez le fichier avec `vp-monitor camera import`",
        "en": "the import took more than {seconds} s: nothing was written; send fewer rows at "
        "a time, or import the file with `vp-monitor camera import`",
    },
    "web.import_refused": {
        "fr": (
            "{n} ligne refusée : rien n'a été écrit ; corrigez-la (problems) et renvoyez le "
            "fichier",
            "{n} lignes refusées : rien n'a été écrit ; corrigez-les (problems) et renvoyez le "
            "fichier",
        ),
        "en": (
            "{n} row refused: nothing was written; fix it (problems) and send the file again",
            "{n} rows refused: nothing was written; fix them (problems) and send the file again",
        ),
    },
    "web.body_too_large": {
        "fr": "corps de requête trop gros : {limit} octets au plus",
        "en": "request body too large: {limit} bytes at most",
    },
    "web.no_parameters": {
        "fr": "cette adresse ne prend pas de paramètres d'URL",
        "en": "this address takes no query parameters",
    },
    "serve.web": {"fr": "service web sur {url}", "en": "web service on {url}"},
    "value.not_boolean": {
        "fr": "un nombre est attendu, pas vrai/faux",
        "en": "a number is expected, not true/false",
    },
    "web.not_utf8": {"fr": "le corps n'est pas en UTF-8", "en": "the body is not UTF-8"},
    "web.json_too_deep": {
        "fr": "JSON trop imbriqué : {limit} niveaux au plus",
        "en": "JSON nested too deeply: {limit} levels at most",
    },
    "web.malformed_json": {"fr": "JSON mal formé : {reason}", "en": "malformed JSON: {reason}"},
    "web.json_object_expected": {
        "fr": "le corps doit être un objet JSON ({{...}})",
        "en": "the body must be a JSON object ({{...}})",
    },
    "web.unauthenticated": {
        "fr": "connexion requise : ouvrez une session ou envoyez un jeton (Authorization: Bearer)",
        "en": "sign-in required: log in or send a token (Authorization: Bearer)",
    },
    "web.forbidden": {
        "fr": "votre rôle ({role}) ne permet pas cette action",
        "en": "your role ({role}) does not allow this action",
    },
    "web.no_route": {"fr": "adresse inconnue : {path}", "en": "unknown address: {path}"},
    "web.method_not_allowed": {
        "fr": "méthode {method} non acceptée ici (acceptées : {allowed})",
        "en": "method {method} not accepted here (accepted: {allowed})",
    },
    "web.timeout": {
        "fr": "la requête a dépassé {seconds} s : réessayez",
        "en": "the request took more than {seconds} s: try again",
    },
    "web.internal": {
        "fr": "erreur interne (référence {ref}) : elle est consignée dans le journal du serveur",
        "en": "internal error (reference {ref}): it is recorded in the server log",
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
    "reference_provisional": {
        "fr": "jugée sur une référence provisoire (1 = oui)",
        "en": "judged against a provisional reference (1 = yes)",
    },
    "covered_fraction": {"fr": "part masquée", "en": "covered share"},
    "match_candidates": {"fr": "points candidats", "en": "match candidates"},
    "match_inliers": {"fr": "points appariés", "en": "matched points"},
    "shift_x_pct": {"fr": "décalage horizontal %", "en": "horizontal shift %"},
    "shift_y_pct": {"fr": "décalage vertical %", "en": "vertical shift %"},
    "rotation_deg": {"fr": "rotation (°)", "en": "rotation (°)"},
    "displacement_pct": {"fr": "déplacement de la vue %", "en": "view displacement %"},
    "matches_displacement_pct": {
        "fr": "déplacement des points appariés %",
        "en": "matched points' displacement %",
    },
    "homography": {
        "fr": "changement de perspective (1 = oui)",
        "en": "perspective change (1 = yes)",
    },
    "moved_displacement": {"fr": "vue déplacée (1 = oui)", "en": "view displaced (1 = yes)"},
    "moved_no_match": {"fr": "vue méconnaissable (1 = oui)", "en": "view not recognised (1 = yes)"},
    "in_place_share": {"fr": "part de la scène à sa place", "en": "share of the scene in place"},
    "aligned_in_place_share": {
        "fr": "part de la scène à sa place une fois la référence recalée",
        "en": "share of the scene in place once the reference is realigned",
    },
    "clock_offset_s": {"fr": "décalage d'horloge (s)", "en": "clock offset (s)"},
    "without_reference": {
        "fr": "jugée sans image de référence (1 = oui : hors préréglage ou position inconnue)",
        "en": "judged without a reference (1 = yes: off its presets or position unknown)",
    },
    "ptz_pan": {"fr": "PTZ : panoramique", "en": "PTZ pan"},
    "ptz_tilt": {"fr": "PTZ : inclinaison", "en": "PTZ tilt"},
    "ptz_zoom": {"fr": "PTZ : zoom", "en": "PTZ zoom"},
    "ptz_at_preset": {"fr": "PTZ sur un préréglage (1 = oui)", "en": "PTZ at a preset (1 = yes)"},
    "ptz_at_home": {"fr": "PTZ en position de repos (1 = oui)", "en": "PTZ at home (1 = yes)"},
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
        if column in ("state", "previous"):
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


class Message:
    """Words for a person, not yet in a language: a catalogue key and its values.

    Values that are themselves messages are rendered in the same language; a list of them
    gives one line each. `str()` is the English text, for logs and code that reads it.
    """

    def __init__(self, key: str, count: int | None = None, **values: Any) -> None:
        self.key, self.count, self.values = key, count, values

    def render(self, texts: Texts) -> str:
        """The message in the language of `texts`."""
        values = {name: _rendered(value, texts) for name, value in self.values.items()}
        return texts(self.key, self.count, **values)

    def __str__(self) -> str:
        return self.render(Texts("en"))

    def __repr__(self) -> str:
        return f"Message({self.key!r}, {self.values!r})"


def _rendered(value: Any, texts: Texts) -> Any:
    if isinstance(value, Message | MessageError):
        return value.render(texts)
    if isinstance(value, list):
        return "\n".join(str(_rendered(item, texts)) for item in value)
    return value


class MessageError(Exception):
    """An error a person reads: a catalogue key and its values (or a Message).

    The command line renders it in the configured language; `str()` is the English text.
    """

    def __init__(self, key: str | Message, **values: Any) -> None:
        self.message = key if isinstance(key, Message) else Message(key, **values)
        super().__init__(self.message.key)

    def render(self, texts: Texts) -> str:
        """The error in the language of `texts`."""
        return self.message.render(texts)

    def __str__(self) -> str:
        return str(self.message)

    def __reduce__(self):  # copied or pickled with its values, not only its key
        return (self.__class__, (self.message,))


class InvalidValue(MessageError, ValueError):
    """A validator's refusal of a value (pydantic reports it as a value error)."""
