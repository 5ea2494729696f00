"""Import: real and messy Fountain files, plain text and CSV."""

from __future__ import annotations

from pathlib import Path

import pytest

from editor.core.importers import (
    ImportError_,
    import_file,
    parenthetical_tag,
    parse_csv,
    parse_fountain,
    parse_plain,
)

FOUNTAIN = Path(__file__).parent / "data" / "fountain"


def blocks(name: str) -> list[tuple[str, str]]:
    _title, found = parse_fountain((FOUNTAIN / name).read_text("utf-8"))
    return [(b.speaker, b.text) for b in found]


def test_brick_and_steel_yields_exactly_its_dialogue_in_order() -> None:
    assert blocks("brick-and-steel.fountain") == [
        ("BRICK", "Hey steel, I'm brick, and I think this is a great day to go and do stuff"),
        ("STEEL", "Beer's ready!"),
        ("BRICK", "Are they cold?"),
        ("STEEL", "Does a bear crap in the woods?"),
        ("STEEL", "[beer raised] To retirement."),
        ("BRICK", "To retirement."),
        ("STEEL", "Screw retirement."),
        ("BRICK", "Screw retirement."),  # dual dialogue: the ^ cue
        ("JACK", "[in Vietnamese, subtitled] Did you know Brick and Steel are retired?"),
        ("DAN", "Then let's retire them. Permanently."),
        ("STEEL", "They're coming out of the woodwork! [pause] No, everybody we've put away! "
                  "[pause] Point Blank Sniper?"),
        ("STEEL", "The man's a myth!"),
        ("MR. STEEL", "[oh crap] Hello..."),
        ("COGNITO", "Woah woah woah, Brick and Steel!"),
        ("COGNITO", "What is it you want with me, DICK?"),
        ("STEEL", "Who's coming after us?"),
        ("COGNITO", "Everyone's coming after you mate! Scorpio, The Boy Band, Sparrow, "
                    "Point Blank Sniper..."),
        ("BRICK", "This is everybody we've ever put away."),
        ("STEGEME", "by god Stegeme is gusto and awesome"),
        ("STEEL", "[starting the engine] So much for retirement!"),
        ("MINION", "We found Brick and Steel!"),
        ("HANDSOME MAN", "I want them dead. DEAD!"),
        ("character", "i am saying some dialog"),  # forced @ cue keeps its case
        ("I LIKE CHEESE", "I am a lucky cheese lover who really likes cheese. Cheese is super cool"),
    ]


def test_messy_file_with_every_non_dialogue_element() -> None:
    title, _ = parse_fountain((FOUNTAIN / "lighthouse-messy.fountain").read_text("utf-8"))
    assert title == "The Lighthouse"
    assert blocks("lighthouse-messy.fountain") == [
        ("HARRIET", "[whispers] Mind the glass, it remembers fingerprints."),
        ("TOMAS", "I heard that."),
        ("HARRIET", "You were meant to. [pause] Come up. Slowly."),
        ("TOMAS", "[laughs] Slowly is all I have left."),
        ("McGILLIS", "Ahoy! Anyone *home*?"),
        ("VOICE ON RADIO", "Coastguard to lighthouse, come in."),
        ("HARRIET", "Coastguard, we hear you. And we see you."),
    ]


def test_crlf_boneyard_and_transitions() -> None:
    assert blocks("crlf-boneyard.fountain") == [
        ("ANNA", "[sighs] Again?"), ("BEN", "Again."), ("ANNA", "[to Ben] Never again."),
    ]


@pytest.mark.parametrize(("paren", "tag"), [
    ("(whispering)", "[whispers]"), ("(laughing)", "[laughs]"), ("(sighing)", "[sighs]"),
    ("(beat)", "[pause]"), ("(pause)", "[pause]"), ("(Whispering.)", "[whispers]"),
    ("(into phone)", "[into phone]"),
])
def test_parentheticals_become_audio_tags(paren: str, tag: str) -> None:
    assert parenthetical_tag(paren) == tag


def test_import_file_builds_a_scene_with_every_speaker_in_the_cast(tmp_path: Path) -> None:
    scene = import_file(FOUNTAIN / "brick-and-steel.fountain")
    assert scene.title == "BRICK & STEEL"
    assert len(scene) == 24
    assert {"BRICK", "STEEL", "JACK", "DAN", "MR. STEEL", "character"} <= set(scene.cast)
    assert len({ln.id for ln in scene.lines}) == 24


def test_plain_text_with_wrapped_lines_and_comments() -> None:
    found = parse_plain("# a scene\nMARA: Did you hear that?\n\nJONAS (O.S.): Only the wind.\n"
                        "  It does that.\nMARA:   Hm.\n")
    assert [(b.speaker, b.text) for b in found] == [
        ("MARA", "Did you hear that?"), ("JONAS", "Only the wind. It does that."), ("MARA", "Hm."),
    ]
    with pytest.raises(ImportError_, match="Line 1 is not of the form"):
        parse_plain("Just prose without any speaker.\n")


def test_csv_with_header_settings_and_quoted_commas() -> None:
    lines = parse_csv('speaker,text,stability,language\nMARA,"Wait, what?",robust,en\n'
                      "JONAS,Nothing.,,\nMARA,Fine.,0.0,\n")
    assert [(ln.speaker, ln.text, ln.stability, ln.language_code) for ln in lines] == [
        ("MARA", "Wait, what?", 1.0, "en"), ("JONAS", "Nothing.", None, None),
        ("MARA", "Fine.", 0.0, None),
    ]
    lines = parse_csv("A,no header here\n")
    assert [(ln.speaker, ln.text) for ln in lines] == [("A", "no header here")]


@pytest.mark.parametrize(("text", "message"), [
    ("A,hi,loud\n", "CSV line 1: stability should be a number"),
    ("A,hi,2\n", "CSV line 1: stability"),
    ("A,hi,0.5,english language\n", "CSV line 1: language should be a code"),
    ("A\n", "CSV line 1: expected"),
])
def test_csv_errors_name_the_row(text: str, message: str) -> None:
    with pytest.raises(ImportError_, match=message):
        parse_csv(text)


def test_import_refuses_unknown_types_binary_and_empty(tmp_path: Path) -> None:
    (tmp_path / "a.docx").write_text("x")
    with pytest.raises(ImportError_, match=r"imports \.fountain, \.txt and \.csv"):
        import_file(tmp_path / "a.docx")
    (tmp_path / "b.txt").write_bytes(b"\x00\x01\x02")
    with pytest.raises(ImportError_, match="not a text file"):
        import_file(tmp_path / "b.txt")
    (tmp_path / "c.fountain").write_text("INT. ROOM - DAY\n\nNothing is said.\n")
    with pytest.raises(ImportError_, match="no dialogue found"):
        import_file(tmp_path / "c.fountain")
