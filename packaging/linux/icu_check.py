"""Print what every ICU-backed Qt call gives, so two ICU data files can be compared.

Qt 6 calls ICU only from QtCore (checked with ``nm -D --undefined-only`` over the frozen tree:
no other binary imports an ICU symbol), for four things:
- collation (ucol_*): QCollator, QString::localeAwareCompare, and through them the sorting of
  file names in Castline's Open/Save/Import/Export file dialogs (QFileSystemModel);
- locale-aware case mapping (u_strToUpper/Lower): QLocale::toUpper/toLower;
- time-zone ids and display names (ucal_*): QTimeZone;
- legacy text encodings (ucnv_*): QStringDecoder/QStringEncoder for names Qt does not know.
Castline itself calls none of them directly; its file dialogs collate, and Qt may case-map.
This prints all four, over every locale Qt knows, so that ``trim_icu.py`` can prove a trimmed
data library answers every one of them byte for byte as the full one does:

    LD_PRELOAD=path/to/libicudata.so.73 python icu_check.py > out.txt
"""

from __future__ import annotations

import hashlib
import sys
from functools import cmp_to_key
from itertools import pairwise

from PySide6.QtCore import (
    QByteArray,
    QCollator,
    QLocale,
    QStringConverter,
    QStringDecoder,
    QStringEncoder,
    Qt,
    QTimeZone,
)

WORDS = [
    "apple", "Apple", "APPLE", "äpple", "Äpfel", "apfel", "zebra", "Zürich", "Ångström", "ångest",
    "Øre", "oere", "æble", "ash", "café", "cafe", "Cafe", "coté", "côte", "côté", "cote",
    "item2", "item10", "item1", "Item 3", "file-1.castline", "file_1.castline", "File 01",
    "chair", "czar", "cukor", "csak", "ch", "llama", "luz", "ñandú", "nube", "ıspanak", "ispanak",
    "İstanbul", "Istanbul", "şeker", "sugar", "Straße", "Strasse", "ĳs", "ijs", "Łódź", "lody",
    "Ωμέγα", "άλφα", "Αλφα", "ёж", "еда", "Ёлка", "жук", "שלום", "אבא", "مرحبا", "أب",
    "日本", "本日", "中文", "汉字", "한국", "가나", "ไทย", "ก่อน", "Việt", "viet", "हिन्दी",
    "[whispers]", "(beat)", "—dash", "-dash", "'quote", "\"quote", "  space", "#1", "@home",
    "", "0", "9", "½", "①", "🙂",
]
CASE = ["istanbul İSTANBUL ıi", "Straße ǅ ŉ ΐ", "ΆΛΦΑ άλφα σ Σ ΣΑΣ", "ĳsselmeer IJssel",
        "i̇ lithuanian Ĩ", "ﬁ ﬀ ﬃ", "Ȿ ȿ ⱥ Ⱥ", "Ǳ ǲ ǳ"]
ZONES = ["Europe/Berlin", "America/New_York", "Asia/Tokyo", "Australia/Lord_Howe",
         "America/Argentina/Buenos_Aires", "Asia/Kolkata", "Pacific/Chatham", "UTC",
         "Europe/London", "Africa/Casablanca", "America/Sao_Paulo", "Asia/Kathmandu"]
ENCODINGS = ["windows-1252", "ISO-8859-15", "ISO-8859-2", "KOI8-R", "windows-1251", "Shift_JIS",
             "EUC-JP", "GB18030", "Big5", "EUC-KR", "windows-1256", "ISO-8859-7", "IBM437",
             "macintosh", "TIS-620", "UTF-7", "SCSU", "BOCU-1", "CESU-8", "windows-874"]


def locales() -> list[QLocale]:
    found = QLocale.matchingLocales(QLocale.Language.AnyLanguage, QLocale.Script.AnyScript,
                                    QLocale.Country.AnyCountry)
    return [QLocale.c(), *sorted(found, key=QLocale.name)]


def collation(out: list[str]) -> None:
    for loc in locales():
        c = QCollator(loc)
        for case in (Qt.CaseSensitivity.CaseSensitive, Qt.CaseSensitivity.CaseInsensitive):
            for numeric in (False, True):
                for punct in (False, True):
                    c.setCaseSensitivity(case)
                    c.setNumericMode(numeric)
                    c.setIgnorePunctuation(punct)
                    order = sorted(WORDS, key=cmp_to_key(c.compare))
                    keys = [(w, c.sortKey(w)) for w in WORDS]
                    by_key = [w for w, _ in sorted(keys, key=cmp_to_key(
                        lambda a, b: a[1].compare(b[1])))]
                    cmp = [c.compare(a, b) for a, b in pairwise(WORDS)]
                    digest = hashlib.sha256(repr((order, by_key, cmp)).encode()).hexdigest()[:16]
                    out.append(f"coll {loc.bcp47Name()} {case.name} {numeric} {punct} {digest}")


def casing(out: list[str]) -> None:
    for loc in locales():
        out.append(f"case {loc.bcp47Name()} " + "|".join(loc.toUpper(s) + "/" + loc.toLower(s)
                                                        for s in CASE))


def zones(out: list[str]) -> None:
    ids = [bytes(z.data()).decode() for z in QTimeZone.availableTimeZoneIds()]
    out.append(f"zones {len(ids)} {hashlib.sha256(' '.join(ids).encode()).hexdigest()[:16]}")
    for name in ZONES:
        tz = QTimeZone(QByteArray(name.encode()))
        for loc in locales()[::7]:
            names = [tz.displayName(t, n, loc)
                     for t in (QTimeZone.TimeType.StandardTime, QTimeZone.TimeType.DaylightTime,
                               QTimeZone.TimeType.GenericTime)
                     for n in (QTimeZone.NameType.LongName, QTimeZone.NameType.ShortName,
                               QTimeZone.NameType.OffsetName)]
            out.append(f"tz {name} {loc.bcp47Name()} " + "|".join(names))


def encodings(out: list[str]) -> None:
    # PySide6 exposes no encode/decode call on QStringEncoder/QStringDecoder: from Python the
    # ICU converters are reachable only through their list, their names and validity.
    codecs = QStringConverter.availableCodecs()
    out.append(f"codecs {len(codecs)} " + hashlib.sha256(" ".join(codecs).encode()).hexdigest())
    for name in ENCODINGS + codecs:
        enc, dec = QStringEncoder(name), QStringDecoder(name)
        out.append(f"enc {name} {enc.isValid()} {dec.isValid()} {enc.name()} {dec.name()}")


def main() -> int:
    out: list[str] = []
    collation(out)
    casing(out)
    zones(out)
    encodings(out)
    sys.stdout.write("\n".join(out) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
