"""The dialogue splitter (issue 17): answer segments win, the local aligner cuts generated
exchanges where the truth says, doubts what it should, and keeps a tag's sound with its line.
Speed is printed by ``bash packaging/dev bench split``, not asserted here."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from editor.engine.audio import Clip
from editor.engine.split import (
    Split,
    segments_from_answer,
    split_audio,
    split_by_silence,
    split_clip,
)
from editor.engine.voice import RATE, synthetic
from tests.benchmarks.split_corpus import _espeak, _tag_sound, _trim, error, make_clip

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None,
                                  reason="espeak-ng is not installed")
TEXTS = ["Where were you last night?", "At the office. The report was due.", "Right."]


def _noise(n: int, seed: int = 0, db: float = -50) -> np.ndarray:
    return 10 ** (db / 20) * np.random.default_rng(seed).standard_normal(n)


def _join(pieces: list[np.ndarray], gaps: list[float], rate: int = RATE
          ) -> tuple[np.ndarray, list[tuple[float, float]]]:
    """Pieces with the given silences after each; (audio with room noise, each piece's span)."""
    out, spans, pos = [], [], 0
    for p, g in zip(pieces, gaps, strict=True):
        spans.append((pos / rate, (pos + len(p)) / rate))
        out += [p, np.zeros(int(g * rate))]
        pos += len(p) + int(g * rate)
    x = np.concatenate(out)
    return (x + _noise(len(x))).astype(np.float32), spans


def _say(text: str, voice: str = "en-gb+f2", pitch: int = 70, wpm: int = 150) -> np.ndarray:
    return _trim(_espeak(text, voice, pitch, wpm, RATE), RATE)


# --- segments from the answer -----------------------------------------------------------------

def _silent(seconds: float) -> np.ndarray:
    return _noise(int(seconds * RATE)).astype(np.float32)


def test_voice_segments_from_the_answer_are_used_verbatim():
    answer = {"audio_base64": "AAAA", "voice_segments": [
        {"voice_id": "v1", "start_time_seconds": 0.12, "end_time_seconds": 1.5,
         "character_start_index": 0, "character_end_index": 26, "dialogue_input_index": 0},
        {"voice_id": "v2", "start_time_seconds": 1.81, "end_time_seconds": 4.02,
         "character_start_index": 26, "character_end_index": 60, "dialogue_input_index": 1},
        {"voice_id": "v1", "start_time_seconds": 4.3, "end_time_seconds": 4.9,
         "character_start_index": 60, "character_end_index": 66, "dialogue_input_index": 2},
    ]}
    split = split_clip(_silent(5.0), RATE, TEXTS, ["v1", "v2", "v1"], answer=answer)
    assert split.source == "answer"
    assert [(s.start, s.end) for s in split.lines] == [(0.12, 1.5), (1.81, 4.02), (4.3, 4.9)]
    assert all(s.confidence == 1.0 and not s.uncertain for s in split.lines)
    assert 1.5 <= split.cuts[0].at <= 1.81 and 4.02 <= split.cuts[1].at <= 4.3
    # the same from its JSON, camelCase, wrapped in "data", and with a line split in two segments
    wrapped = {"data": {"voiceSegments": [
        {"voiceId": "v1", "startTimeSeconds": 0.12, "endTimeSeconds": 0.9, "dialogueInputIndex": 0},
        {"voiceId": "v1", "startTimeSeconds": 1.0, "endTimeSeconds": 1.5, "dialogueInputIndex": 0},
        {"voiceId": "v2", "startTimeSeconds": 1.81, "endTimeSeconds": 4.02, "dialogueInputIndex": 1},
        {"voiceId": "v1", "startTimeSeconds": 4.3, "endTimeSeconds": 4.9, "dialogueInputIndex": 2},
    ]}}
    again = split_clip(_silent(5.0), RATE, TEXTS, answer=json.dumps(wrapped))
    assert [(s.start, s.end) for s in again.lines] == [(0.12, 1.5), (1.81, 4.02), (4.3, 4.9)]


def test_per_character_alignment_gives_each_line_its_span():
    chars = list("".join(TEXTS))
    times = np.linspace(0.1, 4.8, len(chars) + 1)
    answer = {"alignment": {"characters": chars,
                            "character_start_times_seconds": times[:-1].tolist(),
                            "character_end_times_seconds": times[1:].tolist()}}
    spans = segments_from_answer(answer, TEXTS, 5.0)
    assert spans is not None
    n0, n1 = len(TEXTS[0]), len(TEXTS[0]) + len(TEXTS[1])
    assert spans[0] == pytest.approx((times[0], times[n0]))
    assert spans[1][0] == pytest.approx(times[n0]) and spans[1][1] == pytest.approx(times[n1])
    assert split_clip(_silent(5.0), RATE, TEXTS, answer=answer).source == "answer"


@pytest.mark.parametrize("answer", [
    {"audio_url": "https://x/a.mp3"},
    {"voice_segments": [{"start_time_seconds": 0, "end_time_seconds": 1, "dialogue_input_index": 0}]},
    {"voice_segments": [{"start_time_seconds": 3, "end_time_seconds": 1, "dialogue_input_index": i}
                        for i in range(3)]},
    {"voice_segments": "nonsense"}, "not json", b"\xff",
])
def test_an_answer_without_usable_segments_is_not_trusted(answer):
    assert segments_from_answer(answer, TEXTS, 5.0) is None


# --- the local aligner ----------------------------------------------------------------------

@needs_espeak
@pytest.mark.parametrize("seed", [11, 12, 13])
def test_the_aligner_cuts_generated_exchanges_within_150_ms(seed):
    clip = make_clip(seed, n_lines=4)
    split = split_clip(clip.audio, clip.rate, clip.texts, clip.voices)
    assert split.source == "alignment" and len(split.cuts) == 3
    errors = [error(c.at, gap) for c, gap in zip(split.cuts, clip.truth, strict=True)]
    assert max(errors) <= 0.150, (errors, clip.texts, clip.voices)
    assert split.lines[0].start == 0 and split.lines[-1].end == pytest.approx(clip.seconds)
    assert [(a, b) for a, b in split.bounds()] == [(s.start, s.end) for s in split.lines]


@needs_espeak
def test_a_long_pause_inside_a_line_fools_the_baseline_not_the_aligner():
    a = _say("Well, I suppose so.")
    b = _say("No. Absolutely not. Never.", "en-us+klatt4", 40, 170)
    pause = np.zeros(int(0.9 * RATE), dtype=np.float32)
    first = np.concatenate([a, pause, _say("But honestly, I do not know.")])
    x, spans = _join([first, b], [0.15, 0.3])
    texts = ["Well, I suppose so. [long pause] But honestly, I do not know.",
             "No. Absolutely not. Never."]
    truth = (spans[0][1], spans[1][0])
    assert error(split_clip(x, RATE, texts).cuts[0].at, truth) == 0
    assert error(split_by_silence(x, RATE, 2).cuts[0].at, truth) > 0.5


@needs_espeak
@pytest.mark.parametrize("where", ["end", "start"])
def test_a_tags_sound_stays_with_its_line(where):
    rng = np.random.default_rng(5)
    laugh = _tag_sound("laughs", rng, RATE)
    one, two = _say("That is the funniest thing I have heard."), _say(
        "I am glad you think so.", "en-us+klatt4", 40, 170)
    join = np.zeros(int(0.1 * RATE), dtype=np.float32)
    if where == "end":
        pieces = [np.concatenate([one, join, laugh]), two]
        texts = ["That is the funniest thing I have heard. [laughs]", "I am glad you think so."]
    else:
        pieces = [one, np.concatenate([laugh, join, two])]
        texts = ["That is the funniest thing I have heard.", "[laughs] I am glad you think so."]
    x, spans = _join(pieces, [0.12, 0.2])
    cut = split_clip(x, RATE, texts).cuts[0].at
    assert spans[0][1] <= cut <= spans[1][0], (cut, spans)  # the laugh is whole, on its side


@needs_espeak
def test_cuts_with_no_silence_to_cut_in_are_uncertain():
    # the second voice starts while the first is still speaking: no clean cut exists
    a = synthetic("I was going to say something important", "x")[:, 0]
    b = synthetic("Wait, let me finish, please", "y")[:, 0]
    c = _say("Fine, go on then.")
    x = np.zeros(len(a) + len(b) + len(c) + RATE)
    start_b = len(a) - int(0.25 * RATE)
    x[: len(a)] += a
    x[start_b: start_b + len(b)] += b
    start_c = start_b + len(b) + int(0.4 * RATE)
    x[start_c: start_c + len(c)] += c
    x += _noise(len(x))
    texts = ["I was going to say something important", "Wait, let me finish, please",
             "Fine, go on then."]
    split = split_clip(x, RATE, texts)
    assert split.cuts[0].uncertain and split.lines[0].uncertain and split.lines[1].uncertain
    assert not split.cuts[1].uncertain and not split.lines[2].uncertain
    assert split.uncertain
    # lines back to back with no gap at all
    one, two = _say("I was going to say something"), _say("Let me finish", "en-us+klatt4", 40, 170)
    tight, _ = _join([one, two], [0.0, 0.2])
    assert split_clip(tight, RATE, ["I was going to say something", "Let me finish"]).cuts[0].uncertain
    # and where the script says the second line interrupts the first
    gap, _ = _join([one, two], [0.3, 0.2])
    doubted = split_clip(gap, RATE, ["I was going to say something", "[interrupting] Let me finish"])
    assert doubted.cuts[0].uncertain


def test_the_silence_baseline_cuts_at_the_longest_silences():
    a, b, c = (synthetic(t, v)[:, 0] for t, v in zip(TEXTS, "xyx", strict=True))
    x, spans = _join([a, b, c], [0.4, 0.25, 0.1])
    split = split_clip(x, RATE, TEXTS, method="silence")
    assert split.source == "silence" and len(split.cuts) == 2
    for cut, (end, start) in zip(split.cuts, [(spans[0][1], spans[1][0]),
                                              (spans[1][1], spans[2][0])], strict=True):
        assert end <= cut.at <= start


def test_one_line_is_the_whole_clip_and_stereo_is_mixed_down():
    x = np.stack([_silent(1.0), _silent(1.0)], axis=1)
    split = split_audio(Clip(x, RATE), ["Only me."])
    assert isinstance(split, Split) and split.source == "single" and split.cuts == ()
    assert split.lines[0].start == 0 and split.lines[0].duration == pytest.approx(1.0)
    with pytest.raises(ValueError, match="no lines"):
        split_clip(x, RATE, [])


@needs_espeak
def test_line_text_is_spoken_never_obeyed(tmp_path: Path):
    target = tmp_path / "owned.wav"
    texts = [f"-w {target}", f"--phonout={target} <speak>&amp;</speak>"]
    x, _ = _join([synthetic("a few words here", "x")[:, 0], synthetic("and more", "y")[:, 0]],
                 [0.3, 0.2])
    split_clip(x, RATE, texts)
    assert not target.exists()
