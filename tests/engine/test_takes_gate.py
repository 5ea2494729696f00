"""A mailed project is hostile input: its takes folder can never touch a file outside it.

Each test performs an attack through the real store, export and Save As, then checks that a
"victim" folder beside the project is byte-for-byte unchanged and that nothing from it was
read into the project or the deliverables. Written (and seen to succeed as attacks) before
the gate existed.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from editor.core.planner import line_key
from editor.core.scene import Scene
from editor.engine.audio import ExportError
from editor.engine.errors import BadAudio
from editor.engine.export import Exporter, plan_export
from editor.engine.project import open_book, resolver
from editor.engine.takes import TakeError, TakeStore

LEGIT, FRESH, VICTIM = 0.125, 0.25, 0.75  # sample values: whose audio ended up where


def wav(path: Path, value: float, frames: int = 2205) -> Path:
    soundfile.write(path, np.full((frames, 1), value, dtype=np.float32), 22050)
    return path


def snapshot(folder: Path) -> dict[str, tuple[int, str]]:
    """Every entry under ``folder`` (not following links): its mode and its bytes' hash or
    link target."""
    out: dict[str, tuple[int, str]] = {}
    for top, dirs, files in os.walk(folder, followlinks=False):
        for name in dirs + files:
            p = Path(top, name)
            st_ = p.lstat()
            if stat.S_ISLNK(st_.st_mode):
                what = "-> " + os.readlink(p)
            elif stat.S_ISREG(st_.st_mode):
                what = hashlib.sha256(p.read_bytes()).hexdigest()
            else:
                what = "dir" if stat.S_ISDIR(st_.st_mode) else "other"
            out[str(p.relative_to(folder))] = (st_.st_mode, what)
    return out


def file_hashes(folder: Path) -> set[str]:
    return {h for _m, h in snapshot(folder).values() if len(h) == 64}


def make_victim(base: Path) -> Path:
    victim = base / "victim"
    (victim / "sub").mkdir(parents=True)
    (victim / "secret.txt").write_bytes(b"-----BEGIN PRIVATE KEY-----\nnot for a project\n")
    (victim / "sub" / "notes.jsonl").write_bytes(b"hello\n")
    wav(victim / "voice.wav", VICTIM)
    return victim


def make_project(base: Path, name: str = "proj") -> tuple[Scene, Path]:
    scene = Scene(title="Gate")
    scene.insert_lines(0, [scene.new_line("MARA", "Hello there."), scene.new_line("JO", "Hi.")])
    scene.set_voice("MARA", "Sarah")
    scene.set_voice("JO", "George")
    root = base / name / "Scene.takes"
    (root / "audio").mkdir(parents=True)
    return scene, root


def add_record(take_id: Any, file: Any, line_id: str = "l", key: str = "k") -> dict[str, Any]:
    return {"op": "add", "take": {"id": take_id, "lines": {line_id: key}, "texts": {},
                                  "request": {}, "request_key": "r", "file": file, "sha256": "",
                                  "cost": 1.0, "created": 0.0}}


def write_index(root: Path, records: list[Any], tail: bytes = b"") -> None:
    header = {"op": "header", "format": "castline-takes", "version": 1}
    (root / "index.jsonl").write_bytes(
        b"".join(json.dumps(r).encode() + b"\n" for r in [header, *records]) + tail)


def attempt(action: Any) -> str | None:
    """Run ``action``; the documented refusal's message, or None if it went ahead."""
    try:
        action()
    except (TakeError, ExportError, BadAudio) as e:
        return str(e)
    return None


# --- purge on open ---------------------------------------------------------------------------

@pytest.mark.parametrize("where", ["relative", "absolute", "inside-then-out"])
def test_opening_a_mailed_project_never_deletes_a_file_outside_it(tmp_path: Path,
                                                                   where: str) -> None:
    victim = make_victim(tmp_path)
    _scene, root = make_project(tmp_path)
    file = {"relative": "../../victim/secret.txt", "absolute": str(victim / "secret.txt"),
            "inside-then-out": "audio/../../../victim/secret.txt"}[where]
    write_index(root, [add_record("take-1", file), {"op": "delete", "take": "take-1"}])
    before = snapshot(victim)

    store = TakeStore(root)
    store.purge_deleted()  # what the editor does on open

    assert snapshot(victim) == before
    assert len(store.warnings) == 1 and "take-1" in store.warnings[0] \
        and "outside" in store.warnings[0]


# --- Save As ---------------------------------------------------------------------------------

@pytest.mark.parametrize("file", ["../../victim/secret.txt", "ABS"])
def test_save_as_never_copies_an_outside_file_into_the_project(tmp_path: Path, file: str) -> None:
    victim = make_victim(tmp_path)
    _scene, root = make_project(tmp_path)
    write_index(root, [add_record("take-1", str(victim / "secret.txt") if file == "ABS" else file)])
    new_root = tmp_path / "saved" / "Saved.takes"

    TakeStore(new_root).merge_from(TakeStore(root))

    copied = file_hashes(new_root) if new_root.exists() else set()
    assert not copied & file_hashes(victim)
    assert not TakeStore(new_root).all_takes(deleted=True)


def test_save_as_never_writes_outside_the_new_project(tmp_path: Path) -> None:
    victim = make_victim(tmp_path)
    _scene, root = make_project(tmp_path)
    wav(root / "audio" / "take-1.wav", LEGIT)
    write_index(root, [add_record("take-1", "audio/take-1.wav"),
                       add_record("../../../victim/pwned", "audio/take-1.wav", line_id="m")])
    before = snapshot(victim)
    new_root = tmp_path / "saved" / "Saved.takes"
    old = TakeStore(root)

    TakeStore(new_root).merge_from(old)

    assert snapshot(victim) == before
    assert [t.id for t in TakeStore(new_root).all_takes()] == ["take-1"]  # the honest one travels
    assert any("../../../victim/pwned" in w for w in old.warnings)


# --- symbolic links --------------------------------------------------------------------------

def _render_style_add(store: TakeStore, tmp_path: Path) -> None:
    fresh = wav(tmp_path / "fresh.wav", FRESH)
    store.add({"l": "k"}, {"l": "Hi."}, {"dialogue": []}, "r", fresh, cost=1.0, sandbox=False)


@pytest.mark.parametrize("link", ["index.jsonl", "audio", "Scene.takes"])
def test_a_symlink_in_the_takes_folder_is_refused(tmp_path: Path, link: str) -> None:
    victim = make_victim(tmp_path)
    _scene, root = make_project(tmp_path)
    if link == "index.jsonl":
        (root / "index.jsonl").symlink_to(victim / "sub" / "notes.jsonl")
    elif link == "audio":
        (root / "audio").rmdir()
        (root / "audio").symlink_to(victim / "sub", target_is_directory=True)
    else:
        (root / "audio").rmdir()
        root.rmdir()
        root.symlink_to(victim / "sub", target_is_directory=True)
    before = snapshot(victim)

    refused = attempt(lambda: _render_style_add(TakeStore(root), tmp_path))

    assert snapshot(victim) == before
    assert refused is not None and "symbolic link" in refused


@pytest.mark.parametrize("link", ["index.jsonl", "audio", "Scene.takes"])
def test_a_symlink_swapped_in_after_opening_is_not_followed(tmp_path: Path, link: str) -> None:
    victim = make_victim(tmp_path)
    _scene, root = make_project(tmp_path)
    store = TakeStore(root)
    _render_style_add(store, tmp_path)  # an honest take first: the folder exists and is fine
    before = snapshot(victim)
    if link == "index.jsonl":
        (root / "index.jsonl").unlink()
        (root / "index.jsonl").symlink_to(victim / "sub" / "notes.jsonl")
    elif link == "audio":
        os.rename(root / "audio", root.parent / "moved-audio")
        (root / "audio").symlink_to(victim / "sub", target_is_directory=True)
    else:
        os.rename(root, root.parent / "moved.takes")
        root.symlink_to(victim / "sub", target_is_directory=True)

    refused = attempt(lambda: (wav(tmp_path / "fresh.wav", 0.5), store.add(
        {"l": "k2"}, {}, {}, "r2", tmp_path / "fresh.wav", cost=1.0, sandbox=False)))

    assert snapshot(victim) == before
    assert refused is not None


def test_a_take_whose_audio_is_a_symlink_is_neither_played_nor_exported(tmp_path: Path) -> None:
    victim = make_victim(tmp_path)
    scene, root = make_project(tmp_path)
    line = scene.lines[0]
    (root / "audio" / "take-1.wav").symlink_to(victim / "voice.wav")
    write_index(root, [add_record("take-1", "audio/take-1.wav", line.id, line_key(scene, line))])
    store = TakeStore(root)
    take = store.get("take-1")

    assert take is None or store.path(take) is None  # the Takes panel has nothing to play
    assert plan_export(scene, resolver(open_book(scene, store, sandbox=False))).missing == [0, 1]


# --- export ----------------------------------------------------------------------------------

def test_export_never_reads_a_file_a_record_names_outside_the_project(tmp_path: Path) -> None:
    victim = make_victim(tmp_path)
    scene, root = make_project(tmp_path)
    line = scene.lines[0]
    write_index(root, [add_record("take-1", str(victim / "voice.wav"), line.id,
                                  line_key(scene, line))])
    store = TakeStore(root)
    layout = plan_export(scene, resolver(open_book(scene, store, sandbox=False)))

    assert not layout.clips and layout.missing == [0, 1]  # no audio for it: never read
    assert "take-1" in store.warnings[0]


def test_export_refuses_take_audio_swapped_for_a_symlink_after_planning(tmp_path: Path) -> None:
    victim = make_victim(tmp_path)
    scene, root = make_project(tmp_path)
    line = scene.lines[0]
    wav(root / "audio" / "take-1.wav", LEGIT)
    write_index(root, [add_record("take-1", "audio/take-1.wav", line.id, line_key(scene, line))])
    layout = plan_export(scene, resolver(open_book(scene, TakeStore(root), sandbox=False)))
    assert len(layout.clips) == 1
    (root / "audio" / "take-1.wav").unlink()
    (root / "audio" / "take-1.wav").symlink_to(victim / "voice.wav")
    out = tmp_path / "out"
    out.mkdir()

    refused = attempt(lambda: Exporter(scene, layout, out, what=("mix",)).run())

    assert refused is not None and "line 1" in refused
    assert not any(out.iterdir())


# --- everything at once, fuzzed ---------------------------------------------------------------

HOSTILE_IDS = ["take-1", "take-2", "take-9", "../x", "/x", "a\nb", "x" * 300, "CON", "nul",
               "", "..", ".", "take-1/../../x", "C:\\x", "\\\\server\\x", "t\x00", 7, None]
TAKE_FILE_KEYS = ["ok", "rel", "abs", "up", "link", "dirlink", "backslash", "drive", "deep",
                  "empty", "dot", "con", "long", "nul-byte", "number"]


def _hostile_file(kind: str, victim: Path) -> Any:
    return {"ok": "audio/take-1.wav", "rel": "../../victim/secret.txt",
            "abs": str(victim / "voice.wav"), "up": "audio/../../../victim/voice.wav",
            "link": "audio/link.wav", "dirlink": "audio/dirlink/voice.wav",
            "backslash": "audio\\..\\..\\..\\victim\\voice.wav", "drive": "C:/victim/voice.wav",
            "deep": "audio/sub/take-1.wav", "empty": "", "dot": "audio/.", "con": "audio/CON.wav",
            "long": "audio/" + "é" * 300 + ".wav", "nul-byte": "audio/take-1.wav\x00.txt",
            "number": 12}[kind]


hostile_records = st.one_of(
    st.builds(lambda i, f, line: ("add", i, f, line), st.sampled_from(HOSTILE_IDS),
              st.sampled_from(TAKE_FILE_KEYS), st.integers(0, 1)),
    st.builds(lambda op, i: (op, i, None, 0), st.sampled_from(["delete", "restore", "active"]),
              st.sampled_from(HOSTILE_IDS)))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records=st.lists(hostile_records, min_size=1, max_size=8),
       tail=st.sampled_from([b"", b'{"op":"add","take":{"id":"take-3","fi', b"\x00\xff\n",
                             b'{"op":"delete","take":"' + b"x" * 1_200_000 + b'"}\n']),
       links=st.booleans(), swap=st.sampled_from(["none", "file", "audio", "root"]))
def test_a_hostile_takes_index_never_touches_a_file_outside_the_project(
        records: list[tuple[str, Any, Any, int]], tail: bytes, links: bool, swap: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        victim = make_victim(base)
        scene, root = make_project(base)
        wav(root / "audio" / "take-1.wav", LEGIT)
        if links:
            (root / "audio" / "link.wav").symlink_to(victim / "voice.wav")
            (root / "audio" / "dirlink").symlink_to(victim, target_is_directory=True)
        lines = scene.lines
        index = []
        for op, take_id, file, row in records:
            if op == "add":
                index.append(add_record(take_id, _hostile_file(file, victim), lines[row].id,
                                        line_key(scene, lines[row])))
            elif op == "active":
                index.append({"op": "active", "line": lines[row].id, "take": take_id})
            else:
                index.append({"op": op, "take": take_id})
        write_index(root, index, tail)
        before = snapshot(victim)
        victim_hashes = file_hashes(victim)
        out, saved = base / "out", base / "saved" / "Saved.takes"
        out.mkdir()

        def session() -> None:
            store = TakeStore(root)
            book = open_book(scene, store, sandbox=False)
            layout = plan_export(scene, resolver(book))
            if swap == "file":
                (root / "audio" / "take-1.wav").unlink()
                (root / "audio" / "take-1.wav").symlink_to(victim / "voice.wav")
            elif swap == "audio":
                os.rename(root / "audio", root.parent / "old-audio")
                (root / "audio").symlink_to(victim, target_is_directory=True)
            elif swap == "root":
                os.rename(root, root.parent / "old.takes")
                root.symlink_to(victim, target_is_directory=True)
            for step in (lambda: Exporter(scene, layout, out, what=("mix", "lines", "srt",
                                                                      "manifest")).run(),
                         lambda: TakeStore(saved).merge_from(store),
                         lambda: _render_style_add(store, base),
                         store.purge_deleted,
                         lambda: TakeStore(root).purge_deleted()):
                attempt(step)

        attempt(session)

        assert snapshot(victim) == before
        for folder in (out, saved, base / "proj"):
            if folder.exists():
                assert not file_hashes(folder) & victim_hashes  # nothing copied in
        for exported in out.glob("*.wav"):
            assert np.max(soundfile.read(exported)[0], initial=0.0) < VICTIM - 0.1


# --- recovery ------------------------------------------------------------------------------

def test_a_recovery_file_can_only_name_an_unsaved_takes_folder_castline_made(
        tmp_path: Path) -> None:
    from editor.engine.takes import is_unsaved_takes

    staging = tmp_path / "unsaved"
    assert is_unsaved_takes(staging / f"{'ab' * 12}.takes", staging)
    for hostile in (staging / "..", staging / "../victim", staging / "x.takes",
                    tmp_path / f"{'ab' * 12}.takes", staging / f"{'ab' * 12}.takes" / ".."):
        assert not is_unsaved_takes(hostile, staging), hostile
