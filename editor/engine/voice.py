"""Speech for the sandbox: espeak-ng when the machine has it, otherwise a
voice-like synthetic signal whose length follows the text (~15 characters/s)."""

from __future__ import annotations

import asyncio
import hashlib
import io
import re
import shutil
import subprocess
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

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


_LANGUAGE = re.compile(r"[a-z]{2}")
ESPEAK_TIMEOUT = 60.0  # seconds; the sandbox's text limit keeps a reading far shorter
T = TypeVar("T")
# One thread of its own for the sandbox's decoding, synthesis and encoding. They hold the GIL
# in stretches, so several such threads at once would starve the event loop's thread (measured
# on 2 cores: 6 threads held it up 70-100 ms, this one thread under 20 ms) for no gain in speed.
_WORKER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="castline-sandbox-voice")


async def off_loop(fn: Callable[..., T], *args: object) -> T:
    """``fn(*args)`` on the sandbox's voice thread, awaited without blocking the loop."""
    return await asyncio.get_running_loop().run_in_executor(_WORKER, fn, *args)


def _clean(text: str) -> str:
    """The words to speak, as text espeak-ng can take: no control characters (a NUL ends
    its input early), no lone surrogates (they cannot be encoded)."""
    words = "".join(" " if ord(c) < 32 or ord(c) == 127 else c for c in speakable(text))
    return " ".join(words.encode("utf-8", "replace").decode("utf-8").split())


def espeak_command(exe: str, text: str, voice: str, language: str,
                   take: int = 0) -> tuple[list[str], bytes]:
    """The argument list and standard input for speaking ``text`` with espeak-ng.

    The text is data, never an argument: it goes on standard input (``--stdin``), so a line
    such as ``-w FILE``, ``-f FILE`` or ``--phonout=FILE`` is spoken, not obeyed. Every
    argument is computed here from a known set (the language must be two letters).
    """
    variant = _VARIANTS[_seed(voice) % len(_VARIANTS)]
    lang = language.lower() if isinstance(language, str) else ""
    lang = lang if _LANGUAGE.fullmatch(lang) else "en"
    pitch = str(30 + _seed(voice) % 40)
    argv = [exe, "-v", f"{lang}+{variant}", "-p", pitch, "-s", str(165 - 6 * (take % 5)),
            "--stdout", "--stdin"]
    return argv, _clean(text).encode("utf-8")


def _decode_wav(out: bytes) -> Audio | None:
    try:
        data, rate = soundfile.read(io.BytesIO(out), dtype="float32", always_2d=True)
    except (RuntimeError, soundfile.LibsndfileError):
        return None
    return resample(data[:, :1], int(rate), RATE)


def espeak(text: str, voice: str, language: str, take: int = 0) -> Audio | None:
    """``text`` read by espeak-ng (None if it is not installed or fails); blocking."""
    exe = shutil.which("espeak-ng")
    argv, stdin = espeak_command(exe or "espeak-ng", text, voice, language, take)
    if exe is None or not stdin:
        return None
    wav = run_espeak(argv, stdin)
    return None if wav is None else _decode_wav(wav)


def run_espeak(argv: list[str], stdin: bytes) -> bytes | None:
    """Run espeak-ng with the text on standard input (never as an argument); the WAV it
    wrote to standard output, or None when it failed or is missing."""
    try:
        done = subprocess.run(argv, input=stdin, capture_output=True, timeout=ESPEAK_TIMEOUT,
                              check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode != 0 or not done.stdout:
        return None
    return done.stdout


def _assemble(clips: list[Audio], fmt: str) -> bytes:
    parts: list[Audio] = []
    pause = np.zeros((int(0.25 * RATE), 1), dtype=np.float32)
    for i, clip in enumerate(clips):
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


def speak_dialogue_now(dialogue: list[dict[str, str]], language: str, fmt: str = "mp3",
                       use_espeak: bool = True, take: int = 0) -> bytes:
    """Encoded audio (MP3 or WAV) of a dialogue request; ``take`` varies the reading. Blocking:
    the sandbox calls it through :func:`speak_dialogue`."""
    clips: list[Audio] = []
    for item in dialogue:
        voice = item.get("voice", "") or "default"
        clip = espeak(item["text"], voice, language, take) if use_espeak else None
        clips.append(synthetic(item["text"], voice, take) if clip is None else clip)
    return _assemble(clips, fmt)


async def speak_dialogue(dialogue: list[dict[str, str]], language: str, fmt: str = "mp3",
                         use_espeak: bool = True, take: int = 0) -> bytes:
    """:func:`speak_dialogue_now` on the sandbox's voice thread: the event loop (the editor
    window's, when the sandbox runs inside the app) never waits on espeak-ng, synthesis or
    encoding, and one request is spoken at a time, so neither the GIL nor the CPU is taken
    from the loop's thread (measured on 2 cores: six espeak-ng readings at once held the loop
    up 160 ms, one at a time 8 ms, in the same total time)."""
    return await off_loop(speak_dialogue_now, dialogue, language, fmt, use_espeak, take)
