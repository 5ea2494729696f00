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
from fractions import Fraction
from pathlib import Path
from typing import Any, NoReturn

from editor import __version__

WHAT_DEFAULT = ("mix", "lines", "stems", "srt", "vtt", "labels", "manifest")

COMMANDS = ("render", "export", "cost", "import", "sandbox", "key")
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

    c = sub.add_parser("cost", help="estimate a render's credits in both modes",
                       description="The credit estimate for both modes, and what the cache "
                       "already holds.")
    c.add_argument("scene", type=Path)
    c.add_argument("--json", action="store_true", help="machine-readable output")

    i = sub.add_parser("import", help="make a scene from Fountain, plain text or CSV",
                       description="Import SRC (.fountain, .txt with 'NAME: line', or .csv with "
                       "speaker,text[,stability,language]) into a new scene file.")
    i.add_argument("source", type=Path)
    i.add_argument("-o", "--output", type=Path, required=True, metavar="SCENE")
    i.add_argument("--force", action="store_true", help="overwrite SCENE if it exists")

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

    try:
        return load(path)
    except SceneFileError as e:
        _fail(f"Cannot open the scene. {e}", EXIT_USAGE)


def _cache(sandbox: bool = False) -> Any:
    from editor.engine.cache import AudioCache

    return AudioCache(namespace="sandbox" if sandbox else None)


def cmd_cost(args: argparse.Namespace) -> int:
    from editor.core.planner import PlanError, plan
    from editor.core.pricing import credits_decimal, format_credits

    scene = _load_scene(args.scene)
    cache = _cache()
    result: dict[str, Any] = {"scene": scene.title, "file": str(args.scene), "model": scene.model,
                              "lines": len(scene), "estimate": True, "modes": {}}
    for mode in ("lines", "take"):
        try:
            requests = plan(scene, mode)
        except PlanError as e:
            _fail(f"Cannot price the scene. {e}", EXIT_USAGE)
        total = sum((r.cost for r in requests), Fraction(0))
        cached = [r for r in requests if r.key in cache]
        to_pay = total - sum((r.cost for r in cached), Fraction(0))
        result["modes"][mode] = {
            "requests": len(requests),
            "characters": sum(r.characters for r in requests),
            "credits": float(total),
            "cached_requests": len(cached),
            "credits_to_pay": float(to_pay),
            "credits_display": str(credits_decimal(total)),
        }
    if args.json:
        print(json.dumps(result, indent=2, ensure_ascii=False))
        return EXIT_OK
    print(f"{scene.title} — {len(scene)} lines, model {scene.model} (estimates)")
    for mode, label in (("lines", "One request per line"), ("take", "As dialogue (take)")):
        m = result["modes"][mode]
        print(f"  {label:22} {m['requests']:5} requests  {m['characters']:7} characters  "
              f"{format_credits(Fraction(str(m['credits'])))}")
        if m["cached_requests"]:
            print(f"  {'':22} {m['cached_requests']:5} already rendered (free); "
                  f"a render now costs {format_credits(Fraction(str(m['credits_to_pay'])))}")
    return EXIT_OK


# --- import -----------------------------------------------------------------------------

def cmd_import(args: argparse.Namespace) -> int:
    from editor.core.importers import ImportError_, import_file
    from editor.core.sceneio import save

    if args.output.exists() and not args.force:
        _fail(f"{args.output} already exists; choose another name or add --force.", EXIT_USAGE)
    try:
        scene = import_file(args.source)
    except ImportError_ as e:
        _fail(f"Cannot import. {e}", EXIT_USAGE)
    try:
        save(scene, args.output)
    except OSError as e:
        _fail(f"Cannot write {args.output}: {e.strerror or e}.")
    speakers = ", ".join(scene.cast)
    print(f"Imported {len(scene)} lines ({speakers}) into {args.output}.")
    return EXIT_OK


# --- render -----------------------------------------------------------------------------

class _Progress:
    """A progress bar on a terminal; plain lines otherwise."""

    def __init__(self, total: int, stream: Any = None) -> None:
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.total = total
        self.done: set[str] = set()
        self.failed: set[str] = set()
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
            if not self.tty:
                print(f"failed {key}: {event.error}", file=self.stream)
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
        return TakeStore(takes_dir_for(scene_path))
    except TakeError as e:
        _fail(str(e))


def cmd_render(args: argparse.Namespace) -> int:
    from editor.core.planner import PlanError, plan

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
    try:
        requests = plan(scene, args.mode)
    except PlanError as e:
        _fail(f"Cannot render. {e}", EXIT_USAGE)
    if not requests and not any(ln.locked for ln in scene.lines):
        _fail("The scene has no lines to render.", EXIT_USAGE)
    return asyncio.run(_render(scene, requests, args, gap))


async def _render_requests(scene: Any, requests: list[Any], args: argparse.Namespace,
                           store: Any, what: str) -> Any:
    """Render (or take from the cache) and keep each result as a take; fail with one paragraph
    naming every failed line."""
    from editor.engine.cache import default_state_dir
    from editor.engine.errors import ServiceError
    from editor.engine.journal import Journal
    from editor.engine.keystore import KeyStoreError
    from editor.engine.project import keep_takes
    from editor.engine.render import RenderEngine
    from editor.engine.service import open_service
    from editor.engine.takes import TakeError

    try:
        session = await open_service(sandbox=args.sandbox)
    except (ServiceError, KeyStoreError) as e:
        _fail(str(e), EXIT_USAGE)
    try:
        cache = _cache(args.sandbox)
        journal = Journal(default_state_dir() / "journal.jsonl")
        engine = RenderEngine(session.client, cache, journal, jobs=args.jobs)
        progress = _Progress(len({r.key for r in requests}))
        outcome = await engine.run(requests, progress.event,
                                   on_warning=lambda m: print(f"warning: {m}", file=sys.stderr))
        progress.draw(final=True)
    finally:
        await session.aclose()
    try:
        keep_takes(store, requests, outcome.paths, sandbox=args.sandbox)
    except TakeError as e:
        print(f"warning: {e}", file=sys.stderr)

    if not outcome.ok:
        rows = {line.id: i + 1 for i, line in enumerate(scene.lines)}
        parts = []
        for r in requests:
            err = outcome.errors.get(r.key)
            if err is None:
                continue
            for line_id in r.line_ids:
                line = scene.line_by_id(line_id)
                parts.append(f"line {rows[line_id]} ({line.speaker or 'no speaker'}): {err}")
        kept = len(outcome.paths)
        _fail(f"{len(parts)} of {len(scene)} lines failed, so {what} was not written. "
              + " ".join(f"{p}" for p in parts)
              + f" The {kept} request(s) that rendered are kept: run the same command "
              "again to pay only for the failed lines.")
    return outcome


def _missing_message(scene: Any, rows: list[int]) -> str:
    shown = ", ".join(str(r + 1) for r in rows[:10]) + (" …" if len(rows) > 10 else "")
    locked = [r for r in rows if scene.lines[r].locked]
    note = (f" ({len(locked)} of them locked, which Castline never renders: unlock them or "
            "choose a take)") if locked else ""
    return f"{len(rows)} line(s) have no audio: {shown}{note}."


async def _render(scene: Any, requests: list[Any], args: argparse.Namespace, gap: int) -> int:
    from editor.engine.audio import ExportError, write
    from editor.engine.errors import ServiceError
    from editor.engine.export import assemble_mix, plan_export
    from editor.engine.project import open_book, resolver

    store = _takes(args.scene)
    outcome = await _render_requests(scene, requests, args, store, args.output.name)
    book = open_book(scene, store, sandbox=args.sandbox)
    layout = plan_export(scene, resolver(book))
    if layout.missing:
        _fail(_missing_message(scene, layout.missing) + f" {args.output.name} was not written.")
    try:
        data, rate, _ = assemble_mix(scene, layout.clips, gap)
        write(args.output, data, rate)
    except (ExportError, ServiceError) as e:
        _fail(str(e))
    seconds = len(data) / rate
    where = "the built-in sandbox (stand-in voices, no credits spent)" if args.sandbox else \
        "API in One"
    print(f"Wrote {args.output} ({seconds:.1f} s, {len(requests)} requests: "
          f"{outcome.submitted} sent, {outcome.from_cache} from cache, "
          f"{outcome.resumed} resumed) via {where}.")
    return EXIT_OK


# --- export -----------------------------------------------------------------------------

def cmd_export(args: argparse.Namespace) -> int:
    from editor.core.planner import PlanError, plan
    from editor.core.pricing import format_credits
    from editor.engine.audio import ExportError
    from editor.engine.errors import ServiceError
    from editor.engine.export import Exporter, plan_export
    from editor.engine.project import open_book, resolver

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
    layout = plan_export(scene, resolver(book))
    if layout.missing:
        try:
            requests = plan(scene, args.mode, layout.missing)
        except PlanError as e:
            _fail(f"Cannot render the missing lines. {e}", EXIT_USAGE)
        cost = sum((r.cost for r in requests), Fraction(0))
        message = _missing_message(scene, layout.missing)
        if args.missing == "fail":
            _fail(f"{message} Rendering them costs {format_credits(cost)}: add --missing render "
                  "to render them first, or --missing skip to export without them.")
        if args.missing == "skip":
            print(f"Skipping: {message}", file=sys.stderr)
        elif requests:
            print(f"Rendering first: {message} ({format_credits(cost)})", file=sys.stderr)
            asyncio.run(_render_requests(scene, requests, args, store, "the export"))
            book.forget_cached()
            layout = plan_export(scene, resolver(book))
            if layout.missing:
                print(f"Skipping: {_missing_message(scene, layout.missing)}", file=sys.stderr)
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
            handler = {"render": cmd_render, "export": cmd_export, "cost": cmd_cost, "import": cmd_import,
                       "sandbox": cmd_sandbox, "key": cmd_key}[args.command]
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
