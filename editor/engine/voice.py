"""Speech for the sandbox: espeak-ng when the machine has it, otherwise a
voice-like synthetic signal whose length follows the text (~15 characters/s)."""

from __future__ import annotations

import asyncio
import hashlib
import io
import re
import shutil

import numpy as np
import soundfile

from editor.engine.audio import Audio, resample

RATE = 22050
_TAG = re.compile(r"\[[^\]]*\]")
_VARIANTS = ("m1", "f2", "m3", "f4", "m7", "f3", "m2", "f1")


def speakable(text: str) -> str:
    return " ".join(_TAG.sub(" ", text).split())


def _seed(voice: str) -> int:
    return int.from_bytes(hashlib.sha256(voice.encode()).digest()[:4], "big")


def synthetic(text: str, voice: str, take: int = 0) -> Audio:
    """A harmonic tone with a syllable rhythm and a falling pitch contour.

    ``take`` varies the reading a little (pace), as v3 does from one render to the next.
    """
    words = speakable(text)
    seconds = max(0.4, len(words) / 15.0) * (1.0 + 0.04 * (take % 5))
    n = int(seconds * RATE)
    t = np.arange(n, dtype=np.float64) / RATE
    seed = _seed(voice)
    f0 = 95.0 + (seed % 120)  # 95..215 Hz: one pitch per voice
    contour = f0 * (1.08 - 0.16 * t / seconds) * (1 + 0.02 * np.sin(2 * np.pi * 5.5 * t))
    phase = 2 * np.pi * np.cumsum(contour) / RATE
    wave = sum(np.sin(k * phase) / k**1.3 for k in range(1, 9))
    syllables = 0.55 + 0.45 * np.sin(2 * np.pi * 4.0 * t + (seed % 7)) ** 2
    fade = np.minimum(1.0, np.minimum(t, seconds - t) / 0.05)
    out = 0.25 * wave * syllables * fade / 2.2
    return np.asarray(out, dtype=np.float32).reshape(-1, 1)


async def espeak(text: str, voice: str, language: str, take: int = 0) -> Audio | None:
    exe = shutil.which("espeak-ng")
    words = speakable(text)
    if exe is None or not words:
        return None
    variant = _VARIANTS[_seed(voice) % len(_VARIANTS)]
    lang = language if language and language != "auto" and len(language) == 2 else "en"
    pitch = str(30 + _seed(voice) % 40)
    try:
        proc = await asyncio.create_subprocess_exec(
            exe, "-v", f"{lang}+{variant}", "-p", pitch, "-s", str(165 - 6 * (take % 5)), "--stdout", words,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
        out, _ = await proc.communicate()
    except OSError:
        return None
    if proc.returncode != 0 or not out:
        return None
    try:
        data, rate = soundfile.read(io.BytesIO(out), dtype="float32", always_2d=True)
    except (RuntimeError, soundfile.LibsndfileError):
        return None
    return resample(data[:, :1], int(rate), RATE)


async def speak_dialogue(dialogue: list[dict[str, str]], language: str, fmt: str = "mp3",
                         use_espeak: bool = True, take: int = 0) -> bytes:
    """Encoded audio (MP3 or WAV) of a dialogue request; ``take`` varies the reading."""
    parts: list[Audio] = []
    pause = np.zeros((int(0.25 * RATE), 1), dtype=np.float32)
    for i, item in enumerate(dialogue):
        voice = item.get("voice", "") or "default"
        clip = await espeak(item["text"], voice, language, take) if use_espeak else None
        if clip is None:
            clip = synthetic(item["text"], voice, take)
        if i:
            parts.append(pause)
        parts.append(clip)
    data = np.concatenate(parts)
    buf = io.BytesIO()
    if fmt == "wav":
        soundfile.write(buf, data, RATE, format="WAV", subtype="PCM_16")
    else:
        soundfile.write(buf, data, RATE, format="MP3")
    return buf.getvalue()
