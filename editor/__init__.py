"""Castline: a dialogue editor that speaks scenes through ElevenLabs v3 (API in One)."""

__version__ = "0.1.0"
