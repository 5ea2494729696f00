"""Text is checked at the door (issue 13 item 5).

The rule: text that comes in from a file — a scene opened in the editor or by any CLI
command, or a script imported — is refused when it holds a lone surrogate or a control
character (C0 other than tab and line breaks in a line's text, DEL, C1), with a message
naming the file, the line and the field. Bidi embedding/override/isolate controls are let
through with a warning naming the line and field. Text going out (save, recovery copy)
never fails: whatever the door would refuse is cleaned first, so Castline never writes a
file it would then refuse.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from editor.core import sceneio
from editor.core.importers import ImportError_, import_file
from editor.core.scene import Scene
from tests.conftest import subprocess_env


def scene_json(text: str = "Hello.", speaker: str = "MARA", **top: object) -> str:
    data = {"format": "castline-scene", "version": 1, "title": "T",
            "cast": {"MARA": {"voice": "Sarah"}},
            "lines": [{"id": "line-1", "speaker": "MARA", "text": "Fine."},
                      {"id": "line-2", "speaker": speaker, "text": text}]}
    data.update(top)
    # ensure_ascii: a lone surrogate is written as the JSON escape "\ud800", as an attacker would.
    return json.dumps(data, ensure_ascii=True)


# --- scene files -----------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "shown"), [
    ("a\ud800b", "U+D800"),         # a JSON escape decodes to a lone surrogate in Python
    ("a\udfffb", "U+DFFF"),
    ("bell\x07", "U+0007"),
    ("esc\x1b[31m", "U+001B"),
    ("del\x7f", "U+007F"),
    ("c1\x9b", "U+009B"),
    ("nul\x00", "U+0000"),
])
def test_a_scene_with_a_bad_character_in_a_line_is_refused_naming_line_and_field(
        text: str, shown: str) -> None:
    with pytest.raises(sceneio.SceneFileError) as e:
        sceneio.loads(scene_json(text), "evil.castline")
    msg = str(e.value)
    assert "evil.castline" in msg and "line 2" in msg and "'text'" in msg and shown in msg


def test_a_paired_surrogate_escape_is_one_character_and_loads() -> None:
    scene = sceneio.loads(scene_json("smile \ud83d\ude00"), "ok.castline")
    assert scene.lines[1].text == "smile \U0001F600"


@pytest.mark.parametrize("field", ["speaker", "id"])
def test_a_newline_in_a_speaker_or_id_is_refused(field: str) -> None:
    data = json.loads(scene_json())
    data["lines"][1][field] = "MARA\nWEBVTT 00:00.000 --> 99:00.000"
    with pytest.raises(sceneio.SceneFileError) as e:
        sceneio.loads(json.dumps(data), "evil.castline")
    assert "line 2" in str(e.value) and f"'{field}'" in str(e.value) and "U+000A" in str(e.value)


def test_tab_and_newlines_in_a_lines_text_are_fine() -> None:
    scene = sceneio.loads(scene_json("one\ttwo\nthree\r\nfour"), "ok.castline")
    assert scene.lines[1].text == "one\ttwo\nthree\r\nfour"


@pytest.mark.parametrize(("where", "field"), [
    ({"title": "T\ud800"}, "'title'"),
    ({"cast": {"MA\x07RA": {"voice": "Sarah"}}}, "'cast'"),
    ({"cast": {"MARA": {"voice": "Sa\x1brah"}}}, "'cast.MARA.voice'"),
    ({"pronunciations": {"Nguyen": "W\x00in"}}, "'pronunciations'"),
    ({"x-notes": {"k": ["\udc80"]}}, "'x-notes'"),  # unknown keys are written back: no surrogates
])
def test_every_field_is_checked_not_only_the_lines(where: dict[str, object], field: str) -> None:
    with pytest.raises(sceneio.SceneFileError) as e:
        sceneio.loads(scene_json(**where), "evil.castline")
    assert field in str(e.value) and "U+" in str(e.value)


def test_bidi_controls_load_with_a_warning_naming_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "rtl.castline"
    path.write_text(scene_json("pay \u202e0001\u202c now"), "utf-8")
    warnings: list[str] = []
    scene = sceneio.load(path, warnings=warnings)
    assert scene.lines[1].text == "pay \u202e0001\u202c now"  # kept: right-to-left text needs them
    assert len(warnings) == 1
    assert "line 2" in warnings[0] and "'text'" in warnings[0] and "U+202E" in warnings[0]


def test_saving_a_scene_with_a_lone_surrogate_never_crashes_and_reloads(tmp_path: Path) -> None:
    scene = Scene(title="T\ud800")
    scene.insert_lines(0, [scene.new_line("MA\x07RA", "hi \udc00 there\x1b\ttab\nnext")])
    path = tmp_path / "s.castline"
    sceneio.save(scene, path)
    back = sceneio.load(path)  # Castline never writes a file it would refuse
    assert back.title == "T\ufffd"
    assert back.lines[0].text == "hi \ufffd there\ufffd\ttab\nnext"  # visible, not dropped
    assert back.lines[0].speaker == "MA\ufffdRA"


def castline(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "editor", *args], capture_output=True,
                          text=True, env=subprocess_env(), timeout=120, check=False)


def test_cli_names_the_line_and_field_of_a_lone_surrogate(tmp_path: Path) -> None:
    path = tmp_path / "evil.castline"
    path.write_text(scene_json("a\ud800b"), "utf-8")
    for args in (["cost", str(path)], ["render", str(path), "-o", str(tmp_path / "o.wav"),
                                        "--sandbox"],
                 ["export", str(path), "--to", str(tmp_path / "out"), "--sandbox"]):
        p = castline(*args)
        assert p.returncode != 0
        assert "Traceback" not in p.stderr and "did not expect" not in p.stderr
        assert "line 2" in p.stderr and "'text'" in p.stderr and "U+D800" in p.stderr, p.stderr
    assert not (tmp_path / "o.wav").exists()


def test_cli_warns_about_bidi_controls(tmp_path: Path) -> None:
    path = tmp_path / "rtl.castline"
    path.write_text(scene_json("pay \u2066x\u2069"), "utf-8")
    p = castline("cost", str(path))
    assert p.returncode == 0, p.stderr
    assert "line 2" in p.stderr and "U+2066" in p.stderr


# --- imports ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "body", "where"), [
    ("s.txt", "MARA: hello\nJONAS: a\x07b\n", ["line 2", "text", "U+0007"]),
    ("s.txt", "MARA: hello\nJO\x1bNAS: ab\n", ["line 2", "speaker", "U+001B"]),
    ("s.fountain", "INT. ROOM\n\nMARA\nhello\n\nJONAS\nwell\x7f then\n",
     ["line 7", "dialogue", "U+007F"]),
    ("s.fountain", "INT. ROOM\n\nMARA\nhello\n\nJO\x08NAS\nwell\n", ["line 6", "U+0008"]),
    ("s.csv", "speaker,text\nMARA,hello\nJONAS,\"two\nlines \x1b here\"\n",
     ["line 4", "'text'", "U+001B"]),
    ("s.csv", "speaker,text\nMARA,hello\nJO\x01NAS,ok\n", ["line 3", "'speaker'", "U+0001"]),
])
def test_an_import_with_a_control_character_is_refused_naming_line_and_field(
        tmp_path: Path, name: str, body: str, where: list[str]) -> None:
    path = tmp_path / name
    path.write_bytes(body.encode("utf-8"))
    with pytest.raises(ImportError_) as e:
        import_file(path)
    for w in where:
        assert w in str(e.value), str(e.value)


def test_page_breaks_in_a_script_are_line_breaks_not_errors(tmp_path: Path) -> None:
    path = tmp_path / "pdf.txt"  # pdftotext puts a form feed at every page break
    path.write_bytes(b"MARA: hello\n\x0cJONAS: there\x0bMARA: again\n")
    scene = import_file(path)
    assert [(ln.speaker, ln.text) for ln in scene.lines] == [
        ("MARA", "hello"), ("JONAS", "there"), ("MARA", "again")]


def test_an_import_warns_about_bidi_controls(tmp_path: Path) -> None:
    path = tmp_path / "s.txt"
    path.write_text("MARA: hi\nJONAS: pay \u202e0001\u202c\n", "utf-8")
    warnings: list[str] = []
    scene = import_file(path, warnings=warnings)
    assert len(scene) == 2 and len(warnings) == 1
    assert "line 2" in warnings[0] and "U+202E" in warnings[0]


def test_cli_import_of_a_control_character_names_line_and_field(tmp_path: Path) -> None:
    src = tmp_path / "s.txt"
    src.write_bytes(b"MARA: hello\nJONAS: a\x07b\n")
    p = castline("import", str(src), "-o", str(tmp_path / "s.castline"))
    assert p.returncode != 0 and "Traceback" not in p.stderr
    assert "line 2" in p.stderr and "U+0007" in p.stderr
    assert not (tmp_path / "s.castline").exists()


# --- the crash dialog tells the truth about the recovery copy -----------------------------

def _crash(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, rescuer: object) -> str:
    from editor.ui import crash

    shown: list[str] = []
    monkeypatch.setattr(crash, "_rescuers", [rescuer])
    monkeypatch.setattr(crash, "_show", shown.append)
    monkeypatch.setattr(crash, "_log_path", tmp_path / "castline.log")
    try:
        raise RuntimeError("boom")
    except RuntimeError as e:
        crash._excepthook(type(e), e, e.__traceback__)
    assert len(shown) == 1
    return shown[0]


def test_crash_dialog_does_not_claim_a_copy_when_saving_it_failed(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def rescue() -> Path:
        raise OSError(28, "No space left on device")
    msg = _crash(monkeypatch, tmp_path, rescue)
    assert "was saved" not in msg and "could not be saved" in msg and "No space left" in msg


def test_crash_dialog_names_where_the_copy_was_saved(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    copy = tmp_path / "abc.castline"
    copy.write_text("{}")
    msg = _crash(monkeypatch, tmp_path, lambda: copy)
    assert "was saved" in msg and str(copy) in msg


def test_crash_dialog_claims_nothing_when_there_was_nothing_to_save(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    msg = _crash(monkeypatch, tmp_path, lambda: None)
    assert "was saved" not in msg and "could not be saved" not in msg


def test_recovery_of_a_scene_with_a_lone_surrogate_is_written_and_loads(tmp_path: Path) -> None:
    from editor.ui.recovery import RecoveryFile

    scene = Scene()
    scene.insert_lines(0, [scene.new_line("MARA", "a\ud800b")])
    rec = RecoveryFile(tmp_path / "s.castline")
    written = rec.save(scene)
    assert written == rec.path and rec.path.exists()
    assert sceneio.load(rec.path).lines[0].text == "a\ufffdb"


def test_crash_with_an_unwritable_recovery_folder_says_it_could_not_be_saved(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from editor.ui import recovery

    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the folder should be")
    monkeypatch.setattr(recovery, "recovery_dir", lambda: blocked / "recovery")
    rec = recovery.RecoveryFile(None)
    scene = Scene()
    scene.insert_lines(0, [scene.new_line("MARA", "hi")])
    msg = _crash(monkeypatch, tmp_path, lambda: rec.save(scene))
    assert "was saved" not in msg and "could not be saved" in msg
    assert not (blocked / "recovery").exists()
