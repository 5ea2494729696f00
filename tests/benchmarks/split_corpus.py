"""A labeled set for the dialogue splitter, generated (seeded) at bench or test time, never stored.

Each clip joins single-line renders with random gaps (50-700 ms), in voices the splitter's
reference never uses (espeak-ng accents and variants other than its plain voice, with their own
pitch and speed, some resampled to shift pitch and pace, and the sandbox's synthetic voice),
adds room noise (pink-ish hiss and a mains hum), gives some lines tags that make sound (laughs
and breaths made of noise bursts, at the start, in the middle or at the end of the line) or
pause tags, and sometimes passes through MP3. The truth is each boundary's gap: where line i's
sound ends and line i+1's begins.
"""

from __future__ import annotations

import io
import shutil
import subprocess
from dataclasses import dataclass

import numpy as np
import soundfile

from editor.engine.audio import resample
from editor.engine.voice import synthetic

# (espeak-ng voice, pitch, words per minute): none is the splitter's reference voice (the
# plain language voice, pitch 50, 170 wpm).
ESPEAK_VOICES = (
    ("en-gb+f2", 70, 150), ("en-gb-scotland+m3", 35, 185), ("en-us+klatt4", 55, 140),
    ("en-029+f4", 80, 160), ("en-gb-x-rp+m7", 25, 178), ("en+croak", 40, 155),
    ("en-gb-x-gbclan+f3", 62, 195), ("en-us-nyc+Andy", 45, 165), ("en-gb-x-gbcwmd+f5", 75, 145),
    ("en-us+Storm", 30, 172), ("en-gb+Annie", 66, 158), ("en-us+male5", 38, 188),
)
SYNTHETIC = "synthetic"

LINES = (
    "Where were you last night? I waited until ten.",
    "I told you, I was at the office. The report was due.",
    "The office. Right. And the office smells of perfume now?",
    "Oh, come on. That's from the lift, there was a woman with a dog.",
    "A dog. Of course there was a dog.",
    "Look, I'm not doing this again, not tonight.",
    "Fine. Then when? Tomorrow? Next week?",
    "Tomorrow. I promise, we'll talk tomorrow.",
    "Captain, the engines are failing, we have maybe five minutes.",
    "Five minutes is plenty. Reroute the power from the shields.",
    "Without shields, one more hit and we're finished.",
    "Then we don't take another hit. Helm, bring us about.",
    "Aye, sir. Coming about now.",
    "Did anyone else hear that noise?",
    "It's the wind. It's always the wind in this house.",
    "The wind doesn't knock three times.",
    "Okay, okay. Nobody go upstairs, agreed?",
    "Agreed. Absolutely agreed.",
    "So, what do you think of the new place?",
    "Honestly? It's small, but the light is lovely in the morning.",
    "And the neighbours?",
    "Loud. Very loud. They sing, every evening, at seven.",
    "That sounds charming, actually.",
    "You say that now. Wait until you hear them.",
    "We need the money by Friday, or the deal is off.",
    "Friday is impossible. Give me until Monday.",
    "Monday, then. But not a minute later.",
    "You have my word.",
    "Your word. That's worth about as much as your car.",
    "Hey, leave the car out of this.",
    "Is this seat taken?",
    "No, please, sit down.",
    "Thanks. Long day?",
    "The longest. I started at five, and I'm still here.",
    "Well, here's to long days ending.",
    "I'll drink to that.",
)
SOUND_TAGS = ("laughs", "sighs", "exhales", "laughs harder", "clears throat", "gasps")


@dataclass(frozen=True, slots=True)
class LabeledClip:
    audio: np.ndarray  # mono float32
    rate: int
    texts: list[str]
    voices: list[str]
    truth: list[tuple[float, float]]  # per boundary: (end of line i, start of line i+1), s
    lines: list[tuple[float, float]]  # each line's sound, seconds

    @property
    def seconds(self) -> float:
        return len(self.audio) / self.rate


def _espeak(text: str, voice: str, pitch: int, wpm: int, rate: int) -> np.ndarray:
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise RuntimeError("espeak-ng is not installed")
    done = subprocess.run([exe, "-v", voice, "-p", str(pitch), "-s", str(wpm), "--stdout",
                           "--stdin"], input=text.encode(), capture_output=True, check=True,
                          timeout=60)
    data, r = soundfile.read(io.BytesIO(done.stdout), dtype="float32", always_2d=True)
    return resample(data[:, :1], int(r), rate)[:, 0]


def _trim(y: np.ndarray, rate: int) -> np.ndarray:
    """Cut leading and trailing silence, so a line's sound starts and ends where we say."""
    hop = max(1, rate // 200)
    n = len(y) // hop
    if n == 0:
        return y
    env = np.sqrt((y[: n * hop].reshape(n, hop) ** 2).mean(axis=1))
    loud = np.flatnonzero(env > env.max() * 10 ** (-40 / 20))
    if not len(loud):
        return y
    return y[loud[0] * hop: (loud[-1] + 1) * hop]


def _tag_sound(tag: str, rng: np.random.Generator, rate: int) -> np.ndarray:
    """A laugh (2-6 voiced-noise bursts) or a breath (one long soft burst), never the
    splitter's own placeholder shape."""
    laugh = "laugh" in tag
    bursts = int(rng.integers(2, 7)) if laugh else 1
    parts = []
    for b in range(bursts):
        n = int(rate * (rng.uniform(0.07, 0.16) if laugh else rng.uniform(0.3, 0.6)))
        t = np.arange(n) / rate
        env = np.sin(np.pi * np.arange(n) / n) ** (1.5 if laugh else 3)
        noise = rng.standard_normal(n)
        k = int(rng.integers(2, 9))
        noise = np.convolve(noise, np.ones(k) / k, mode="same")
        if laugh:  # a little voicing under the breath
            noise = noise + 0.8 * np.sin(2 * np.pi * rng.uniform(180, 320) * t)
        parts.append((rng.uniform(0.08, 0.25) if laugh else rng.uniform(0.03, 0.08)) * env * noise)
        if b < bursts - 1:
            parts.append(np.zeros(int(rate * rng.uniform(0.03, 0.09))))
    return np.concatenate(parts).astype(np.float32)


def _render_line(text: str, words: list[tuple[str, str]], voice: str, shift: float,
                 rng: np.random.Generator, rate: int) -> np.ndarray:
    parts: list[np.ndarray] = []
    spec = next((v for v in ESPEAK_VOICES if v[0] == voice), None)
    for kind, w in words:
        if kind == "say":
            if spec is None:
                y = synthetic(w, f"bench-{voice}", int(rng.integers(0, 5)))[:, 0]
                y = resample(y.reshape(-1, 1), 22050, rate)[:, 0]
            else:
                y = _espeak(w, spec[0], spec[1], spec[2], rate)
            y = _trim(y, rate)
            if shift != 1.0:  # pitch and pace together, as a resampled voice
                y = resample(y.reshape(-1, 1), round(rate * shift), rate)[:, 0]
        elif kind == "sound":
            y = _tag_sound(w, rng, rate)
        else:
            y = np.zeros(int(rate * rng.uniform(0.3, 0.9)), dtype=np.float32)
        if parts:
            parts.append(np.zeros(int(rate * rng.uniform(0.06, 0.16)), dtype=np.float32))
        parts.append(y.astype(np.float32))
    return np.concatenate(parts)


def _with_tag(text: str, rng: np.random.Generator) -> tuple[str, list[tuple[str, str]]]:
    """Maybe give the line a tag: a sound at its start, middle or end, or a pause in it."""
    roll = rng.random()
    if roll < 0.55:
        return text, [("say", text)]
    if roll < 0.9:
        tag = str(rng.choice(SOUND_TAGS))
        where = int(rng.integers(0, 3))
        if where == 0:
            return f"[{tag}] {text}", [("sound", tag), ("say", text)]
        if where == 2:
            return f"{text} [{tag}]", [("say", text), ("sound", tag)]
        cut = text.find(". ")
        if cut < 0:
            return f"{text} [{tag}]", [("say", text), ("sound", tag)]
        a, b = text[: cut + 1], text[cut + 2:]
        return f"{a} [{tag}] {b}", [("say", a), ("sound", tag), ("say", b)]
    cut = text.find(". ")
    if cut < 0:
        return f"[sarcastic] {text}", [("say", text)]
    a, b = text[: cut + 1], text[cut + 2:]
    return f"{a} [pause] {b}", [("say", a), ("pause", "pause"), ("say", b)]


def make_clip(seed: int, n_lines: int | None = None, rate: int | None = None,
              mp3: bool | None = None) -> LabeledClip:
    rng = np.random.default_rng(seed)
    rate = rate or int(rng.choice([22050, 24000, 44100]))
    n = n_lines or int(rng.integers(3, 8))
    first = int(rng.integers(0, len(LINES)))
    cast = [str(v[0]) for v in ESPEAK_VOICES] + [SYNTHETIC]
    picked = rng.choice(len(cast), size=2 if rng.random() < 0.7 else 3, replace=False)
    speakers = [cast[int(k)] for k in picked]
    shifts = [float(rng.choice([1.0, 1.0, 0.9, 1.12])) for _ in speakers]
    gains = [float(10 ** (rng.uniform(-5, 2) / 20)) for _ in speakers]
    texts, voices, pieces = [], [], []
    line_spans: list[tuple[float, float]] = []
    lead = np.zeros(int(rate * rng.uniform(0.05, 0.4)), dtype=np.float32)
    pieces.append(lead)
    pos = len(lead)
    for i in range(n):
        s = i % len(speakers) if rng.random() < 0.85 else int(rng.integers(0, len(speakers)))
        text, words = _with_tag(LINES[(first + i) % len(LINES)], rng)
        y = _render_line(text, words, speakers[s], shifts[s], rng, rate) * gains[s]
        texts.append(text)
        voices.append(speakers[s])
        line_spans.append((pos / rate, (pos + len(y)) / rate))
        pieces.append(y)
        pos += len(y)
        tail = rng.uniform(0.05, 0.7) if i < n - 1 else rng.uniform(0.05, 0.4)
        gap = np.zeros(int(rate * tail), dtype=np.float32)
        pieces.append(gap)
        pos += len(gap)
    audio = np.concatenate(pieces).astype(np.float64)
    # room noise: pink-ish hiss and a little hum
    white = rng.standard_normal(len(audio))
    pink = np.cumsum(white) * 0.02
    pink -= np.convolve(pink, np.ones(2001) / 2001, mode="same")
    hiss = white * 0.6 + pink
    hiss *= 10 ** (rng.uniform(-56, -44) / 20) / (np.std(hiss) + 1e-12)
    t = np.arange(len(audio)) / rate
    hum = 10 ** (rng.uniform(-62, -52) / 20) * np.sin(2 * np.pi * float(rng.choice([50, 60])) * t)
    audio = np.clip(audio + hiss + hum, -1, 1).astype(np.float32)
    if mp3 if mp3 is not None else rng.random() < 0.3:
        buf = io.BytesIO()
        soundfile.write(buf, audio, rate, format="MP3")
        decoded, r2 = soundfile.read(io.BytesIO(buf.getvalue()), dtype="float32")
        audio = decoded[: len(audio)] if decoded.ndim == 1 else decoded[: len(audio), 0]
        rate = int(r2)
    truth = [(line_spans[i][1], line_spans[i + 1][0]) for i in range(n - 1)]
    return LabeledClip(np.ascontiguousarray(audio, dtype=np.float32), rate, texts, voices, truth,
                       line_spans)


def error(cut: float, gap: tuple[float, float]) -> float:
    """How far a cut is from the true gap: 0 inside it (nothing of either line is lost)."""
    a, b = gap
    return max(0.0, a - cut, cut - b)
