"""Imports that keep the script (issue 16 item 5), against real files other people wrote.

The files live in ``shared/real-scripts`` beside the repository (SOURCES.md there says where
each comes from); they are read in place, never copied in.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from editor.core import sceneio
from editor.core.importers import (
    ImportError_,
    ImportOptions,
    import_file,
    import_script,
    import_text,
    map_parenthetical,
    parse_columns,
    preview,
)
from tests.conftest import subprocess_env

REAL = Path(__file__).resolve().parents[2].parent / "shared" / "real-scripts"
FOUNTAIN = Path(__file__).parents[1] / "data" / "fountain"


@pytest.fixture
def real() -> Path:
    if not REAL.is_dir():
        pytest.skip(f"the real scripts are not here ({REAL}); see shared/real-scripts/SOURCES.md")
    return REAL


def texts(scene_lines: list) -> str:  # type: ignore[type-arg]
    return "\n".join(f"{ln.speaker}: {ln.text} {ln.extra}" for ln in scene_lines)


# --- Final Draft ----------------------------------------------------------------------------

def test_gumshoe_fdx_speeches_speakers_parentheticals_and_styled_runs(real: Path) -> None:
    result = import_script(real / "gumshoe.fdx")
    assert result.format == "fdx" and len(result.scenes) == 1
    scene = result.scenes[0]
    assert len(scene) == 269  # one line per Character paragraph in Content (the 270th is a style)
    assert {"UDAXEK", "OVEHO", "ODE", "YZEPYPAX EWODEJO", "GODUHA"} <= set(scene.cast)
    assert all("(" not in name for name in scene.cast)
    # An italic run meeting a plain one mid-word is one word; curly quotes are kept.
    texts_ = [ln.text for ln in scene.lines]
    assert "Qa*’u yha kugywad qe ha yvy ys hur huxy...*" in texts_
    assert any("Ruzesaw, wapor." in t for t in texts_)
    # Scrambled parentheticals are not known directions: notes, never spoken.
    noted = [ln for ln in scene.lines if "note" in ln.extra]
    assert len(noted) >= 40 and result.stats["parentheticals kept as notes"] == 44
    assert noted[0].extra["note"] == "asygupo yzago ewojeq"
    assert not any("(" in t and t.startswith("[") for t in texts_)
    # Action and headings stay out of the lines; headings ride along as notes.
    assert not any(ln.speaker == "NARRATOR" for ln in scene.lines)
    assert scene.lines[0].extra["heading"].startswith("EXT. EGYDAXEPUPY QEDAXY - HUR (Z0) / ")
    assert result.stats["scene headings"] == 25


def test_gumshoe_split_makes_one_scene_per_heading_with_dialogue(real: Path) -> None:
    result = import_script(real / "gumshoe.fdx", ImportOptions(scenes="split"))
    assert len(result.scenes) == 18
    assert sum(len(s) for s in result.scenes) == 269
    assert result.scenes[0].title == "EXT. YDEGAWUVO’U OZEJY - HUR (Z0)"  # the heading
    assert sum(s.title.startswith(("INT", "EXT")) for s in result.scenes) == 16
    assert result.stats["scenes with no lines (left out)"] == 7


def test_extranormal_fdx_leaks_no_acts_headers_or_arc_beats(real: Path) -> None:
    scene = import_file(real / "extranormal.fdx")
    assert [ln.speaker for ln in scene.lines] == [
        "COLBY", "BRIAN", "COLBY", "BRIAN", "COLBY", "BRIAN", "WINNIE", "MORGAN", "MORGAN",
        "WINNIE", "MORGAN"]
    everything = json.dumps(sceneio.scene_to_data(scene), ensure_ascii=False)
    for leak in ("COLD OPEN", "END ACT ONE", "END OF PILOT", "TAG\"", "CharacterArcBeat"):
        assert leak not in everything
    assert scene.lines[0].text.startswith("A normal man couldn’t handle this job.")
    assert scene.lines[4].extra["note"] == "to camera, re: Brian"
    assert scene.lines[4].text.startswith("This is coming from a guy")
    assert scene.lines[10].text == "...Gene?"


def test_extranormal_action_as_narrator_and_headings_as_lines(real: Path) -> None:
    opts = ImportOptions(action="narrator", headings="line")
    scene = import_file(real / "extranormal.fdx", options=opts)
    narr = [ln for ln in scene.lines if ln.speaker == "NARRATOR"]
    assert [ln.extra["kind"] for ln in narr].count("action") == 14
    assert [ln.text for ln in narr if ln.extra["kind"] == "heading"] == [
        "EXT. SUBURBAN STREET - DAY", "COLBY AND BRIAN DRIVING", "EXT. LASER TAG PARKING LOT - NIGHT"]
    assert "Colby looks to camera: “I rest my case.”" in [ln.text for ln in narr]
    assert len(scene) == 11 + 14 + 3


FDX = """<?xml version="1.0" encoding="UTF-8"?>
<FinalDraft DocumentType="Script" Version="5"><Content>
<Paragraph Type="Scene Heading"><Text>INT. ROOM - NIGHT</Text></Paragraph>
<Paragraph Type="Character"><Text>MARA (V.O.)</Text></Paragraph>
<Paragraph Type="Parenthetical"><Text>(whispering, to Ben)</Text></Paragraph>
<Paragraph Type="Dialogue"><Text>Did you </Text><Text Style="Bold">hear</Text><Text>that?</Text></Paragraph>
<Paragraph><DualDialogue>
 <Paragraph Type="Character"><Text>BEN (CONT'D)</Text></Paragraph>
 <Paragraph Type="Dialogue"><Text>Hear what?</Text></Paragraph>
 <Paragraph Type="Character"><Text>MARA</Text></Paragraph>
 <Paragraph Type="Parenthetical"><Text>(laughs)</Text></Paragraph>
 <Paragraph Type="Dialogue"><Text>That.</Text></Paragraph>
</DualDialogue></Paragraph>
<Paragraph Type="Transition"><Text>CUT TO:</Text></Paragraph>
</Content>
<HeaderAndFooter><Header><Paragraph><Text>HEADER TEXT</Text></Paragraph></Header></HeaderAndFooter>
<TitlePage><Content><Paragraph><Text>TITLE PAGE</Text></Paragraph></Content></TitlePage>
</FinalDraft>
"""


def test_fdx_parentheticals_extensions_and_dual_dialogue() -> None:
    scene = import_text(FDX, "t.fdx").scenes[0]
    a, b, c = scene.lines
    assert (a.speaker, a.text) == ("MARA", "[whispers] Did you hearthat?")
    assert a.extra["note"] == "V.O.; to Ben" and a.extra["heading"] == "INT. ROOM - NIGHT"
    assert (b.speaker, b.text, "note" in b.extra) == ("BEN", "Hear what?", False)
    assert (c.speaker, c.text) == ("MARA", "[laughs] That.")
    assert b.extra["overlaps"] == c.id and c.extra["overlaps"] == b.id
    spoken = import_text(FDX, "t.fdx", ImportOptions(parentheticals="spoken")).scenes[0]
    assert spoken.lines[0].text == "[whispering, to Ben] Did you hearthat?"
    noted = import_text(FDX, "t.fdx", ImportOptions(parentheticals="note")).scenes[0]
    assert noted.lines[2].text == "That." and noted.lines[2].extra["note"] == "laughs"


@pytest.mark.parametrize("attack", [
    # billion laughs
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>'
    "<FinalDraft><Content><Paragraph Type=\"Dialogue\"><Text>&lol2;</Text></Paragraph>"
    "</Content></FinalDraft>",
    # external entity (XXE)
    '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    "<FinalDraft><Content><Paragraph Type=\"Dialogue\"><Text>&xxe;</Text></Paragraph>"
    "</Content></FinalDraft>",
    # a DOCTYPE in another case and spacing
    '<?xml version="1.0"?><!doctype FinalDraft SYSTEM "http://example.invalid/x.dtd"><FinalDraft/>',
])
def test_fdx_with_a_dtd_or_entities_is_refused(tmp_path: Path, attack: str) -> None:
    path = tmp_path / "evil.fdx"
    path.write_text(attack, "utf-8")
    with pytest.raises(ImportError_, match="refused"):
        import_file(path)
    assert "refused" in (preview(path).error or "")


def test_fdx_not_xml_or_not_final_draft_says_so(tmp_path: Path) -> None:
    (tmp_path / "a.fdx").write_text("<FinalDraft><Content>", "utf-8")
    with pytest.raises(ImportError_, match="not well-formed"):
        import_file(tmp_path / "a.fdx")
    (tmp_path / "b.fdx").write_text("<html><body/></html>", "utf-8")
    with pytest.raises(ImportError_, match="not a Final Draft script"):
        import_file(tmp_path / "b.fdx")


# --- Fountain --------------------------------------------------------------------------------

def test_fountain_parentheticals_mapped_or_noted_by_default() -> None:
    scene = import_file(FOUNTAIN / "brick-and-steel.fountain")
    assert not any("[beer raised]" in ln.text for ln in scene.lines)
    assert any(ln.extra.get("note") == "beer raised" for ln in scene.lines)
    steel = next(ln for ln in scene.lines if ln.text.startswith("They're coming"))
    assert "[pause]" in steel.text  # (beat) is a known direction
    dual = [ln for ln in scene.lines if "overlaps" in ln.extra]
    assert len(dual) == 2 and {ln.speaker for ln in dual} == {"STEEL", "BRICK"}


def test_fountain_every_parenthetical_spoken_keeps_the_old_behaviour() -> None:
    scene = import_file(FOUNTAIN / "brick-and-steel.fountain",
                        options=ImportOptions(parentheticals="spoken"))
    assert "[beer raised] To retirement." in [ln.text for ln in scene.lines]


def test_fountain_action_narrator_and_split_scenes() -> None:
    text = ("Title: T\n\nINT. ROOM - DAY #1#\n\nRain on the glass.\n\nMARA\n(sighs)\nAgain?\n\n"
            "> CUT TO:\n\nEXT. YARD - NIGHT\n\nBEN\nAgain.\n")
    result = import_text(text, "t.fountain", ImportOptions(scenes="split", action="narrator"))
    assert [s.title for s in result.scenes] == ["INT. ROOM - DAY", "EXT. YARD - NIGHT"]
    first = result.scenes[0].lines
    assert [(ln.speaker, ln.text) for ln in first] == [
        ("NARRATOR", "Rain on the glass."), ("MARA", "[sighs] Again?")]
    assert result.scenes[1].lines[0].text == "Again."


@pytest.mark.parametrize(("paren", "tags", "notes"), [
    ("(whispering)", ["[whispers]"], []), ("(whispers)", ["[whispers]"], []),
    ("(laughing)", ["[laughs]"], []), ("(Laughs.)", ["[laughs]"], []),
    ("(sighs)", ["[sighs]"], []), ("(shouting)", ["[shouting]"], []),
    ("(sarcastic)", ["[sarcastic]"], []), ("(crying)", ["[crying]"], []),
    ("(beat)", ["[pause]"], []), ("(cont'd)", [], []), ("(into phone)", [], ["into phone"]),
    ("(quietly, to herself)", ["[quietly]"], ["to herself"]),
])
def test_parenthetical_map(paren: str, tags: list[str], notes: list[str]) -> None:
    assert map_parenthetical(paren) == (tags, notes)


def test_every_mapped_tag_is_a_known_v3_tag() -> None:
    root = Path(__file__).resolve().parents[2] / "resources"
    known = set(json.loads((root / "audio_tags.json").read_text("utf-8"))["tags"])
    table = json.loads((root / "parentheticals.json").read_text("utf-8"))["map"]
    assert set(table.values()) <= known


# --- spreadsheets ----------------------------------------------------------------------------

def test_yarn_strings_file_speakers_split_out_of_the_text(real: Path) -> None:
    result = import_script(real / "yarn_space_en.csv")
    scene = result.scenes[0]
    assert result.delimiter == "," and result.columns["text"] == "text"
    assert result.columns["id"] == "id" and "speaker" not in result.columns
    assert len(scene) == 28
    first = scene.lines[0]
    assert (first.id, first.speaker, first.text) == ("line:5837f2", "Ship", "Hey, friend.")
    assert first.extra["file"] == "Ship.yarn" and first.extra["lock"] == "b709c42e"
    assert {ln.speaker for ln in scene.lines} == {"Ship", "Player", "Sally", "NARRATOR"}
    options = [ln for ln in scene.lines if ln.speaker == "NARRATOR"]
    assert [ln.text for ln in options] == ["Anything exciting happen on your watch?",
                                           "Sorry about the console.", "See you later."]
    assert scene.language_code == "en"  # every row's language
    chosen = import_file(real / "yarn_space_en.csv", options=ImportOptions(narrator="PLAYER"))
    assert sum(ln.speaker == "PLAYER" for ln in chosen.lines) == 3
    by_node = import_script(real / "yarn_space_en.csv", ImportOptions(scenes="split"))
    assert [s.title for s in by_node.scenes][:3] == ["Ship", "Sally", "Sally_Watch"]


def test_renpy_dialogue_tab(real: Path) -> None:
    result = import_script(real / "renpy_sunny_forest_dialogue.tab")
    scene = result.scenes[0]
    assert result.delimiter == "\t"
    assert result.columns == {"speaker": "Character", "text": "Dialogue", "id": "Identifier"}
    assert len(scene) == 294
    assert sum(ln.speaker == "NARRATOR" for ln in scene.lines) == 85
    assert scene.lines[0].id == "bus_5c41600c"
    assert scene.lines[0].text == "Две студентки на каникулах поехали отдохнуть на природе"
    assert scene.lines[3].speaker == "d" and scene.lines[3].extra["Ren'Py Script"] == 'd "[what]"'
    bold = next(ln for ln in scene.lines if ln.id == "credits_d477af83")
    assert bold.text == "Производство {b}{color=#00f7ff}Random Coder{/color}{/b}"
    assert "[b]" not in bold.text
    assert any("display tags" in w for w in result.warnings)
    assert any("[player_name]" in w for w in result.warnings)
    stripped = import_script(real / "renpy_sunny_forest_dialogue.tab",
                             ImportOptions(markup="strip")).scenes[0]
    assert stripped.lines[scene.row_of("credits_d477af83")].text == "Производство Random Coder"


def test_scene_character_dialogue_emotion_csv(tmp_path: Path) -> None:
    path = tmp_path / "episode.csv"
    path.write_text("Scene,Character,Dialogue,Emotion,Take\n"
                    "1,MARA,Did you hear that?,whispering,A\n"
                    "1,JONAS,Only the wind.,reluctant,\n"
                    "2,MARA,\"Fine, then.\",,B\n", "utf-8")
    p = preview(path)
    assert p.error is None and p.has_header
    assert p.columns == {"speaker": "Character", "text": "Dialogue", "emotion": "Emotion",
                         "scene": "Scene"}
    assert [(ln.speaker, ln.text) for ln in p.lines] == [
        ("MARA", "[whispers] Did you hear that?"), ("JONAS", "Only the wind."),
        ("MARA", "Fine, then.")]
    assert p.lines[1].note == "reluctant" and p.lines[0].extra["Take"] == "A"
    assert p.lines[0].extra["Scene"] == "1"
    split = import_script(path, ImportOptions(scenes="split"))
    assert [(s.title, len(s)) for s in split.scenes] == [("1", 2), ("2", 1)]
    mapped = import_file(path, options=ImportOptions(columns=parse_columns(
        "speaker=Character,text=Dialogue,notes=Emotion")))
    assert mapped.lines[0].text == "Did you hear that?"
    assert mapped.lines[0].extra["note"] == "whispering"


def test_semicolon_csv_with_other_headers_and_a_mapping(tmp_path: Path) -> None:
    path = tmp_path / "fr.csv"
    path.write_text("Personnage;Réplique;Commentaire\nMARIE;Bonjour, Paul.;au loin\n"
                    "PAUL;Salut; ça va ?;\n", "utf-8")
    result = import_script(path)
    assert result.delimiter == ";"
    assert result.columns == {"speaker": "Personnage", "text": "Réplique", "notes": "Commentaire"}
    assert [(ln.speaker, ln.text) for ln in result.scenes[0].lines] == [
        ("MARIE", "Bonjour, Paul."), ("PAUL", "Salut")]
    assert result.scenes[0].lines[0].extra["note"] == "au loin"
    odd = tmp_path / "odd.csv"
    odd.write_text("Who;Says\nMARIE;Bonjour.\n", "utf-8")
    two = import_file(odd, options=ImportOptions(header=True, columns={"speaker": "Who"}))
    assert [(ln.speaker, ln.text) for ln in two.lines] == [("MARIE", "Bonjour.")]  # the other
    three = tmp_path / "three.csv"
    three.write_text("Who;Says;When\nMARIE;Bonjour.;now\n", "utf-8")
    with pytest.raises(ImportError_, match="which column holds the lines"):
        import_file(three, options=ImportOptions(header=True, columns={"speaker": "Who"},
                                                 delimiter=";"))
    p = preview(odd, ImportOptions(columns={"speaker": "Who", "text": "says"}))
    assert p.error is None and [ln.text for ln in p.lines] == ["Bonjour."]
    p = preview(odd, ImportOptions(columns={"text": "Nope"}))
    assert p.error is not None and "no column 'Nope'" in p.error and p.headers == ["Who", "Says"]


def test_csv_ids_duplicated_are_renumbered_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("ID,Speaker,Line\nA1,MARA,one\nA1,JONAS,two\n", "utf-8")
    scene = import_file(path)
    assert scene.lines[0].id == "A1" and scene.lines[1].id != "A1"
    assert scene.lines[1].extra["source id"] == "A1"


def test_the_door_checks_every_new_path(tmp_path: Path) -> None:
    path = tmp_path / "s.tsv"
    path.write_bytes(b"Character\tDialogue\tNotes\nMARA\thi\tok\x07\n")
    with pytest.raises(ImportError_) as e:
        import_file(path)
    assert "line 2" in str(e.value) and "'notes'" in str(e.value) and "U+0007" in str(e.value)
    fdx = tmp_path / "c1.fdx"
    fdx.write_text(FDX.replace("Hear what?", "Hear\x9b what?"), "utf-8")
    with pytest.raises(ImportError_) as e:
        import_file(fdx)
    assert "line 9" in str(e.value) and "U+009B" in str(e.value)


# --- the command line --------------------------------------------------------------------------

def castline(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "editor", *args], capture_output=True,
                          text=True, env=subprocess_env(), timeout=120, check=False)


def test_cli_preview_writes_nothing_and_split_writes_numbered_files(real: Path,
                                                                    tmp_path: Path) -> None:
    p = castline("import", str(real / "renpy_sunny_forest_dialogue.tab"), "--preview",
                 "--rows", "3")
    assert p.returncode == 0, p.stderr
    assert "delimited by TAB" in p.stdout and "speaker=Character" in p.stdout
    assert "294 lines in 1 scene(s)" in p.stdout and "NARRATOR (85)" in p.stdout
    p = castline("import", str(real / "extranormal.fdx"), "--preview", "--json")
    assert p.returncode == 0 and json.loads(p.stdout)["total_lines"] == 11
    assert not list(tmp_path.iterdir())
    out = tmp_path / "ep.castline"
    p = castline("import", str(real / "extranormal.fdx"), "--scenes", "split", "-o", str(out))
    assert p.returncode == 0, p.stderr
    written = sorted(f.name for f in tmp_path.iterdir())
    assert written == ["ep-01.castline", "ep-02.castline"]
    assert sceneio.load(tmp_path / "ep-01.castline").title == "COLBY AND BRIAN DRIVING"
    p = castline("import", str(real / "extranormal.fdx"), "--scenes", "split", "-o", str(out))
    assert p.returncode != 0 and "already exists" in p.stderr


def test_cli_columns_and_bad_options(tmp_path: Path) -> None:
    src = tmp_path / "s.csv"
    src.write_text("Who,Says,Mood\nMARA,Hello.,angry\n", "utf-8")
    out = tmp_path / "s.castline"
    p = castline("import", str(src), "-o", str(out), "--columns", "speaker=Who,text=Says,emotion=Mood")
    assert p.returncode == 0, p.stderr
    line = sceneio.load(out).lines[0]
    assert (line.speaker, line.text) == ("MARA", "[angry] Hello.")
    p = castline("import", str(src), "-o", str(tmp_path / "x.castline"), "--columns", "voice=Who")
    assert p.returncode == 2 and "not a column role" in p.stderr and "Traceback" not in p.stderr
    p = castline("import", str(src))
    assert p.returncode == 2 and "-o SCENE" in p.stderr
