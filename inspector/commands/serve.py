"""`rnn-inspect serve [MODEL]`: the same app in a browser, through textual-serve.

textual-serve runs a shell command for every visitor (each gets their own app process, driven
over a websocket), so the command is this interpreter running `rnn-inspect` on the same model
with the same options, every argument quoted for the shell.
"""

from __future__ import annotations

import argparse
import ipaddress
import shlex
import sys
from dataclasses import fields, replace

from inspector.commands.common import (
    CommandError,
    add_model_options,
    open_models,
    source_from,
    warn,
)
from inspector.loading import ModelSource

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


def add_parser(sub: argparse._SubParsersAction) -> None:
    serve = sub.add_parser(
        "serve", help="the same app in a browser (textual-serve; localhost unless told)",
        description="Serve the inspector to a browser: every visitor gets their own app "
                    "process on the same model. Listens on 127.0.0.1 unless --host says "
                    "otherwise; anyone who can reach the address can use the app.")
    add_model_options(serve)
    serve.add_argument("--compare", metavar="OTHER", help="feed the same keys to a second model")
    serve.add_argument("--host", default=DEFAULT_HOST,
                       help=f"address to listen on (default {DEFAULT_HOST}: this machine only)")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT,
                       help=f"port to listen on (default {DEFAULT_PORT})")


def model_argv(source: ModelSource) -> list[str]:
    """MODEL and every model option as the command line gives them (`--vocab FILE`,
    `--trust-pickle`, …), from the options carrier, so an option added there passes through."""
    argv = [] if source.model is None else [source.model]
    for field in fields(source):
        value = getattr(source, field.name)
        option = "--" + field.name.replace("_", "-")
        if field.name == "model" or value is None or value is False:
            continue
        argv += [option] if value is True else [option, str(value)]
    return argv


def app_command(args: argparse.Namespace) -> str:
    """The shell command textual-serve runs per visitor: `python -m inspector.cli` with MODEL
    and the model options as given, each argument quoted."""
    compare = ["--compare", args.compare] if args.compare else []
    return shlex.join([sys.executable, "-m", "inspector.cli", *model_argv(source_from(args)),
                       *compare])


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def run(args: argparse.Namespace) -> int:
    if not 1 <= args.port <= 65535:
        raise CommandError(f"--port {args.port}: must be between 1 and 65535")
    try:
        from textual_serve.server import Server
    except ImportError:
        raise CommandError("serve needs textual-serve: pip install 'textual-serve>=1.1,<2'") \
            from None
    # Open the models once here, as the app in a terminal opens them, so a bad file (or an
    # option the model ignores, or a seq2seq model to compare) is one line now rather than a
    # broken page for every visitor.
    source = source_from(args)
    if source.model is None and source.factory is None:
        source = ModelSource("doubled-lstm")
    open_models(source, replace(source, model=args.compare, factory=None) if args.compare
                else None)
    if not _is_loopback(args.host):
        warn([f"serving on {args.host}: anyone who can reach it can use the app"
              + (" and run the factory's code" if args.factory else "")])
    server = Server(app_command(args), host=args.host, port=args.port, title="rnn-inspect")
    try:
        server.serve()
    except OSError as exc:  # the port is taken, or the address is not this machine's
        raise CommandError(f"cannot listen on {args.host}:{args.port} "
                           f"({exc.strerror or exc})") from None
    return 0
