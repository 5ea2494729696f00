"""What a render reports, per request (light to import: the editor needs it at start)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from editor.core.planner import PlannedRequest


class Stage(StrEnum):
    QUEUED = "queued"
    PAUSED = "paused"  # waiting for the network to come back (nothing was sent)
    SUBMITTING = "submitting"
    WAITING = "waiting"
    RUNNING = "running"
    DOWNLOADING = "downloading"
    READY = "ready"
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class RenderEvent:
    request: PlannedRequest
    stage: Stage
    progress: float | None = None
    path: Path | None = None
    error: Exception | None = None
    cached: bool = False

    @property
    def line_ids(self) -> tuple[str, ...]:
        return self.request.line_ids
