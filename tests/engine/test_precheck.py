"""The check before paying: each problem found and named by its rows; castline render stops."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from editor.core import sceneio
from editor.core.catalog import read_resource_text
from editor.core.scene import Line, Scene
from editor.core.voices import own_voice
from editor.engine.precheck import Fix, Kind, Problem, check, report, rows_label, unknown_tags
from tests.conftest import subprocess_env
from tests.support.processes import stats, writer_pointed_at_a_sandbox


def scene_of(specs: list[tuple[str, str]], voices: dict[str, str]) -> Scene:
    s = Scene(title="Check")
    s.insert_lines(0, [Line(id=f"l{i}", speaker=a, text=t) for i, (a, t) in enumerate(specs)])
    for name, voice in voices.items():
        s.set_voice(name, voice)
    return s


def kinds(problems: list[Problem]) -> dict[Kind, list[Problem]]:
    out: dict[Kind, list[Problem]] = {}
    for p in problems:
        out.setdefault(p.kind, []).append(p)
    return out


def test_a_clean_scene_and_the_sample_have_no_problems() -> None:
    assert check(scene_of([("A", "Hello."), ("B", "[sighs] Hi.")], {"A": "Sarah", "B": "George"})) == []
    sample = sceneio.loads(read_resource_text("samples/night-ferry.castline"), "s.castline")
    assert check(sample) == [] and check(sample, mode="take") == []


def test_a_character_with_no_voice_names_its_lines() -> None:
    s = scene_of([("A", "One."), ("B", "Two."), ("A", "Three."), ("B", "")], {"A": "Sarah"})
    (p,) = kinds(check(s))[Kind.NO_VOICE]
    assert p.rows == (1,) and p.speaker == "B" and p.fix is Fix.SET_VOICE
    assert p.message.startswith("Line 2 (B): no voice") and "default voice" in p.message
    s.set_voice("A", "")
    (a, b) = kinds(check(s))[Kind.NO_VOICE]
    assert (a.speaker, a.rows) == ("A", (0, 2)) and (b.speaker, b.rows) == ("B", (1,))
    assert a.message.startswith("Lines 1, 3 (A)")


def test_empty_lines_are_one_problem() -> None:
    s = scene_of([("A", "One."), ("A", ""), ("A", "   \n"), ("A", "Four.")], {"A": "Sarah"})
    (p,) = check(s)
    assert p.kind is Kind.EMPTY_LINE and p.rows == (1, 2) and p.fix is Fix.DELETE_EMPTY
    assert p.message.startswith("Lines 2, 3: empty lines")


def test_a_line_over_the_request_limit_is_blocking() -> None:
    s = scene_of([("A", "ok"), ("A", "x" * 2001), ("A", "y" * 2000)], {"A": "Sarah"})
    (p,) = check(s)
    assert p.kind is Kind.TOO_LONG and p.rows == (1,) and p.blocking and p.fix is Fix.SPLIT_LINE
    assert "2001 characters" in p.message and "2000" in p.message
    # The spoken text counts (the pronunciation dictionary can make a line longer).
    s2 = scene_of([("A", "Nguyen " * 250)], {"A": "Sarah"})
    assert check(s2) == []
    s2.set_pronunciations({"Nguyen": "Winnnnnnnnnn"})
    assert [p.kind for p in check(s2)] == [Kind.TOO_LONG]


def test_unknown_tags_are_named_with_their_rows() -> None:
    s = scene_of([("A", "[whispers] fine [short pause] ok"), ("A", "[whisper] no"),
                  ("A", "[Whisper] again [WHISPER]"), ("A", "[LONG  pause] yes"),
                  ("A", "[] empty")], {"A": "Sarah"})
    problems = kinds(check(s))[Kind.UNKNOWN_TAG]
    by_tag = {p.detail: p.rows for p in problems}
    assert by_tag == {"whisper": (1, 2), "": (4,)}
    assert all(p.fix is Fix.EDIT_TAG for p in problems)
    assert "[whisper]" in problems[0].message and problems[0].message.startswith("Lines 2, 3")
    assert unknown_tags("[laughs] [pause] [mumbles]") == ["mumbles"]


def test_voices_castline_does_not_know_are_flagged_per_character() -> None:
    s = scene_of([("A", "One."), ("B", "Two."), ("C", "Three."), ("B", "Four.")],
                 {"A": "sarah", "B": "Gandalf", "C": "JBFqnCBsd6RMkjVDRZzb"})
    (p,) = check(s)
    assert p.kind is Kind.UNKNOWN_VOICE and p.rows == (1, 3) and p.speaker == "B"
    assert p.detail == "Gandalf" and p.fix is Fix.PICK_VOICE
    mine = own_voice("Gandalf", "abcdefghij0123456789")
    assert check(s, own_voices=[mine]) == []


def test_a_language_the_voice_is_not_listed_for() -> None:
    mine = own_voice("Amélie", "abcdefghij0123456789", "fr")
    s = scene_of([("A", "Bonjour."), ("A", "Hello."), ("A", "Hallo."), ("A", "Salut.")],
                 {"A": "Amélie"})
    s.set_field([1], "language_code", "en")
    s.set_field([2], "language_code", "de")
    s.set_field([3], "language_code", "fr-CA")
    problems = check(s, own_voices=[mine])
    assert [(p.kind, p.rows, p.detail) for p in problems] == [
        (Kind.LANGUAGE, (1,), "en"), (Kind.LANGUAGE, (2,), "de")]
    assert problems[0].fix is Fix.LANGUAGE_AUTO and "English" in problems[0].message
    # The scene's language counts where a line has none; auto never warns.
    s.set_field([1, 2], "language_code", None)
    s.language_code = "it"
    assert [p.rows for p in check(s, own_voices=[mine])] == [(0, 1, 2)]
    s.language_code = "auto"
    assert check(s, own_voices=[mine]) == []
    # Premade voices: no source lists their languages, so they never warn.
    s.set_voice("A", "Sarah")
    s.set_field([0, 1, 2, 3], "language_code", "ja")
    assert check(s) == []


def test_locked_lines_and_unchosen_rows_are_not_checked() -> None:
    s = scene_of([("A", "[mumbles] x"), ("B", "No voice."), ("A", ""), ("A", "x" * 3000)],
                 {"A": "Sarah"})
    assert {p.kind for p in check(s)} == {Kind.UNKNOWN_TAG, Kind.NO_VOICE, Kind.EMPTY_LINE,
                                          Kind.TOO_LONG}
    s.set_field([1, 2, 3], "locked", True)
    assert [p.kind for p in check(s)] == [Kind.UNKNOWN_TAG]
    s.set_field([0], "locked", True)
    assert check(s) == []
    s.set_field([0, 1, 2, 3], "locked", False)
    assert [p.kind for p in check(s, rows=[1])] == [Kind.NO_VOICE]
    assert check(s, rows=[]) == []


def test_problems_come_in_a_fixed_order_and_read_as_one_line_each() -> None:
    s = scene_of([("A", "[mumbles]"), ("B", ""), ("B", "x" * 2500), ("C", "hi")],
                 {"A": "Sarah", "C": "Nobody"})
    problems = check(s)
    assert [p.kind for p in problems] == [Kind.TOO_LONG, Kind.NO_VOICE, Kind.UNKNOWN_VOICE,
                                          Kind.UNKNOWN_TAG, Kind.EMPTY_LINE]
    text = report(problems)
    lines = text.splitlines()
    assert len(lines) == 1 + len(problems) and "--force" in lines[0]
    assert all(line.startswith("  - Line") for line in lines[1:])
    assert rows_label([0, 1, 2, 3, 4]) == "Lines 1–5"
    assert rows_label(list(range(0, 40, 2))).endswith("and 8 more")


# --- castline render / export -------------------------------------------------------------

@pytest.fixture
def service(isolated_dirs: Path) -> Iterator[tuple[str, str, dict[str, str]]]:
    """A sandbox in its own process, and a writer's environment pointed at it."""
    with writer_pointed_at_a_sandbox("--latency", "0.2") as running:
        yield running


def castline(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "editor", *args], env=env, capture_output=True,
                          text=True, timeout=180, check=False)


def troubled_scene(folder: Path) -> Path:
    s = scene_of([("MARA", "[whispers] Did you hear that?"), ("JONAS", "Only the wind."),
                  ("PIP", "[mumbles] What?"), ("MARA", "Go to sleep.")], {"MARA": "Sarah"})
    s.set_voice("PIP", "Gandalf")
    path = folder / "trouble.castline"
    sceneio.save(s, path)
    return path


def test_render_lists_the_problems_exits_1_and_sends_nothing(
        tmp_path: Path, service: tuple[str, str, dict[str, str]]) -> None:
    url, key, env = service
    path = troubled_scene(tmp_path)
    out = tmp_path / "out.wav"
    p = castline(env, "render", str(path), "-o", str(out))
    assert p.returncode == 1, p.stderr
    assert "Traceback" not in p.stderr
    assert p.stderr.startswith("castline: 3 problems found before sending anything")
    listed = [line for line in p.stderr.splitlines() if line.startswith("  - ")]
    assert len(listed) == 3
    assert listed[0].startswith("  - Line 2 (JONAS): no voice")
    assert listed[1].startswith("  - Line 3 (PIP): the voice 'Gandalf'")
    assert listed[2].startswith("  - Line 3: [mumbles]")
    assert not out.exists()
    assert stats(url, key)["submits"] == 0
    # The same scene in the sandbox is checked too.
    sandboxed = castline(env, "render", str(path), "-o", str(out), "--sandbox")
    assert sandboxed.returncode == 1 and "3 problems" in sandboxed.stderr
    # export --missing render checks the lines it would send, and sends nothing either.
    folder = tmp_path / "export"
    folder.mkdir()
    exported = castline(env, "export", str(path), "--to", str(folder), "--missing", "render")
    assert exported.returncode == 1 and "3 problems" in exported.stderr, exported.stderr
    assert stats(url, key)["submits"] == 0
    assert not any(folder.iterdir())


def test_render_with_force_sends_and_says_what_it_let_through(
        tmp_path: Path, service: tuple[str, str, dict[str, str]]) -> None:
    url, key, env = service
    path = troubled_scene(tmp_path)
    out = tmp_path / "out.wav"
    p = castline(env, "render", str(path), "-o", str(out), "--force")
    assert p.returncode == 0, p.stderr
    assert p.stderr.count("warning (rendering anyway, --force)") == 3
    assert out.stat().st_size > 1000
    assert stats(url, key)["submits"] == 4
    # Export after it: nothing missing, so nothing to check and nothing sent.
    folder = tmp_path / "export"
    folder.mkdir()
    exported = castline(env, "export", str(path), "--to", str(folder), "--what", "mix",
                        "--missing", "render")
    assert exported.returncode == 0, exported.stderr
    assert stats(url, key)["submits"] == 4


def test_force_cannot_send_a_line_over_the_limit(tmp_path: Path,
                                                 isolated_dirs: Path) -> None:
    s = scene_of([("A", "x" * 2100)], {"A": "Sarah"})
    path = tmp_path / "long.castline"
    sceneio.save(s, path)
    env = subprocess_env()
    p = castline(env, "render", str(path), "-o", str(tmp_path / "o.wav"), "--sandbox")
    assert p.returncode == 1 and "Line 1 (A): 2100 characters" in p.stderr
    forced = castline(env, "render", str(path), "-o", str(tmp_path / "o.wav"), "--sandbox",
                      "--force")
    assert forced.returncode != 0 and "Split the line" in forced.stderr
    assert not (tmp_path / "o.wav").exists()


def test_render_and_export_help_mention_force() -> None:
    for command in ("render", "export"):
        p = castline(subprocess_env(), command, "--help")
        assert p.returncode == 0 and "--force" in p.stdout
