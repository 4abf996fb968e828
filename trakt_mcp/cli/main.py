"""The `trakt-mcp` command: serve (default), call one tool, and the commands other modules register.

Command modules (sign-in, policy, ...) each expose `register(subcommands, common)`; they are listed in
COMMAND_MODULES so this file stays the one place that knows the command line's shape. Serving (no command, only
options: what an MCP client starts) is parsed without importing them: a client waits for every millisecond spent
before the first answer.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from guard import jsonlimits
from trakt_mcp import __version__
from trakt_mcp.settings import Settings
from trakt_mcp.terminal import command

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

    from trakt_mcp.app import App

COMMAND_MODULES: list[str] = [
    "trakt_mcp.cli.auth",
    "trakt_mcp.cli.policy",
    "trakt_mcp.cli.audit",
    "trakt_mcp.cli.identity",
    "trakt_mcp.cli.install",
    "trakt_mcp.cli.setup",
    "trakt_mcp.cli.sandbox",
    "trakt_mcp.cli.state",
    "trakt_mcp.cli.people",
]

Runner = Callable[[argparse.Namespace, Settings], int]

EXIT_USAGE = 2


def common_options(*, suppress: bool) -> argparse.ArgumentParser:
    """Options every command takes, before or after the command name (flags override the environment)."""
    default = argparse.SUPPRESS if suppress else None
    parser = argparse.ArgumentParser(add_help=False)
    group = parser.add_argument_group("configuration (flags override environment variables)")
    group.add_argument(
        "--sandbox", action="store_true", default=default or False, help="use the built-in offline Trakt"
    )
    group.add_argument("--client-id", default=default, help="Trakt client ID (TRAKT_CLIENT_ID)")
    group.add_argument("--api-url", default=default, help="Trakt API base URL (TRAKT_API_URL)")
    group.add_argument("--home", default=default, help="state folder (TRAKT_MCP_HOME)")
    group.add_argument("--policy", default=default, help="policy file (TRAKT_MCP_POLICY)")
    group.add_argument(
        "--state",
        default=default,
        metavar="URL",
        help="shared state for several replicas: postgresql://USER:PASSWORD@HOST:PORT/DB (TRAKT_MCP_STATE); "
        "default: the SQLite file in the state folder",
    )
    group.add_argument(
        "--shadow-policy",
        default=default,
        metavar="FILE",
        help="a policy that decides beside the one in force without acting: audited as would_deny, would_confirm, "
        "would_limit (TRAKT_MCP_SHADOW_POLICY; see `audit --shadow`)",
    )
    group.add_argument("-v", "--verbose", action="store_true", default=default or False, help="debug logging")
    quick = parser.add_argument_group("quick restrictions (the stricter of these and the policy file wins)")
    quick.add_argument(
        "--read-only",
        action="store_true",
        default=default or False,
        help="hide every write, destructive and auth tool except sign-in (TRAKT_MCP_READ_ONLY=1)",
    )
    quick.add_argument(
        "--toolsets",
        default=default,
        metavar="A,B",
        help="only these toolsets, e.g. shows,movies,user (TRAKT_MCP_TOOLSETS; `policy check` lists them)",
    )
    quick.add_argument("--tools", default=default, metavar="A,B", help="only these tools (TRAKT_MCP_TOOLS)")
    return parser


def serve_options(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    """Transport options, given before or after `serve`."""
    default = argparse.SUPPRESS if suppress else None
    group = parser.add_argument_group("transport")
    group.add_argument("--transport", choices=["stdio", "streamable-http"], default=default, help="default: stdio")
    group.add_argument("--host", default=default, help="HTTP bind address (default 127.0.0.1)")
    group.add_argument("--port", type=int, default=default, help="HTTP port (default 8000)")
    group.add_argument(
        "--allowed-host",
        action="append",
        default=default,
        metavar="HOST[:PORT]",
        help="also accept this Host header (repeatable; NAME:* for any port), e.g. behind a reverse proxy",
    )
    group.add_argument(
        "--no-auth",
        action="store_true",
        default=default or False,
        help="HTTP on loopback without the owner's bearer token: every account on this machine can use your Trakt "
        "account within the policy; the audit names those callers (unauthenticated), and their clients cannot "
        "approve confirmations (the desktop dialog or terminal asks you)",
    )
    group.add_argument(
        "--trust-unauthenticated",
        action="store_true",
        default=default or False,
        help="with --no-auth: treat every caller as you, so its own client may approve its confirmations "
        "(any account on this machine could then approve its own calls)",
    )
    group.add_argument(
        "--public-url",
        default=default,
        metavar="URL",
        help="multi-user mode: the https:// address people's apps reach (MCP at URL/mcp; TLS is the reverse "
        "proxy's job). Each person signs in with their own Trakt account (README: Host it for others)",
    )
    group.add_argument(
        "--trakt-signin",
        choices=["redirect", "device"],
        default=default,
        help="multi-user mode: people sign in at Trakt and come back by redirect (default), or, for a Trakt app with "
        "only the out-of-band redirect, enter a code at Trakt",
    )
    group.add_argument(
        "--allowed-origin",
        action="append",
        default=default,
        metavar="ORIGIN",
        help="also accept this Origin header (repeatable), e.g. https://mcp.example.com",
    )


def serving_parser(*, exit_on_error: bool = True) -> argparse.ArgumentParser:
    """The command line without its commands: what serving needs to read."""
    parser = argparse.ArgumentParser(
        prog="trakt-mcp",
        description="A Trakt.tv MCP server with built-in guardrails. Without a command: serve MCP.",
        parents=[common_options(suppress=False)],
        exit_on_error=exit_on_error,
    )
    parser.add_argument("--version", action="version", version=f"trakt-mcp {__version__}")
    serve_options(parser, suppress=False)
    parser.set_defaults(run=run_serve)
    return parser


HELP_FLAGS = frozenset({"-h", "--help"})


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    """Options only (serving): parsed without the command modules. Anything else (a command, a stray word, a
    request for help) goes to the whole parser, so its answers and errors are the same as ever."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    if not HELP_FLAGS.intersection(arguments):
        try:
            known, rest = serving_parser(exit_on_error=False).parse_known_args(arguments)
        except argparse.ArgumentError:
            rest = arguments  # the whole parser reports it, with the whole usage
        if not rest:
            return known
    return build_parser().parse_args(arguments)


def build_parser() -> argparse.ArgumentParser:
    parser = serving_parser()
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    common = common_options(suppress=True)

    serve = commands.add_parser("serve", parents=[common], help="serve MCP (the default)")
    serve_options(serve, suppress=True)
    serve.set_defaults(run=run_serve)

    call = commands.add_parser(
        "call",
        parents=[common],
        help="run one tool through the same path as an MCP tools/call, and print the result",
        description="Example: trakt-mcp call --sandbox search_shows query='breaking bad' limit=3",
    )
    call.add_argument("tool", help="tool name")
    call.add_argument("arguments", nargs="*", help="key=value (values are JSON when they parse, else text)")
    call.add_argument("--json", dest="json_arguments", help="all arguments as one JSON object")
    call.set_defaults(run=run_call)

    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(commands, common)
    return parser


def settings_from(args: argparse.Namespace) -> Settings:
    overrides = {
        "sandbox": getattr(args, "sandbox", False) or None,
        "client_id": getattr(args, "client_id", None),
        "api_url": getattr(args, "api_url", None),
        "home": getattr(args, "home", None),
        "policy": getattr(args, "policy", None),
        "state": getattr(args, "state", None),
        "shadow_policy": getattr(args, "shadow_policy", None),
        "transport": getattr(args, "transport", None),
        "host": getattr(args, "host", None),
        "port": getattr(args, "port", None),
        "read_only": getattr(args, "read_only", False) or None,
        "toolsets": getattr(args, "toolsets", None),
        "tools": getattr(args, "tools", None),
        "public_url": getattr(args, "public_url", None),
        "trakt_signin": getattr(args, "trakt_signin", None),
    }
    from trakt_mcp.trakt import credentials

    return credentials.apply(Settings.load(overrides))


EXIT_INTERRUPTED = 130  # 128 + SIGINT, what shells report for Ctrl-C


def main(argv: Sequence[str] | None = None) -> int:
    """Ctrl-C anywhere (a prompt, a sign-in wait, the HTTP server) exits 130 without a traceback, and output piped
    into a program that stops reading (`| head`) ends quietly."""
    try:
        return _main(argv)
    except KeyboardInterrupt:
        return _interrupted()
    except BaseExceptionGroup as group:  # Ctrl-C inside a task group arrives wrapped
        if group.subgroup(KeyboardInterrupt) is None:
            raise
        return _interrupted()
    except BrokenPipeError:
        # Python would complain again when it flushes stdout at exit: point stdout at the null device first.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return 1


def _interrupted() -> int:
    print(file=sys.stderr)
    return EXIT_INTERRUPTED


def _main(argv: Sequence[str] | None) -> int:
    from pydantic import ValidationError

    from guard.home import HomeError
    from guard.policy import PolicyError
    from trakt_mcp.logs import configure_logging

    args = parse_arguments(argv)
    serving = args.run is run_serve
    # `status` and `setup` say where the token and credentials are kept themselves: a warning saying it again
    # would land in the middle of their report.
    reports_storage = bool(getattr(args, "reports_storage", False))
    quiet = logging.ERROR if reports_storage else logging.WARNING
    configure_logging(logging.DEBUG if getattr(args, "verbose", False) else quiet, for_person=not serving)
    try:
        settings = settings_from(args)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        print(f"trakt-mcp: invalid configuration: {problems}", file=sys.stderr)
        return EXIT_USAGE
    runner: Runner = args.run
    try:
        return runner(args, settings)
    except (PolicyError, HomeError) as exc:
        print(f"trakt-mcp: the server cannot start: {exc}", file=sys.stderr)
        return EXIT_USAGE


def run_serve(args: argparse.Namespace, settings: Settings) -> int:
    if settings.sandbox:
        logging.getLogger("trakt_mcp").info("sandbox mode: an offline fake Trakt answers every call")
    if settings.transport == "stdio" and sys.stdin.isatty():
        print(
            "trakt-mcp speaks MCP over stdin/stdout: start it from an MCP client (see README.md), "
            f"or try a tool with `{command('call --sandbox fetch_trending_shows')}`. Ctrl-C stops it.",
            file=sys.stderr,
        )
    if settings.transport == "stdio" and sys.platform != "win32":
        from trakt_mcp.server import quickstart

        try:
            quickstart.serve(settings, lambda: _build(settings)[1])
        except KeyboardInterrupt:
            return EXIT_INTERRUPTED
        return 0
    if settings.public_url is not None and settings.transport != "streamable-http":
        print("trakt-mcp: --public-url serves people over HTTP: add --transport streamable-http", file=sys.stderr)
        return EXIT_USAGE
    app, server = _build(settings)
    if settings.public_url is not None:
        from trakt_mcp.http.serve import HttpOptions
        from trakt_mcp.remote.serve import serve as serve_remote

        extra_hosts, extra_origins = (tuple(getattr(args, k, None) or ()) for k in ("allowed_host", "allowed_origin"))
        return serve_remote(server, app, HttpOptions(settings.host, settings.port, extra_hosts, extra_origins))
    if settings.transport == "streamable-http":
        from trakt_mcp.http.serve import HttpOptions, serve_http
        from trakt_mcp.server.guarded import policy_in_force

        extra_hosts, extra_origins = (tuple(getattr(args, k, None) or ()) for k in ("allowed_host", "allowed_origin"))
        no_auth = bool(getattr(args, "no_auth", False))
        trusted = bool(getattr(args, "trust_unauthenticated", False))
        options = HttpOptions(
            settings.host, settings.port, extra_hosts, extra_origins, no_auth=no_auth, trust_unauthenticated=trusted
        )
        ready = app.store.health if app.store is not None else None
        return serve_http(server, options, policy_in_force(app), settings.home, ready)
    server.run("stdio")
    return 0


def _build(settings: Settings) -> tuple[App, MCPServer]:
    from trakt_mcp.server.build import build_server, create_app

    app = create_app(settings)
    return app, build_server(app)


def parse_call_arguments(pairs: Sequence[str], json_arguments: str | None) -> dict[str, Any]:
    arguments: dict[str, Any] = {}
    if json_arguments:
        try:
            loaded = jsonlimits.loads(json_arguments)
        except ValueError as exc:
            raise ValueError(f"--json is {exc}") from None
        if not isinstance(loaded, dict):
            raise ValueError("--json must be a JSON object")
        arguments.update(loaded)
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"argument {pair!r} is not key=value")
        try:
            arguments[key] = json.loads(raw)
        except ValueError:
            arguments[key] = raw
        except RecursionError:
            raise ValueError(f"argument {key!r}: nested deeper than {jsonlimits.MAX_DEPTH} levels") from None
    return arguments


def run_call(args: argparse.Namespace, settings: Settings) -> int:
    try:
        arguments = parse_call_arguments(args.arguments, args.json_arguments)
    except ValueError as exc:
        print(f"trakt-mcp call: {exc}", file=sys.stderr)
        return EXIT_USAGE
    import anyio

    from trakt_mcp.cli.local import EXIT_REFUSED, INTERRUPTED, call_tool_locally

    text, code = anyio.run(call_tool_locally, settings, args.tool, arguments)
    if INTERRUPTED.is_set():
        return _interrupted()
    if code == EXIT_REFUSED:
        print(f"trakt-mcp call: {text}", file=sys.stderr)
        return code
    print(text)
    return code
