"""The words the window and the command line share: which lines failed and why, which lines
have no audio. Both present these sentences; neither writes its own."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from editor.core.planner import PlannedRequest
from editor.core.scene import Scene, SceneError


def rows_text(rows: Iterable[int], limit: int = 12) -> str:
    """``3, 5, 8 …``: 1-based rows, at most ``limit`` of them."""
    shown = sorted(set(rows))
    return ", ".join(map(str, shown[:limit])) + (" …" if len(shown) > limit else "")


def request_rows(scene: Scene, requests: Iterable[PlannedRequest]) -> list[int]:
    """The 1-based rows of the requests' lines still in the scene."""
    rows: set[int] = set()
    for r in requests:
        for line_id in r.line_ids:
            try:
                rows.add(scene.row_of(line_id) + 1)
            except SceneError:
                continue  # deleted meanwhile
    return sorted(rows)


def failures_by_error(scene: Scene, requests: Sequence[PlannedRequest],
                      errors: Mapping[str, BaseException]) -> list[tuple[str, list[int]]]:
    """Each distinct error once, with the (1-based) rows it hit, in request order."""
    by_error: dict[str, list[PlannedRequest]] = {}
    for r in requests:
        err = errors.get(r.key)
        if err is not None:
            by_error.setdefault(str(err), []).append(r)
    return [(message, request_rows(scene, group)) for message, group in by_error.items()]


def failure_summary(scene: Scene, requests: Sequence[PlannedRequest],
                    errors: Mapping[str, BaseException]) -> str:
    """``Line 3 failed: …`` or ``Lines 3, 5 failed: …``, each distinct error once."""
    parts = []
    for message, rows in failures_by_error(scene, requests, errors):
        where = f"Line {rows[0]}" if len(rows) == 1 else f"Lines {rows_text(rows)}"
        parts.append(f"{where} failed: {message}")
    return " ".join(parts)


def failure_paragraph(scene: Scene, requests: Sequence[PlannedRequest],
                      errors: Mapping[str, BaseException], kept: int, what: str) -> str:
    """The command line's paragraph: what failed, that ``what`` was not written, and what
    to do (the maybe-charged lines apart: sending them again may pay twice)."""
    from editor.engine.errors import SubmitUncertain
    from editor.engine.render import MayBeCharged

    unknown = [r for r in requests
               if isinstance(errors.get(r.key), MayBeCharged | SubmitUncertain)]
    groups = failures_by_error(scene, requests, errors)
    failed = sum(len(r.line_ids) for r in requests if r.key in errors)
    parts = [f"lines {rows_text(rows)}: {message}" for message, rows in groups]
    text = (f"{failed} of {len(scene)} lines failed, so {what} was not written. "
            + " ".join(parts))
    if unknown:
        text += (f" Lines {rows_text(request_rows(scene, unknown))} may already have been "
                 "charged; 'castline status' lists them. To send them again knowingly (it may "
                 "pay twice), run the same command with --resend-unknown.")
    rest = [r for r in requests if r.key in errors and r not in unknown]
    if rest:
        text += (f" The {kept} request(s) that rendered are kept: run the same command again "
                 "to pay only for the other failed lines.")
    return text


def missing_message(scene: Scene, rows: Sequence[int]) -> str:
    """``3 line(s) have no audio: 2, 5, 7 (1 of them locked, …).`` (rows 0-based)."""
    locked = [r for r in rows if scene.lines[r].locked]
    note = (f" ({len(locked)} of them locked, which Castline never renders: unlock them or "
            "choose a take)") if locked else ""
    return f"{len(rows)} line(s) have no audio: {rows_text((r + 1 for r in rows), 10)}{note}."


def sandbox_only_note(rows: Sequence[int]) -> str:
    """Paid mode: the (0-based) rows that have only sandbox audio, which is never taken for
    paid audio (see :func:`editor.engine.renderplan.sandbox_only_rows`)."""
    if not rows:
        return ""
    return (f" Lines {rows_text((r + 1 for r in rows), 10)} have only sandbox audio "
            "(stand-in voices): add --sandbox to use it, or render them for real.")
