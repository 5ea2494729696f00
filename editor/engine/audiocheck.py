"""Is this file playable audio? (Light to import: soundfile loads on first use.)"""

from __future__ import annotations

from pathlib import Path

from editor.engine.errors import BadAudio


def sniff_audio_suffix(head: bytes) -> str:
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return ".wav"
    if head.startswith(b"fLaC"):
        return ".flac"
    if head.startswith(b"OggS"):
        return ".ogg"
    if head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return ".mp3"
    return ".bin"


def check_audio_file(path: Path) -> float:
    """The duration in seconds, or :class:`BadAudio` if the file is not playable audio."""
    import soundfile  # numpy + libsndfile: loaded on first use, not at start-up

    with open(path, "rb") as f:
        head = f.read(16)
    if sniff_audio_suffix(head) == ".bin":
        raise BadAudio("the file is not MP3, WAV, FLAC or OGG audio", transient=True)
    try:
        info = soundfile.info(str(path))
        frames = info.frames
        if frames <= 0 or frames > 10**10:
            # Some MP3s report no length up front: decode to be sure.
            data, _sr = soundfile.read(str(path), dtype="float32")
            frames = len(data)
        if frames <= 0:
            raise BadAudio("the audio is empty")
        return float(frames) / float(info.samplerate)
    except (RuntimeError, soundfile.LibsndfileError) as e:
        raise BadAudio(f"the audio cannot be decoded ({e})", transient=True) from None
