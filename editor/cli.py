"""The ``castline`` command (CONTRACT §3).

``castline [SCENE]`` opens the editor; the subcommands work headless. Every
failure ends with one paragraph that says what failed and what to do, and a
non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from editor import __version__

WHAT_DEFAULT = ("mix", "lines", "stems", "srt", "vtt", "labels", "manifest")

COMMANDS = ("render", "export", "cost", "status", "import", "sandbox", "key")
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
# castline key status|test (see 'castline key --help'): scripts decide from these, not from text.
EXIT_NO_KEY, EXIT_KEY_REJECTED, EXIT_UNREACHABLE, EXIT_UNVERIFIED, EXIT_KEYRING = 1, 3, 4, 5, 6


class CliError(Exception):
    """Ends the command with this paragraph and exit status."""

    def __init__(self, message: str, status: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.status = status


def _fail(message: str, status: int = EXIT_FAILED) -> NoReturn:
    raise CliError(message, status)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        _fail(f"{message}. See '{self.prog} --help'.", EXIT_USAGE)


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="castline", description="Castline: hear a scene spoken by ElevenLabs v3 "
                "through API in One. With no command, opens the editor.")
    p.add_argument("--version", action="version", version=f"castline {__version__}")
    sub = p.add_subparsers(dest="command", parser_class=_Parser)

    r = sub.add_parser("render", help="render a scene to an audio file, headless",
                       description="Render SCENE to OUT (.wav, .flac or .mp3). Key from "
                       "APIINONE_API_KEY or the OS keyring; --sandbox needs none.")
    r.add_argument("scene", type=Path)
    r.add_argument("-o", "--output", type=Path, required=True, metavar="OUT")
    r.add_argument("--mode", choices=("lines", "take"), default="lines",
                   help="lines: one request per line; take: consecutive lines sharing "
                   "stability and language in one request (default: lines)")
    r.add_argument("--gap-ms", type=int, default=None,
                   help="silence between lines without a pause of their own (default: the "
                   "scene's gap, else 300)")
    r.add_argument("--jobs", type=int, default=4, help="parallel requests (default 4)")
    r.add_argument("--sandbox", action="store_true",
                   help="use the built-in stand-in service (no key, no credits spent)")
    r.add_argument("--resend-unknown", action="store_true",
                   help="send again the requests whose answer was lost after they were sent "
                   "(they may already have been charged: this may pay for them twice)")
    r.add_argument("--force", action="store_true",
                   help="render even when the check before sending finds problems (characters "
                   "with no voice, unknown voices or tags, empty lines...); without it they "
                   "are listed and nothing is sent (exit 1)")

    st = sub.add_parser("status", help="which lines are rendered, pending or maybe charged",
                        description="Per line of SCENE: rendered (a usable take or cached "
                        "audio), pending (sent, audio not yet fetched), maybe charged (sent, "
                        "answer lost), being sent by another render, locked, or to render.")
    st.add_argument("scene", type=Path)
    st.add_argument("--mode", choices=("lines", "take"), default="lines")
    st.add_argument("--sandbox", action="store_true",
                    help="the built-in stand-in service's audio")
    st.add_argument("--json", action="store_true", help="machine-readable output")

    e = sub.add_parser("export", help="write the scene's audio, lines, stems, subtitles, manifest",
                       description="Export SCENE's chosen takes into DIR. Lines without audio "
                       "stop the export unless --missing says what to do.")
    e.add_argument("scene", type=Path)
    e.add_argument("--to", type=Path, required=True, metavar="DIR", dest="folder")
    e.add_argument("--what", default=",".join(WHAT_DEFAULT),
                   help="comma-separated: mix,lines,stems,srt,vtt,labels,manifest "
                   "(default: all)")
    e.add_argument("--format", choices=("wav", "mp3", "flac"), default="wav",
                   help="audio format (default wav)")
    e.add_argument("--name", default="{index:03}_{speaker}_{id}",
                   help="file name template for --what lines; fields {index} {id} {speaker} "
                   "{voice} {take} {title} (default '{index:03}_{speaker}_{id}')")
    e.add_argument("--missing", choices=("fail", "skip", "render"), default="fail",
                   help="lines without audio: stop (default), leave them out, or render them")
    e.add_argument("--mode", choices=("lines", "take"), default="lines",
                   help="how --missing render sends them (default lines)")
    e.add_argument("--gap-ms", type=int, default=None,
                   help="silence between lines without a pause of their own (default: the "
                   "scene's gap, else 300)")
    e.add_argument("--jobs", type=int, default=4, help="parallel requests for --missing render")
    e.add_argument("--sandbox", action="store_true",
                   help="the built-in stand-in service's takes (no key, no credits spent)")
    e.add_argument("--resend-unknown", action="store_true",
                   help="with --missing render: send again requests whose answer was lost "
                   "(they may already have been charged)")
    e.add_argument("--force", action="store_true",
                   help="with --missing render: render even when the check before sending "
                   "finds problems in those lines (without it they are listed, exit 1)")

    c = sub.add_parser("cost", help="estimate a render's credits in both modes",
                       description="The credit estimate for both modes, and what the cache "
                       "already holds.")
    c.add_argument("scene", type=Path)
    c.add_argument("--json", action="store_true", help="machine-readable output")

    i = sub.add_parser(
        "import", help="make scenes from Fountain, Final Draft, plain text, CSV or TSV",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Import SRC (.fountain, .fdx, .txt with 'NAME: line', .csv or .tsv/.tab) "
        "into a new scene file.\n\n"
        "Spreadsheets: the delimiter (, ; TAB |) and a header row are recognised, and columns "
        "are matched by their headers (Character/Name/Speaker -> speaker, Dialogue/Line/Text "
        "-> text, ID/Identifier -> id, Emotion/Direction -> emotion, Notes/Comment -> notes, "
        "Scene -> scene, Language -> language); other columns are kept on each line. With no "
        "speaker column, 'Ship: Hey.' in the text is spoken by Ship.\n\n"
        "--scenes split writes one file per scene heading (or per value of the scene "
        "column) beside SCENE, numbered: -o ep1.castline writes ep1-01.castline, "
        "ep1-02.castline, ... (nothing is written if any of them exists, unless --force).")
    i.add_argument("source", type=Path)
    i.add_argument("-o", "--output", type=Path, metavar="SCENE",
                   help="the scene file to write (not needed with --preview)")
    i.add_argument("--force", action="store_true", help="overwrite SCENE if it exists")
    i.add_argument("--preview", action="store_true",
                   help="print what would come in (format, columns, scenes, first lines, "
                   "warnings) and write nothing")
    i.add_argument("--rows", type=int, default=10, metavar="N",
                   help="with --preview: how many lines to show (default 10)")
    i.add_argument("--json", action="store_true", help="with --preview: machine-readable")
    i.add_argument("--parentheticals", choices=("map", "spoken", "note"), default="map",
                   help="map: known ones become audio tags, (whispering) -> [whispers], the "
                   "others a note on the line (default); spoken: every one a tag; note: none "
                   "spoken")
    i.add_argument("--action", choices=("drop", "narrator"), default="drop",
                   help="action paragraphs: left out (default) or lines of the narrator")
    i.add_argument("--scenes", choices=("one", "split"), default="one",
                   help="one scene (default), or one file per scene heading (see above)")
    i.add_argument("--headings", choices=("note", "line", "drop"), default="note",
                   help="with --scenes one: each scene heading kept as a note on the next "
                   "line (default), as a narrator line, or dropped")
    i.add_argument("--narrator", default="NARRATOR", metavar="NAME",
                   help="who speaks action and lines with no speaker (default NARRATOR)")
    i.add_argument("--columns", metavar="ROLE=COLUMN,...",
                   help="spreadsheet columns by header or 1-based number, e.g. "
                   "speaker=Character,text=Dialogue,id=ID,notes=Emotion; roles: speaker, text, "
                   "id, emotion, notes, scene, language, stability")
    i.add_argument("--delimiter", choices=(",", ";", "tab", "|"),
                   help="the spreadsheet's delimiter (default: sniffed)")
    i.add_argument("--no-header", action="store_true",
                   help="the spreadsheet's first row is a line, not headers")
    i.add_argument("--markup", choices=("keep", "strip"), default="keep",
                   help="{b}, {color=...} display tags (Ren'Py): kept (default) or removed")

    s = sub.add_parser("sandbox", help="run the local stand-in service until stopped",
                       description="Runs a local stand-in for API in One on loopback.")
    s.add_argument("--port", type=int, default=8787)
    s.add_argument("--audio-port", type=int, default=0)
    s.add_argument("--key", default=None, help="the key it accepts (default: a new one)")
    s.add_argument("--latency", type=float, default=1.0, help="seconds until a task finishes")
    s.add_argument("--credits", type=float, default=10_000.0)
    s.add_argument("--format", choices=("mp3", "wav"), default="mp3")
    s.add_argument("--fault", action="append", default=[], metavar="PHASE:KIND[:TIMES[:SEC]]",
                   help="misbehave, e.g. poll:503:2, submit:429:1:2, download:truncated")
    s.add_argument("--shape", default="", help="answer shape, e.g. wrap=1,id_key=taskId,"
                   "audio=output[].url")
    s.add_argument("--no-espeak", action="store_true", help="synthetic voices only")

    k = sub.add_parser("key", help="store, remove, show or test the API key",
                       formatter_class=argparse.RawDescriptionHelpFormatter,
                       description="set: store the key in the OS keyring, read from standard "
                       "input (never from\n  the command line, where other users could see it).\n"
                       "delete: remove it from the keyring.\n"
                       "status: say whether a key is set, and where (APIINONE_API_KEY wins over "
                       "the keyring).\n"
                       "test: ask the service whether it accepts the key (a free request). The "
                       "service is\n  APIINONE_BASE_URL if set, else https://apiin.one.",
                       epilog="exit status:\n"
                       "  0  status: a key is set; test: the service accepted the key\n"
                       f"  {EXIT_NO_KEY}  no key is set (status, test)\n"
                       f"  {EXIT_USAGE}  bad usage, or a service address Castline will not send "
                       "a key to\n"
                       f"  {EXIT_KEY_REJECTED}  test: the service rejected the key (401/403)\n"
                       f"  {EXIT_UNREACHABLE}  test: the service could not be reached "
                       "(network, timeout, 429, 5xx)\n"
                       f"  {EXIT_UNVERIFIED}  test: the service answered but did not show "
                       "whether it accepts the key\n"
                       f"  {EXIT_KEYRING}  the system keyring is unavailable or locked")
    k.add_argument("action", choices=("set", "delete", "status", "test"))
    return p


# --- cost -------------------------------------------------------------------------------

def _load_scene(path: Path) -> Any:
    from editor.core.sceneio import SceneFileError, load

    warnings: list[str] = []
    try:
        scene = load(path, warnings=warnings)
    except SceneFileError as e:
        _fail(f"Cannot open the scene. {e}", EXIT_USAGE)
    for w in warnings:
        print(f"castline: warning: {w}", file=sys.stderr)
    return scene


def _cache(sandbox: bool = False) -> Any:
    from editor.engine.cache import AudioCache

    return AudioCache.for_service(sandbox)


def cmd_cost(args: argparse.Namespace) -> int:
    from editor.core.planner import PlanError
    from editor.core.pricing import credits_decimal
    from editor.engine.project import open_book
    from editor.engine.renderplan import build_plan

    scene = _load_scene(args.scene)
    store = _takes(args.scene)
    book = open_book(scene, store, sandbox=False)
    journal = _journal()
    result: dict[str, Any] = {"scene": scene.title, "file": str(args.scene), "model": scene.model,
                              "lines": len(scene), "estimate": True, "modes": {}}
    plans = {}
    for mode in ("lines", "take"):
        try:
            everything = build_plan(scene, mode, book, force=True)
            render_plan = build_plan(scene, mode, book, journal=journal,
                                     service=_service_name(False))
        except PlanError as e:
            _fail(f"Cannot price the scene. {e}", EXIT_USAGE)
        plans[mode] = (everything, render_plan)
        total = everything.cost
        free = render_plan.already + render_plan.from_cache
        result["modes"][mode] = {
            "requests": total.requests,
            "characters": sum(r.characters for r in everything.to_send),
            "credits": float(total.low),
            "credits_high": float(total.high),
            "cached_requests": len(free),
            "credits_to_pay": float(render_plan.cost.low),
            "credits_to_pay_high": float(render_plan.cost.high),
            "maybe_charged_requests": len(render_plan.maybe_charged),
            "locked_lines": len(render_plan.locked_rows),
            "credits_display": str(credits_decimal(total.low)),
        }
    if args.json:
        print(json.dumps(result, indent=2, ensure_ascii=False))
        return EXIT_OK
    print(f"{scene.title} — {len(scene)} lines, model {scene.model} (estimates: the low figure "
          "is 0.028 credits a character, the high one rounds each request up to a credit)")
    for mode, label in (("lines", "One request per line"), ("take", "As dialogue (take)")):
        m = result["modes"][mode]
        everything, render_plan = plans[mode]
        print(f"  {label:22} {m['requests']:5} requests  {m['characters']:7} characters  "
              f"{everything.cost.text()}")
        if m["cached_requests"] or render_plan.maybe_charged:
            print(f"  {'':22} {m['cached_requests']:5} already rendered (free); "
                  f"a render now costs {render_plan.cost.text()}")
        if render_plan.maybe_charged:
            print(f"  {'':22} {len(render_plan.maybe_charged):5} may already have been charged "
                  f"(not included; re-sending them costs {render_plan.resend_cost.text()})")
    locked = plans["lines"][1].locked_rows
    if locked:
        print(f"  {len(locked)} locked line(s) are never rendered and not counted.")
    return EXIT_OK


# --- import -----------------------------------------------------------------------------

def cmd_import(args: argparse.Namespace) -> int:
    from editor.core.importers import (
        ImportError_,
        ImportOptions,
        import_script,
        parse_columns,
        preview,
    )
    from editor.core.sceneio import save

    try:
        options = ImportOptions(
            parentheticals=args.parentheticals, action=args.action, scenes=args.scenes,
            headings=args.headings, narrator=args.narrator, markup=args.markup,
            columns=parse_columns(args.columns) if args.columns else None,
            header=False if args.no_header else None,
            delimiter="\t" if args.delimiter == "tab" else args.delimiter).checked()
    except ImportError_ as e:
        _fail(f"Cannot import. {e}", EXIT_USAGE)
    if args.preview:
        shown = preview(args.source, options, rows=max(0, args.rows))
        if args.json:
            print(json.dumps(shown.to_dict(), ensure_ascii=False, indent=1))
        else:
            _print_preview(shown)
        if shown.error:
            _fail(f"Cannot import. {shown.error}", EXIT_USAGE)
        return EXIT_OK
    if args.output is None:
        _fail("Name the scene file to write with -o SCENE (or add --preview).", EXIT_USAGE)
    single = args.scenes == "one"
    if single and args.output.exists() and not args.force:
        _fail(f"{args.output} already exists; choose another name or add --force.", EXIT_USAGE)
    warnings: list[str] = []
    try:
        result = import_script(args.source, options, warnings)
    except ImportError_ as e:
        _fail(f"Cannot import. {e}", EXIT_USAGE)
    for w in result.warnings:
        print(f"castline: warning: {w}", file=sys.stderr)
    out = args.output
    targets = [out] if single else [
        out.with_name(f"{out.stem}-{k:02d}{out.suffix or '.castline'}")
        for k in range(1, len(result.scenes) + 1)]
    existing = [t for t in targets if t.exists()]
    if existing and not args.force:
        _fail(f"{existing[0]} already exists ({len(existing)} of the {len(targets)} files to "
              "write do); choose another name or add --force.", EXIT_USAGE)
    for scene, target in zip(result.scenes, targets, strict=True):
        try:
            save(scene, target)
        except OSError as e:
            _fail(f"Cannot write {target}: {e.strerror or e}.")
    for scene, target in zip(result.scenes, targets, strict=True):
        speakers = ", ".join(scene.cast)
        print(f"Imported {len(scene)} lines ({speakers}) into {target}.")
    if not single:
        print(f"{len(targets)} scenes, {result.lines} lines in all.")
    return EXIT_OK


def _print_preview(p: Any) -> None:
    """``castline import --preview``: what would come in, for a writer at a terminal."""
    head = f"Format: {p.format}"
    if p.delimiter is not None:
        head += f", delimited by {'TAB' if p.delimiter == chr(9) else repr(p.delimiter)}"
        head += ", with a header row" if p.has_header else ", no header row"
    print(head)
    if p.headers:
        print(f"Columns: {', '.join(p.headers)}")
    if p.columns:
        print("Mapping: " + ", ".join(f"{role}={col}" for role, col in p.columns.items()))
    print(f"{p.total_lines} lines in {p.scene_count} scene(s); speakers: "
          + ", ".join(f"{name} ({n})" for name, n in p.speakers.items()))
    for what, n in p.stats.items():
        if what not in ("lines", "paragraphs"):
            print(f"  {n:5} {what}")
    titles = p.scene_titles
    for k, line in enumerate(p.lines):
        if len(titles) > 1 and (k == 0 or line.scene != p.lines[k - 1].scene):
            print(f"-- scene {line.scene + 1}: {titles[line.scene]}")
        extra = "; ".join(f"{key}: {value}" for key, value in line.extra.items())
        print(f"  {line.id:>12}  {line.speaker}: {line.text}" + (f"   ({extra})" if extra else ""))
    if p.total_lines > len(p.lines):
        print(f"  … and {p.total_lines - len(p.lines)} more")
    for w in p.warnings:
        print(f"castline: warning: {w}", file=sys.stderr)


# --- render -----------------------------------------------------------------------------

class _Progress:
    """A progress bar on a terminal; plain lines otherwise."""

    def __init__(self, total: int, stream: Any = None) -> None:
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.total = total
        self.done: set[str] = set()
        self.failed: set[str] = set()
        self._said: set[str] = set()
        self._last = 0.0

    def event(self, event: Any) -> None:
        from editor.engine.render import Stage

        key = ",".join(event.line_ids)
        if event.stage is Stage.READY:
            self.done.add(key)
            if not self.tty:
                how = "from cache" if event.cached else "rendered"
                print(f"ready  {key} ({how})", file=self.stream)
        elif event.stage is Stage.FAILED:
            self.failed.add(key)
            if not self.tty:  # each distinct error once; the closing paragraph lists the lines
                message = str(event.error)
                said = message in self._said
                self._said.add(message)
                print(f"failed {key}" + (" (the same error)" if said else f": {message}"),
                      file=self.stream)
        self.draw()

    def draw(self, final: bool = False) -> None:
        if not self.tty:
            return
        now = time.monotonic()
        if not final and now - self._last < 0.1:
            return
        self._last = now
        n = len(self.done) + len(self.failed)
        width = 30
        filled = int(width * n / max(1, self.total))
        bar = "#" * filled + "-" * (width - filled)
        fail = f", {len(self.failed)} failed" if self.failed else ""
        print(f"\r[{bar}] {n}/{self.total} requests{fail}", end="\n" if final else "",
              file=self.stream, flush=True)


def _gap(args: argparse.Namespace, scene: Any) -> int:
    from editor.core.scene import DEFAULT_GAP_MS

    if args.gap_ms is not None and not 0 <= args.gap_ms <= 60_000:
        _fail("--gap-ms must be from 0 to 60000.", EXIT_USAGE)
    if args.gap_ms is not None:
        return int(args.gap_ms)
    return DEFAULT_GAP_MS if scene.gap_ms is None else int(scene.gap_ms)


def _takes(scene_path: Path) -> Any:
    from editor.engine.takes import TakeError, TakeStore, takes_dir_for

    try:
        store = TakeStore(takes_dir_for(scene_path))
    except TakeError as e:
        _fail(str(e))
    for warning in store.warnings[:5]:  # records the takes gate ignored (never opened)
        print(f"warning: {warning}", file=sys.stderr)
    if len(store.warnings) > 5:
        print(f"warning: {len(store.warnings) - 5} more unsafe record(s) ignored.", file=sys.stderr)
    return store


def _journal() -> Any:
    from editor.engine.project import default_journal

    return default_journal()


def _service_name(sandbox: bool) -> str:
    """The journal's name for the service a render talks to (the sandbox's changes per run,
    and its requests are free, so it has none worth resuming)."""
    if sandbox:
        return ""
    from editor.engine.journal import service_id
    from editor.engine.service import resolve_target

    return service_id(resolve_target(False).url)


def _plan(scene: Any, args: argparse.Namespace, book: Any, rows: Any = None) -> Any:
    from editor.core.planner import PlanError
    from editor.engine.renderplan import build_plan

    try:
        return build_plan(scene, args.mode, book, rows, journal=_journal(),
                          service=_service_name(args.sandbox))
    except PlanError as e:
        _fail(f"Cannot render. {e}", EXIT_USAGE)


def cmd_render(args: argparse.Namespace) -> int:
    from editor.engine.project import open_book

    scene = _load_scene(args.scene)
    suffix = args.output.suffix.lower()
    if suffix not in (".wav", ".flac", ".mp3"):
        _fail(f"{args.output.name}: the output must end in .wav, .flac or .mp3.", EXIT_USAGE)
    if not 1 <= args.jobs <= 32:
        _fail("--jobs must be from 1 to 32.", EXIT_USAGE)
    gap = _gap(args, scene)
    out_dir = args.output.parent if str(args.output.parent) else Path(".")
    if not out_dir.is_dir():
        _fail(f"The folder {out_dir} does not exist.", EXIT_USAGE)
    from editor.engine.precheck import check, report

    # The check before paying (sandbox too); a scene with nothing to say gets its own message.
    if any(ln.text.strip() and not ln.locked for ln in scene.lines):
        problems = check(scene, mode=args.mode)
        if problems and not args.force:
            _fail(report(problems))
        for p in problems:
            print(f"warning (rendering anyway, --force): {p.line()}", file=sys.stderr)
    store = _takes(args.scene)
    book = open_book(scene, store, sandbox=args.sandbox)
    render_plan = _plan(scene, args, book)
    if render_plan.empty and not render_plan.already and not render_plan.locked_rows:
        _fail("The scene has no lines to render.", EXIT_USAGE)
    return asyncio.run(_render(scene, render_plan, args, gap, store, book))


async def _render_requests(scene: Any, render_plan: Any, args: argparse.Namespace,
                           store: Any, what: str) -> Any:
    """Render what the plan sends (the cache, the journal and other renders first) and keep
    each result as a take; fail with one paragraph naming every failed line."""
    from editor.engine.errors import ServiceError
    from editor.engine.keystore import KeyStoreError
    from editor.engine.project import keep_takes, render_engine
    from editor.engine.render import Resend
    from editor.engine.report import failure_paragraph, request_rows, rows_text
    from editor.engine.service import open_target, resolve_target
    from editor.engine.takes import TakeError

    requests = render_plan.requests
    if not requests:
        from editor.engine.render import RenderOutcome

        return RenderOutcome()
    if render_plan.maybe_charged and args.resend_unknown:
        print(f"Sending again, as --resend-unknown asks: lines "
              f"{rows_text(request_rows(scene, render_plan.maybe_charged))} were sent once and their answer "
              f"was lost, so they may be paid twice ({render_plan.resend_cost.text()}).",
              file=sys.stderr)
    try:  # the key first: no "Sending…" for a render that cannot start
        session = await open_target(resolve_target(args.sandbox))
    except (ServiceError, KeyStoreError) as e:
        _fail(str(e), EXIT_USAGE)
    if render_plan.to_send and not args.sandbox:
        print(f"Sending {len(render_plan.to_send)} request(s): {render_plan.cost.text()}.",
              file=sys.stderr)

    async def resend(_unknown: Sequence[Any]) -> Any:
        return Resend.SEND if args.resend_unknown else Resend.WAIT

    try:
        engine = render_engine(session.client, _cache(args.sandbox), jobs=args.jobs)
        progress = _Progress(len({r.key for r in requests}))
        outcome = await engine.run(requests, progress.event, confirm_resend=resend)
        progress.draw(final=True)
    finally:
        await session.aclose()
    try:
        from editor.engine.project import open_book

        book = open_book(scene, store, sandbox=args.sandbox)
        keep_takes(store, requests, outcome.paths, sandbox=args.sandbox, key_of=book.key_of)
    except TakeError as e:
        print(f"warning: {e}", file=sys.stderr)

    if not outcome.ok:
        _fail(failure_paragraph(scene, requests, outcome.errors, len(outcome.paths), what))
    return outcome


async def _render(scene: Any, render_plan: Any, args: argparse.Namespace, gap: int,
                  store: Any, book: Any) -> int:
    from editor.engine.audio import ExportError, write
    from editor.engine.errors import ServiceError
    from editor.engine.export import assemble_mix
    from editor.engine.project import export_layout
    from editor.engine.report import missing_message

    outcome = await _render_requests(scene, render_plan, args, store, args.output.name)
    book.forget_cached()
    layout = export_layout(scene, book)
    if layout.missing:
        _fail(missing_message(scene, layout.missing) + f" {args.output.name} was not written.")
    try:
        data, rate, _ = assemble_mix(scene, layout.clips, gap)
        write(args.output, data, rate)
    except (ExportError, ServiceError) as e:
        _fail(str(e))
    seconds = len(data) / rate
    from editor.engine.service import resolve_target

    where = "the built-in sandbox (stand-in voices, no credits spent)" if args.sandbox else \
        resolve_target(False).describe()
    free = len(render_plan.already)
    print(f"Wrote {args.output} ({seconds:.1f} s; {outcome.submitted} request(s) sent, "
          f"{outcome.from_cache} from cache, {outcome.resumed} resumed, {free} already in the "
          f"project's takes) via {where}.")
    return EXIT_OK


# --- status -----------------------------------------------------------------------------

def cmd_status(args: argparse.Namespace) -> int:
    from editor.engine.project import open_book

    scene = _load_scene(args.scene)
    store = _takes(args.scene)
    book = open_book(scene, store, sandbox=args.sandbox)
    render_plan = _plan(scene, args, book)
    state: dict[str, str] = {}
    for label, group in (("rendered", render_plan.already + render_plan.from_cache),
                         ("pending", render_plan.pending),
                         ("being sent by another render", render_plan.in_flight),
                         ("maybe charged", render_plan.maybe_charged),
                         ("to render", render_plan.to_send)):
        for r in group:
            for line_id in r.line_ids:
                state[line_id] = label
    for row in render_plan.locked_rows:
        line = scene.lines[row]
        state[line.id] = "locked" + (" (rendered)" if book.take(line) else " (no audio)")
    rows = [{"row": i + 1, "id": ln.id, "speaker": ln.speaker,
             "state": state.get(ln.id, "nothing to speak")} for i, ln in enumerate(scene.lines)]
    if args.json:
        print(json.dumps({"scene": scene.title, "sandbox": args.sandbox, "lines": rows,
                          "to_pay": {"low": float(render_plan.cost.low),
                                     "high": float(render_plan.cost.high)},
                          "maybe_charged": [r["row"] for r in rows
                                            if r["state"] == "maybe charged"]},
                         indent=2, ensure_ascii=False))
        return EXIT_OK
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["state"]] = counts.get(r["state"], 0) + 1
    print(f"{scene.title} — {len(scene)} lines: "
          + ", ".join(f"{n} {label}" for label, n in counts.items()))
    for r in rows:
        if r["state"] not in ("rendered", "nothing to speak"):
            print(f"  line {r['row']:4} {r['speaker'] or '-':16} {r['state']}")
    if render_plan.to_send:
        print(f"Rendering the rest costs {render_plan.cost.text()}.")
    if render_plan.maybe_charged:
        print("Maybe-charged lines were sent once and their answer was lost. 'castline render "
              "--resend-unknown' sends them again (it may pay twice); otherwise they are not sent.")
    from editor.engine.report import sandbox_only_note

    note = sandbox_only_note(render_plan.sandbox_only_rows)
    if note:
        print(note.strip())
    return EXIT_OK


# --- export -----------------------------------------------------------------------------

def cmd_export(args: argparse.Namespace) -> int:
    from editor.engine.audio import ExportError
    from editor.engine.errors import ServiceError
    from editor.engine.export import Exporter
    from editor.engine.project import export_layout, missing_audio, open_book
    from editor.engine.renderplan import sandbox_only_rows
    from editor.engine.report import missing_message, sandbox_only_note

    scene = _load_scene(args.scene)
    what = [w.strip() for w in args.what.split(",") if w.strip()]
    bad = [w for w in what if w not in WHAT_DEFAULT]
    if bad or not what:
        _fail(f"--what takes {', '.join(WHAT_DEFAULT)}; not {', '.join(bad) or 'nothing'}.",
              EXIT_USAGE)
    gap = _gap(args, scene)
    if not args.folder.is_dir():
        _fail(f"The folder {args.folder} does not exist; create it first.", EXIT_USAGE)
    store = _takes(args.scene)
    book = open_book(scene, store, sandbox=args.sandbox)
    missing = missing_audio(scene, book, args.mode, journal=_journal(),
                            service=_service_name(args.sandbox))
    layout = missing.layout
    if missing.rows:
        if args.missing == "render":  # the check before paying, on the lines it would send
            from editor.engine.precheck import check, report

            problems = check(scene, missing.rows, mode=args.mode)
            if problems and not args.force:
                _fail(report(problems))
            for p in problems:
                print(f"warning (rendering anyway, --force): {p.line()}", file=sys.stderr)
        render_plan = missing.render_plan or _plan(scene, args, book, missing.rows)
        message = missing_message(scene, missing.rows) + sandbox_only_note(
            sandbox_only_rows(scene, book, missing.rows))
        if args.missing == "fail":
            _fail(f"{message} Rendering them costs {render_plan.cost.text()}: add --missing "
                  "render to render them first, or --missing skip to export without them.")
        if args.missing == "skip":
            print(f"Skipping: {message}", file=sys.stderr)
        elif render_plan.requests:
            print(f"Rendering first: {message} ({render_plan.cost.text()})", file=sys.stderr)
            asyncio.run(_render_requests(scene, render_plan, args, store, "the export"))
            book.forget_cached()
            layout = export_layout(scene, book)
            if layout.missing:
                print(f"Skipping: {missing_message(scene, layout.missing)}", file=sys.stderr)
    try:
        exporter = Exporter(scene, layout, args.folder, what=what, fmt=args.format,
                            name=args.name, base=args.scene.stem, default_gap_ms=gap)
        progress = _ExportProgress()
        result = exporter.run(progress)
    except (ExportError, ServiceError) as e:
        _fail(str(e))
    print(f"Exported {len(result.files)} file(s) to {args.folder} ({result.duration:.1f} s of "
          f"audio, {len(layout.clips)} clip(s)).")
    return EXIT_OK


class _ExportProgress:
    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()

    def __call__(self, done: int, total: int, text: str) -> None:
        if self.tty:
            print(f"\r{done}/{total} {text[:60]:60}", end="\n" if done >= total else "",
                  file=sys.stderr, flush=True)


# --- sandbox ----------------------------------------------------------------------------

def cmd_sandbox(args: argparse.Namespace) -> int:
    from editor.engine.sandbox import Fault, Sandbox, Shape, serve_forever

    try:
        faults = [Fault.parse(f) for f in args.fault]
        shape = Shape.parse(args.shape)
    except ValueError as e:
        _fail(f"Bad sandbox switch: {e}.", EXIT_USAGE)
    box = Sandbox(args.key, credits=args.credits, latency=args.latency,
                  audio_format=args.format, port=args.port, audio_port=args.audio_port,
                  use_espeak=False if args.no_espeak else None)
    box.faults, box.shape = faults, shape

    def announce(msg: str) -> None:
        print(msg, flush=True)

    try:
        asyncio.run(serve_forever(box, announce))
    except KeyboardInterrupt:
        return EXIT_OK
    except OSError as e:
        _fail(f"Cannot start the sandbox on port {args.port}: {e.strerror or e}. "
              "Choose another with --port.")
    return EXIT_OK


# --- key --------------------------------------------------------------------------------

def cmd_key(args: argparse.Namespace) -> int:
    from editor.engine.keystore import (
        ENV_KEY,
        KeyStoreError,
        delete_key,
        get_key,
        key_from_environment,
        set_key,
    )

    try:
        if args.action == "set":
            if sys.stdin.isatty():
                import getpass

                key = getpass.getpass("API in One key (input hidden): ")
            else:
                key = sys.stdin.readline()
            set_key(key)
            print("The key is stored in the system keyring."
                  + (f" {ENV_KEY} is set, and wins over it while it is." if key_from_environment()
                     else ""))
        elif args.action == "delete":
            print("The key was removed." if delete_key() else "No key was stored.")
        elif args.action == "status":
            if key_from_environment():
                print(f"A key is set in the {ENV_KEY} environment variable; it is used instead "
                      "of the keyring's.")
            elif get_key(strict=True):
                print("A key is stored in the system keyring.")
            else:
                print("No key is set: none in the system keyring, and "
                      f"{ENV_KEY} is not set. Store one with 'castline key set'.")
                return EXIT_NO_KEY
        else:
            return _key_test()
    except KeyStoreError as e:
        _fail(str(e), EXIT_KEYRING)
    return EXIT_OK


def _key_test() -> int:
    from editor.engine.errors import InsecureURL
    from editor.engine.keycheck import Outcome, check_key
    from editor.engine.keystore import ENV_KEY, get_key, key_from_environment
    from editor.engine.service import resolve_target

    target = resolve_target(False)
    key = key_from_environment() or get_key()  # no keyring at all: no key (a locked one raises)
    if not key:
        _fail(f"No key is set: none in the system keyring, and {ENV_KEY} is not set. Store one "
              "with 'castline key set'.", EXIT_NO_KEY)
    origin = f"the {ENV_KEY} environment variable" if target.key_source == ENV_KEY \
        else "the system keyring"
    where = f"key from {origin}, service {target.describe()}"
    try:
        result = asyncio.run(check_key(target.url, key))
    except InsecureURL as e:
        _fail(f"{e} ({where}).", EXIT_USAGE)
    if result.accepted:
        print(f"{result.message} ({where})")
        return EXIT_OK
    status = {Outcome.REJECTED: EXIT_KEY_REJECTED, Outcome.UNREACHABLE: EXIT_UNREACHABLE,
              Outcome.UNVERIFIED: EXIT_UNVERIFIED}[result.outcome]
    _fail(f"{result.message} ({where}; {result.detail})", status)


# --- main -------------------------------------------------------------------------------

def _open_editor(argv: Sequence[str]) -> int:
    p = _Parser(prog="castline", description="Opens the Castline editor (on SCENE). Commands: "
                + ", ".join(COMMANDS) + " (see 'castline COMMAND --help').")
    p.add_argument("--version", action="version", version=f"castline {__version__}")
    p.add_argument("scene", nargs="?", type=Path)
    p.add_argument("--sandbox", action="store_true", help="use the built-in stand-in service")
    p.add_argument("--self-test", action="store_true",
                   help="check this installation offscreen (open, render, play) and exit")
    args = p.parse_args(argv)
    if args.self_test:
        from editor.ui.selftest import run_self_test

        return run_self_test()
    try:
        from editor.ui.app import run
    except ImportError as e:
        if "editor.ui.app" not in str(e):
            raise
        _fail("The editor window is not built yet. Try 'castline cost SCENE' or "
              "'castline render SCENE -o out.wav --sandbox'.")
    return int(run(args.scene, sandbox=args.sandbox))


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=os.environ.get("CASTLINE_LOG", "WARNING").upper(),
                        format="%(levelname)s %(name)s: %(message)s")
    from editor.engine.redact import install_log_redaction, redact

    install_log_redaction()
    try:
        if argv and argv[0] in COMMANDS:
            args = _parser().parse_args(argv)
            handler = {"render": cmd_render, "export": cmd_export, "cost": cmd_cost,
                       "status": cmd_status, "import": cmd_import, "sandbox": cmd_sandbox,
                       "key": cmd_key}[args.command]
            return handler(args)
        if argv and argv[0] in ("-h", "--help"):
            _parser().print_help()
            return EXIT_OK
        return _open_editor(argv)
    except CliError as e:
        print(f"castline: {redact(str(e))}", file=sys.stderr)
        return e.status
    except KeyboardInterrupt:
        print("castline: stopped.", file=sys.stderr)
        return 130
    except Exception as e:  # the last line of defence: one paragraph, no traceback
        logging.getLogger("castline").debug("unexpected error", exc_info=True)
        print(f"castline: something went wrong that Castline did not expect ({type(e).__name__}: "
              f"{redact(str(e))}). Nothing was overwritten. Run with CASTLINE_LOG=debug for "
              "details and report it.", file=sys.stderr)
        return EXIT_FAILED
