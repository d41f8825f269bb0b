"""A daily report for people: subject, plain text and HTML, French by default, English available.

Used by the e-mail channel and by `vp-monitor report`; the webhook and MQTT channels send the
report's content as JSON.
"""

from __future__ import annotations

import html
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from vp_monitor.alerts import labels
from vp_monitor.alerts.labels import Language
from vp_monitor.texts import Texts

TEXTS: dict[Language, dict[str, str]] = {
    "fr": {
        "title": "Rapport quotidien",
        "all": "tout le parc",
        "day": "Journée du {day} ({zone})",
        "partial": "en cours, mesurée jusqu'au {until}",
        "cameras": "Caméras",
        "availability": "Disponibilité",
        "not_observed": "non mesurée",
        "down_time": "indisponibilité",
        "degraded_time": "dont dégradée (image utilisable)",
        "maintenance": "maintenance exclue",
        "incidents": "Incidents",
        "lowest": "Caméras les moins disponibles",
        "list": "Incidents de la journée",
        "none": "Aucun incident.",
        "opened_at": "ouvert le",
        "resolved_after": "rétabli après",
        "ongoing": "en cours",
        "acknowledged_by": "pris en compte par",
        "more": "… et {count} autres",
        "footer": "Message automatique de vp-monitor. Ne pas répondre.",
        "date": "%d/%m/%Y",
        "datetime": "%d/%m %H:%M",
        "decimal": ",",
        "colon": " : ",
        "separator": " ; ",
    },
    "en": {
        "title": "Daily report",
        "all": "whole fleet",
        "day": "Day of {day} ({zone})",
        "partial": "in progress, measured until {until}",
        "cameras": "Cameras",
        "availability": "Availability",
        "not_observed": "not measured",
        "down_time": "down time",
        "degraded_time": "of which degraded (picture usable)",
        "maintenance": "maintenance left out",
        "incidents": "Incidents",
        "lowest": "Least available cameras",
        "list": "Incidents of the day",
        "none": "No incident.",
        "opened_at": "opened",
        "resolved_after": "resolved after",
        "ongoing": "ongoing",
        "acknowledged_by": "acknowledged by",
        "more": "… and {count} more",
        "footer": "Automatic message from vp-monitor. Do not reply.",
        "date": "%Y-%m-%d",
        "datetime": "%m-%d %H:%M",
        "decimal": ".",
        "colon": ": ",
        "separator": "; ",
    },
}


class ReportText:
    """The words of one report in one language, dates in the report's time zone."""

    def __init__(self, content: dict[str, Any], language: Language) -> None:
        self.content, self.language, self.text = content, language, TEXTS[language]
        self.zone = ZoneInfo(content["period"]["timezone"])
        self.texts = Texts(language, content["period"]["timezone"])  # counts with plurals

    def percent(self, ratio: float | None) -> str:
        if ratio is None:
            return self.text["not_observed"]
        return f"{ratio * 100:.2f}".replace(".", self.text["decimal"]) + " %"

    def duration(self, seconds: float) -> str:
        return labels.format_duration(seconds, self.language)

    def moment(self, iso: str) -> str:
        return datetime.fromisoformat(iso).astimezone(self.zone).strftime(self.text["datetime"])

    def subject(self) -> str:
        """E.g. "[vp-monitor] Rapport quotidien du 29/11/2026 — Versailles : 99,21 %, 3 incidents"
        (the number of incidents opened that day)."""
        content, text = self.content, self.text
        day = date.fromisoformat(content["period"]["day"]).strftime(text["date"])
        scope = content["scope"]["name"] or text["all"]
        ratio = self.percent(content["availability"]["ratio"])
        count = content["incidents"]["opened"]
        of = "du" if self.language == "fr" else "of"
        title = f"[vp-monitor] {text['title']} {of} {day} — {scope}"
        return f"{title}{text['colon']}{ratio}, {self.texts('count.incident', count=count)}"

    def summary(self) -> list[str]:
        """The figures, one line each."""
        content, text = self.content, self.text
        states = content["cameras"]["states"]
        parts = ", ".join(
            self.texts(f"count.state.{state}", count=count)
            for state, count in states.items()
            if count
        )
        figures = content["availability"]
        extra = f"{text['down_time']} {self.duration(figures['down_s'])}"
        if figures.get("degraded_s"):  # absent from reports computed by older versions
            extra += f"{text['separator']}{text['degraded_time']} "
            extra += self.duration(figures["degraded_s"])
        if figures["maintenance_s"]:
            extra += f"{text['separator']}{text['maintenance']} "
            extra += self.duration(figures["maintenance_s"])
        incidents = content["incidents"]
        counts = ", ".join(
            self.texts(f"count.{key}", count=incidents[key])
            for key in ("opened", "resolved", "still_open")
        )
        period = content["period"]
        day = date.fromisoformat(period["day"]).strftime(text["date"])
        heading = text["day"].format(day=day, zone=period["timezone"])
        until = period.get("measured_until", period["end"])
        if datetime.fromisoformat(until) < datetime.fromisoformat(period["end"]):
            heading += f" — {text['partial'].format(until=self.moment(until))}"
        return [
            heading,
            f"{text['cameras']}{text['colon']}{content['cameras']['total']} ({parts or '—'})",
            f"{text['availability']}{text['colon']}{self.percent(figures['ratio'])} ({extra})",
            f"{text['incidents']}{text['colon']}{counts}",
        ]

    def lowest(self) -> list[str]:
        text = self.text
        return [
            f"{row['code']} « {row['name']} » ({row['site']}){text['colon']}"
            f"{self.percent(row['ratio'])}, {text['down_time']} {self.duration(row['down_s'])}"
            for row in self.content["availability"]["lowest"]
        ]

    def incidents(self) -> list[str]:
        text, lines = self.text, []
        for row in self.content["incidents"]["items"]:
            severity = labels.label(labels.SEVERITIES, row["severity"], self.language)
            conditions = ", ".join(
                labels.condition_label(name, self.language) for name in row["conditions"]
            )
            subject = row["camera"] or row["site"] or "vp-monitor"
            if row["camera_name"]:
                subject += f" « {row['camera_name']} »"
            if row["camera"] and row["site"]:
                subject += f" ({row['site']})"
            line = f"[{severity}] {subject}{text['colon']}{conditions} — {text['opened_at']} "
            line += self.moment(row["opened_at"])
            if row["duration_s"] is not None:
                line += f", {text['resolved_after']} {self.duration(row['duration_s'])}"
            else:
                line += f", {text['ongoing']}"
            if row["acknowledged_by"]:
                line += f", {text['acknowledged_by']} {row['acknowledged_by']}"
            lines.append(line)
        if self.content["incidents"]["more"]:
            lines.append(text["more"].format(count=self.content["incidents"]["more"]))
        return lines

    def sections(self) -> list[tuple[str, list[str]]]:
        """Titled lists after the summary; empty ones left out, except the incident list."""
        sections = []
        if self.content["availability"]["lowest"]:
            sections.append((self.text["lowest"], self.lowest()))
        sections.append((self.text["list"], self.incidents() or [self.text["none"]]))
        return sections


def plain_report(content: dict[str, Any], language: Language) -> str:
    """The report as plain text."""
    words = ReportText(content, language)
    lines = [words.subject(), "", *words.summary(), ""]
    for title, items in words.sections():
        lines += [title.upper(), *[f"- {item}" for item in items], ""]
    lines += ["--", words.text["footer"]]
    return "\n".join(lines) + "\n"


def html_report(content: dict[str, Any], language: Language) -> str:
    """The report as HTML, every value escaped."""
    words, esc = ReportText(content, language), html.escape
    parts = [
        f'<html lang="{language}"><body style="font-family:sans-serif">',
        f"<h2>{esc(words.subject())}</h2>",
        "<p>" + "<br>".join(esc(line) for line in words.summary()) + "</p>",
    ]
    for title, items in words.sections():
        parts.append(f"<h3>{esc(title)}</h3><ul>")
        parts += [f"<li>{esc(item)}</li>" for item in items]
        parts.append("</ul>")
    parts.append(f"<p><small>{esc(words.text['footer'])}</small></p></body></html>")
    return "\n".join(parts)


def report_subject(content: dict[str, Any], language: Language) -> str:
    """The e-mail subject of a report."""
    return ReportText(content, language).subject()
