"""Hear a voice on the character's own words: their first line, in one voice or two.

The request is the first speakable line of the character, as the scene would send it
(text after the pronunciation dictionary, the line's stability and language), with the
voice to hear. Its key is the same as a render of that line in that voice, so a line
already rendered plays at once, and an audition rendered once is free from then on (the
cache). In paid mode the cost of what is not cached is asked first, through the prompter.
Renders go through the one engine factory (``engine.project.render_engine``); what to
play goes up as signals the window wires to the playback room.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from editor.core.planner import PlannedRequest, build_request
from editor.core.pricing import format_credits
from editor.core.scene import CastMember, Scene

if TYPE_CHECKING:
    from editor.ui.render.controller import RenderController
    from editor.ui.tasks import Op


def first_line_row(scene: Scene, speaker: str) -> int | None:
    """The character's first line with something to say."""
    for row, line in enumerate(scene.lines):
        if line.speaker == speaker and scene.spoken(line).strip():
            return row
    return None


def audition_request(scene: Scene, row: int, voice: str) -> PlannedRequest:
    """Line ``row`` of ``scene`` as it would be sent, spoken by ``voice``."""
    line = scene.lines[row]
    alone = Scene(scene.title, scene.model, scene.stability, scene.language_code,
                  {line.speaker: CastMember(voice.strip())}, [replace(line, extra=dict(line.extra))],
                  {}, scene.gap_ms, dict(scene.pronunciations))
    return build_request(alone, alone.lines)


class Auditions(QObject):
    """The Cast panel's Hear: one voice, or A then B, on the same line."""

    play = Signal(str)  # a file to play
    compare = Signal(object, object, str)  # A, B, what the status bar says

    def __init__(self, render: RenderController) -> None:
        super().__init__(render)
        self.render = render
        self.last: list[PlannedRequest] = []  # the requests of the last audition (tests)

    def hear(self, speaker: str, voices: list[str] | None = None) -> Op | None:
        render = self.render
        doc = render.document
        scene = doc.scene
        voices = [v.strip() for v in (voices or [scene.voice_of(speaker)])][:2]
        row = first_line_row(scene, speaker)
        if row is None:
            render.message.emit(f"{speaker} has no line with words to hear yet.", 5000)
            return None
        requests = [audition_request(scene, row, v) for v in voices]
        self.last = requests
        cache = doc.cache()
        names = [v or "the service's default voice" for v in voices]
        line_text = scene.lines[row].text
        quote = line_text if len(line_text) <= 80 else line_text[:77] + "…"

        async def go() -> None:
            from editor.engine.project import render_engine

            missing = [r for r in requests if cache.get(r.key) is None]
            if missing and not render.sandbox:
                cost = sum((r.cost for r in missing), start=missing[0].cost * 0)
                who = " and ".join(names)
                answer = await render.prompter.ask(
                    "Hear voice",
                    f"Hear {who} speak {speaker}'s line {row + 1}: “{quote}”?\n\n"
                    f"Rendering it costs {format_credits(cost)} "
                    f"({len(missing)} request{'s' if len(missing) > 1 else ''}); once heard it "
                    "is kept and plays free.", ["Render", "Cancel"], default="Render")
                if answer != "Render":
                    return
            paths: dict[str, Path] = {}
            for r in requests:
                cached = cache.get(r.key)
                if cached is not None:
                    paths[r.key] = Path(cached)
            if missing:
                session = await render.ensure_service()
                engine = render_engine(session.client, cache, journal=doc.journal, jobs=2)
                outcome = await engine.run(missing)
                if not outcome.ok:
                    raise next(iter(outcome.errors.values()))
                paths.update({k: Path(p) for k, p in outcome.paths.items()})
                if not render.sandbox:
                    await render.refresh_balance()
            if len(requests) == 1:
                self.play.emit(str(paths[requests[0].key]))
                render.message.emit(f"{names[0]} as {speaker}, line {row + 1}.", 5000)
            else:
                self.compare.emit(paths[requests[0].key], paths[requests[1].key],
                                  f"A: {names[0]}, then B: {names[1]} — {speaker}, line "
                                  f"{row + 1}.")

        return render.runner.run(go(), "voice sample").failure(
            lambda e: render.prompter.tell("Voice sample failed", str(e))).start()
