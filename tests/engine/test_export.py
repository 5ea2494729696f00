"""Exports, checked by decoding what was written: ``castline export`` as a user runs it."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import numpy as np
import pytest

from editor.core import sceneio
from editor.core.scene import Scene
from editor.engine.audio import decode
from editor.engine.takes import TakeStore, file_sha256, takes_dir_for
from tests.scenarios.test_cli import castline, no_traceback

RATE_TOLERANCE = 0.010  # seconds: each cue within 10 ms of its clip


def make_scene(path: Path) -> Scene:
    s = Scene(title="Export test", gap_ms=250)
    specs = [("MARA", "First line, from Mara.", None), ("JONAS", "[sighs] Jonas answers.", 900),
             ("MARA", "", None), ("MARA", "Mara again, a bit longer this time.", 0),
             ("PIP", "Pip, last.", None)]
    s.insert_lines(0, [s.new_line(a, t, pause_after_ms=p) for a, t, p in specs])
    for name, voice in (("MARA", "Sarah"), ("JONAS", "George"), ("PIP", "Lily")):
        s.set_voice(name, voice)
    sceneio.save(s, path)
    return s


def cues(text: str, sep: str) -> list[tuple[float, float, str]]:
    def sec(t: str) -> float:
        h, m, rest = t.split(":")
        s, ms = rest.split(sep)
        return int(h) * 3600 + int(m) * 60 + int(s) + int(ms) / 1000

    found = re.findall(r"(\d\d:\d\d:\d\d[,.]\d{3}) --> (\d\d:\d\d:\d\d[,.]\d{3})\n(?:<v [^>]*>)?(.*)",
                       text)
    return [(sec(a), sec(b), words) for a, b, words in found]


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Scene, Path, Path]:
    root = tmp_path_factory.mktemp("export")
    env_dirs = {"CASTLINE_CACHE_DIR": str(root / "cache"), "CASTLINE_STATE_DIR": str(root / "state")}
    from tests.conftest import subprocess_env

    env = {**subprocess_env(), **env_dirs}
    scene_path = root / "Scene.castline"
    scene = make_scene(scene_path)
    out = root / "out"
    out.mkdir()
    p = castline("export", str(scene_path), "--to", str(out), "--sandbox", env=env)
    assert p.returncode != 0 and "no audio" in p.stderr and "--missing render" in p.stderr
    assert "credit" in p.stderr
    no_traceback(p)
    assert not any(out.iterdir())  # reported before anything was written
    p = castline("export", str(scene_path), "--to", str(out), "--sandbox", "--missing", "render",
                 env=env)
    assert p.returncode == 0, p.stderr
    return scene, scene_path, out


def test_the_mix_is_clips_gaps_and_pauses(exported: tuple[Scene, Path, Path]) -> None:
    scene, scene_path, out = exported
    mix = decode(out / "Scene.wav")
    store = TakeStore(takes_dir_for(scene_path))
    spoken = [ln for ln in scene.lines if ln.text]
    clips = [decode(store.path(store.takes_for(ln.id)[-1])) for ln in spoken]
    assert all(c.rate == mix.rate for c in clips)
    # After line 1 the scene's gap (250), after JONAS his own 900, after line 4 its own 0,
    # after the last line nothing; the empty line 3 is not on the timeline.
    pauses = [250, 900, 0]
    expected = sum(len(c.data) for c in clips) + sum(round(p * mix.rate / 1000) for p in pauses)
    assert len(mix.data) == expected


def test_subtitles_and_labels_sit_on_their_clips(exported: tuple[Scene, Path, Path]) -> None:
    _, _, out = exported
    mix = decode(out / "Scene.wav").data[:, 0]
    manifest = json.loads((out / "Scene_manifest.json").read_text("utf-8"))["lines"]
    srt = cues((out / "Scene.srt").read_text("utf-8"), ",")
    vtt = cues((out / "Scene.vtt").read_text("utf-8"), ".")
    labels = [ln.split("\t") for ln in (out / "Scene_labels.txt").read_text("utf-8").splitlines()]
    assert len(srt) == len(vtt) == len(labels) == len(manifest) == 4
    assert srt[1][2] == "Jonas answers."  # no [audio tags] on screen
    for row, s, v, lab in zip(manifest, srt, vtt, labels, strict=True):
        clip = decode(out / row["file"]).data[:, 0]
        rate = 22050
        # Where the line's own file sits in the mix, found from the audio (within ±50 ms of
        # what the manifest says), not taken from the manifest.
        guess = round(row["start"] * rate)
        window = range(max(0, guess - rate // 20), guess + rate // 20)
        errors = [np.abs(mix[o:o + len(clip)] - clip).max() if o + len(clip) <= len(mix)
                  else np.inf for o in window]
        best = int(np.argmin(errors))
        assert errors[best] < 1e-3  # the clip is in the mix, sample for sample
        start = window[best]
        for cue_start, cue_end in ((s[0], s[1]), (v[0], v[1]), (float(lab[0]), float(lab[1]))):
            assert abs(cue_start - start / rate) <= RATE_TOLERANCE
            assert abs(cue_end - (start + len(clip)) / rate) <= RATE_TOLERANCE


def test_stems_are_as_long_as_the_mix_and_silent_outside_their_speaker(
        exported: tuple[Scene, Path, Path]) -> None:
    _, _, out = exported
    mix = decode(out / "Scene.wav").data[:, 0]
    manifest = json.loads((out / "Scene_manifest.json").read_text("utf-8"))["lines"]
    total = np.zeros_like(mix)
    for speaker in ("MARA", "JONAS", "PIP"):
        stem = decode(out / f"Scene_{speaker}.wav").data[:, 0]
        assert len(stem) == len(mix)
        own = np.zeros(len(stem), dtype=bool)
        for row in manifest:
            if row["speaker"] == speaker:
                # The manifest's times are to the millisecond: allow for that rounding.
                a = max(0, round((row["start"] - 0.002) * 22050))
                own[a:a + round((row["duration"] + 0.004) * 22050)] = True
        assert np.abs(stem[~own]).max() == 0.0
        assert np.abs(stem[own]).max() > 0.01
        total += stem
    assert np.allclose(total, mix, atol=1e-4)


def test_the_manifest_names_every_line_and_its_hashes_match(
        exported: tuple[Scene, Path, Path]) -> None:
    scene, scene_path, out = exported
    with open(out / "Scene_manifest.csv", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    doc = json.loads((out / "Scene_manifest.json").read_text("utf-8"))
    assert [r["id"] for r in rows] == [ln.id for ln in scene.lines if ln.text]
    assert [r["file"] for r in rows] == [r["file"] for r in doc["lines"]]
    assert rows[0]["file"] == "001_MARA_line-1.wav"
    store = TakeStore(takes_dir_for(scene_path))
    for r in rows:
        assert file_sha256(out / r["file"]) == r["sha256"]
        assert r["take"] == store.active_id(r["id"])
        assert r["voice"] == scene.voice_of(r["speaker"])
    assert doc["mix"] == "Scene.wav"


def test_the_active_take_is_what_exports(tmp_path: Path, exported: tuple[Scene, Path, Path]
                                         ) -> None:
    scene, scene_path, _ = exported
    from tests.conftest import subprocess_env

    env = {**subprocess_env(), "CASTLINE_CACHE_DIR": str(tmp_path / "cache"),
           "CASTLINE_STATE_DIR": str(tmp_path / "state")}
    store = TakeStore(takes_dir_for(scene_path))
    line = scene.lines[0]
    first = store.takes_for(line.id)[-1]
    # A second reading of line 1, made active, then the first chosen again.
    other = decode(store.path(first))
    import soundfile

    alt = tmp_path / "alt.wav"
    soundfile.write(alt, other.data[: len(other.data) // 2], other.rate)
    second = store.add(first.lines, first.texts, first.request, first.request_key, alt,
                       cost=first.cost, sandbox=True)
    for chosen in (second, first):
        store.set_active(line.id, chosen.id)
        out = tmp_path / chosen.id
        out.mkdir()
        p = castline("export", str(scene_path), "--to", str(out), "--sandbox", "--what",
                     "lines,manifest", "--name", "{id}-{take}", env=env)
        assert p.returncode == 0, p.stderr
        written = decode(out / f"{line.id}-{chosen.id}.wav")
        assert len(written.data) == len(decode(store.path(chosen)).data)


def test_bad_templates_and_collisions_are_refused_before_writing(
        tmp_path: Path, exported: tuple[Scene, Path, Path]) -> None:
    _, scene_path, _ = exported
    for n, (template, words) in enumerate((("{speaker}", "same file name"),
                                           ("{nope}", "the fields are"),
                                           ("plain", "must contain a field"))):
        out = tmp_path / f"o{n}"
        out.mkdir()
        p = castline("export", str(scene_path), "--to", str(out), "--sandbox", "--what", "lines",
                     "--name", template)
        assert p.returncode == 1 and words in p.stderr, p.stderr
        no_traceback(p)
        assert not any(out.iterdir())


@pytest.mark.parametrize("fmt", ["flac", "mp3"])
def test_other_formats_decode_to_the_same_timeline(
        tmp_path: Path, fmt: str, exported: tuple[Scene, Path, Path]) -> None:
    _, scene_path, wav_out = exported
    out = tmp_path / fmt
    out.mkdir()
    p = castline("export", str(scene_path), "--to", str(out), "--sandbox", "--format", fmt,
                 "--what", "mix,manifest")
    assert p.returncode == 0, p.stderr
    wav = decode(wav_out / "Scene.wav")
    other = decode(out / f"Scene.{fmt}")
    assert abs(len(other.data) / other.rate - len(wav.data) / wav.rate) <= 0.06
    doc = json.loads((out / "Scene_manifest.json").read_text("utf-8"))
    assert doc["lines"][0]["file"] == f"Scene.{fmt}"
    assert doc["lines"][0]["sha256"] == file_sha256(out / f"Scene.{fmt}")


def test_skip_leaves_missing_lines_out(tmp_path: Path, exported: tuple[Scene, Path, Path]) -> None:
    scene, scene_path, _ = exported
    scene.insert_lines(len(scene), [scene.new_line("PIP", "A line nobody rendered.")])
    path = tmp_path / "Scene.castline"
    sceneio.save(scene, path)
    import shutil

    shutil.copytree(takes_dir_for(scene_path), takes_dir_for(path))
    out = tmp_path / "out"
    out.mkdir()
    p = castline("export", str(path), "--to", str(out), "--sandbox", "--what", "srt",
                 "--missing", "skip")
    assert p.returncode == 0, p.stderr
    assert "Skipping: 1 line(s) have no audio: 6" in p.stderr
    assert len(cues((out / "Scene.srt").read_text("utf-8"), ",")) == 4
