"""Every setting declared once: name, type, default, description. Stored with QSettings
(nothing secret: the API key lives in the OS keyring)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QSettings

SETTINGS_VERSION = 1


@dataclass(frozen=True, slots=True)
class Setting:
    name: str
    type: type
    default: Any
    description: str


SETTINGS = {s.name: s for s in (
    Setting("service/base_url", str, "https://apiin.one", "Address of the API in One service."),
    Setting("service/sandbox", bool, False, "Use the built-in sandbox instead of the service."),
    Setting("service/callback_url", str, "", "Optional callback URL passed with each request."),
    Setting("render/jobs", int, 4, "How many requests run at once."),
    Setting("render/gap_ms", int, 300, "Silence between lines when playing or exporting."),
    Setting("render/mode", str, "lines", "lines: one request per line; take: lines sharing "
            "settings are sent together."),
    Setting("render/budget", float, 50.0, "Ask before a render that costs more credits than this."),
    Setting("pricing/rounding", str, "", "How the service was seen to round a request's cost "
            "(learnt from the balance before and after a render): '', 'exact' or 'per request'."),
    Setting("player/volume", int, 80, "Playback volume, 0-100."),
    Setting("export/folder", str, "", "Where the last export went."),
    Setting("export/what", str, "mix,srt,manifest", "What the export dialog writes."),
    Setting("export/format", str, "wav", "Audio format of exports: wav, mp3 or flac."),
    Setting("export/name", str, "{index:03}_{speaker}_{id}", "File names of per-line exports."),
    Setting("files/recent", list, [], "Recently opened scenes."),
    Setting("ui/welcomed", bool, False, "The first-run welcome was shown (it shows once)."),
    Setting("window/columns", str, "", "The scene table's column widths (JSON, by header)."),
    Setting("voices/own", str, "[]", "The writer's own voices (clones, Voice Library voices) "
            "as JSON: a list of {name, voice_id, language}; edited in the voice picker."),
)}


class Settings:
    def __init__(self, qsettings: QSettings | None = None) -> None:
        self.q = qsettings or QSettings()
        if int(self.q.value("meta/version", 0) or 0) < SETTINGS_VERSION:
            self._migrate()

    def _migrate(self) -> None:
        self.q.setValue("meta/version", SETTINGS_VERSION)

    def get(self, name: str) -> Any:
        spec = SETTINGS[name]
        value = self.q.value(name, spec.default)
        if value is None:
            return spec.default
        try:
            if spec.type is bool:
                return value if isinstance(value, bool) else str(value).lower() in ("1", "true")
            if spec.type is list:
                if isinstance(value, str):
                    return [value] if value else []
                return list(value)
            return spec.type(value)
        except (TypeError, ValueError):
            return spec.default

    def set(self, name: str, value: Any) -> None:
        if name not in SETTINGS:
            raise KeyError(name)
        self.q.setValue(name, value)

    def add_recent(self, path: str) -> list[str]:
        recent = [p for p in self.get("files/recent") if p != path]
        recent.insert(0, path)
        self.set("files/recent", recent[:10])
        return recent[:10]
