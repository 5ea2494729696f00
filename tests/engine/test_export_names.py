"""Export names and subtitle fields are hostile input too: a scene's title, a line's id,
speaker or text must not make a name Windows, macOS or Linux refuses (or takes for a device),
nor add a subtitle cue or an Audacity label. Written, and seen to fail, before the fix."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from editor.core.scene import Line, Scene
from editor.engine.export import Clip, Exporter, Source, file_name, labels, plan_export, srt, vtt
from editor.engine.projectfs import is_device_name

DEVICES = ["CON", "con", "Nul", "PRN", "aux", "COM1", "com9", "LPT1", "lpt9", "CON.txt",
           "nul.tar.gz", "AUX ", "COM¹"]


@pytest.mark.parametrize("name", DEVICES)
def test_a_windows_device_name_is_never_an_export_name(name: str) -> None:
    made = file_name("{id}", "wav", id=name)
    assert made.endswith(".wav") and not is_device_name(made)
    assert made.casefold().startswith("_" + name.split(".", maxsplit=1)[0].strip().casefold())


@pytest.mark.parametrize("title", ["CON", "nul", "Lpt3"])
def test_a_scene_titled_like_a_device_exports_under_a_safe_name(title: str, tmp_path: Path) -> None:
    scene = Scene(title=title)
    scene.insert_lines(0, [scene.new_line("A", "x")])
    exporter = Exporter(scene, plan_export(scene, lambda ln: Source(tmp_path / "x.wav")),
                        tmp_path, what=("mix", "srt"))
    assert not is_device_name(exporter.base) and not is_device_name(f"{exporter.base}.srt")


@pytest.mark.parametrize(("raw", "expected"), [
    ("take. . ", "take.wav"), ("  spaced  ", "spaced.wav"), ("...", "scene.wav"),
    ('a<b>c:d"e/f\\g|h?i*j', "a_b_c_d_e_f_g_h_i_j.wav"), ("tab\there\x7f", "tab_here_.wav"),
    ("..\\..\\evil", "_.._evil.wav")])
def test_reserved_characters_dots_and_spaces(raw: str, expected: str) -> None:
    assert file_name("{id}", "wav", id=raw) == expected


@pytest.mark.parametrize("char", ["a", "é", "語", "😀"])
def test_a_long_name_is_cut_to_255_bytes_on_a_character_keeping_the_extension(
        char: str, tmp_path: Path) -> None:
    made = file_name("{id}", "flac", id=char * 300)
    assert len(made.encode("utf-8")) <= 255 and made.endswith(".flac")
    assert made[:-5] == char * len(made[:-5])  # whole characters only
    assert len(made.encode("utf-8")) > 255 - 4 - len(".flac")  # not cut shorter than needed
    (tmp_path / made).write_bytes(b"")  # the file system takes it


@settings(max_examples=150, deadline=None)
@given(text=st.text(max_size=300), fmt=st.sampled_from(["wav", "mp3", "flac"]))
def test_any_text_gives_a_name_safe_everywhere(text: str, fmt: str) -> None:
    made = file_name("{id}", fmt, id=text)
    assert made.endswith(f".{fmt}") and len(made.encode("utf-8")) <= 255
    assert not re.search(r'[<>:"/\\|?*\x00-\x1f]', made)
    stem = made[:-len(fmt) - 1]
    assert stem and stem == stem.strip(" .") and not is_device_name(made)


# --- subtitles and labels -----------------------------------------------------------------------

INJECT = "Hi.\n\n99\n00:00:05,000 --> 00:00:09,000\nInjected cue"


def hostile_clips() -> list[Clip]:
    one = Line(id="l1\n\n00:00:05.000 --> 00:00:09.000\ninjected", speaker="MA\nRA",
               text=INJECT)
    two = Line(id="l2", speaker="JO\tNAS\n\n3", text="a <b>bold</b> & --> c\r\nline\u2028two")
    three = Line(id="l3", speaker="PIP>\n", text="tab\there\x0bvt")
    return [Clip([0], [one], Source(Path("a.wav")), 0.0, 1.0),
            Clip([1, 2], [two, three], Source(Path("b.wav")), 1.5, 2.0),
            Clip([3], [three], Source(Path("c.wav")), 4.0, 1.0)]


def test_no_field_adds_an_srt_cue() -> None:
    text = srt(hostile_clips())
    blocks = text.strip("\n").split("\n\n")
    assert len(blocks) == 3 and text.count("-->") == 3
    for n, block in enumerate(blocks, 1):
        rows = block.split("\n")
        assert rows[0] == str(n) and re.fullmatch(r"[\d:,]+ --> [\d:,]+", rows[1])


def test_no_field_adds_a_webvtt_cue_or_tag() -> None:
    text = vtt(hostile_clips())
    assert text.startswith("WEBVTT\n\n")
    blocks = text.strip("\n").split("\n\n")[1:]
    assert len(blocks) == 3 and text.count("-->") == 3
    for block in blocks:
        rows = block.split("\n")
        timing = 1 if "-->" in rows[1] else 0
        assert re.fullmatch(r"[\d:.]+ --> [\d:.]+", rows[timing])
        if timing:
            assert rows[0] and "-->" not in rows[0]  # the cue id: one line
    assert "&lt;b&gt;bold&lt;/b&gt; &amp;" in text and "<b>" not in text
    assert re.findall(r"<[^>]*>", text) == ["<v MA RA>", "<v PIP&gt;>"]  # only our voice tags


def test_no_field_adds_an_audacity_label() -> None:
    rows = labels(hostile_clips()).rstrip("\n").split("\n")
    assert len(rows) == 3
    for row in rows:
        start, end, text = row.split("\t")
        assert float(start) < float(end) and text
