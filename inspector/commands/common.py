"""What every command shares: the one-line error, warnings, the model options, opening a model.

Imports no torch (nor anything that does) at module level: `inspector.cli` imports this before
its handlers are in place, and a Ctrl-C during torch's import must land inside them.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from models.atomic import OutputPathError, check_output
from models.errors import printable

if TYPE_CHECKING:
    from inspector.loading import ModelSource
    from models.checkpoint import Checkpoint

EXIT_USAGE = 2


class CommandError(Exception):
    """A user-facing failure: printed as one line, exit code 2."""


def add_model_options(parser: argparse.ArgumentParser, *, model_required: bool = False) -> None:
    """MODEL and the options for foreign checkpoints, the same on every command."""
    parser.add_argument("model", nargs=None if model_required else "?", metavar="MODEL",
                        help="checkpoint path (.safetensors, .pt, .pth) or zoo name")
    foreign = parser.add_argument_group("foreign checkpoints")
    foreign.add_argument("--vocab", metavar="FILE", help="JSON list of tokens in index order")
    foreign.add_argument("--target-vocab", metavar="FILE",
                         help="decoder vocabulary for a seq2seq model, when it differs")
    foreign.add_argument("--labels", metavar="FILE",
                         help="JSON list naming the head's outputs, when they are not the vocab")
    foreign.add_argument("--decoder", metavar="FILE",
                         help="a seq2seq model's decoder, saved in a file of its own")
    foreign.add_argument("--bos", metavar="TOKEN",
                         help="the token a seq2seq decoder starts from (default <s>)")
    foreign.add_argument("--eos", metavar="TOKEN",
                         help="the token a seq2seq decoder stops at (default </s>)")
    foreign.add_argument("--source-eos", action="store_true",
                         help="append the end token to a seq2seq source before the handoff")
    foreign.add_argument("--output", choices=("raw",),
                         help="raw: show the head's values as they are (regression), no softmax")
    foreign.add_argument("--nonlinearity", choices=("tanh", "relu"),
                         help="nonlinearity of a plain nn.RNN (a state_dict cannot show it)")
    foreign.add_argument("--trust-pickle", action="store_true",
                         help="allow unpickling a whole saved module (runs code: own files only)")
    foreign.add_argument("--factory", metavar="MODULE:CALLABLE",
                         help="build a custom model with this callable instead of MODEL")
    foreign.add_argument("--step-timeout", metavar="SECONDS", type=step_timeout,
                         help="how long one call of a factory's or pickled module's forward may "
                              "take before the model is given up (default 5)")


def source_from(args: argparse.Namespace) -> ModelSource:
    """The options carrier for what `add_model_options` parsed."""
    from inspector.loading import ModelSource

    return ModelSource(model=args.model, vocab=args.vocab, target_vocab=args.target_vocab,
                       nonlinearity=args.nonlinearity, trust_pickle=args.trust_pickle,
                       factory=args.factory, labels=args.labels, decoder=args.decoder,
                       bos=args.bos, eos=args.eos, output=args.output,
                       source_eos=args.source_eos, step_timeout=args.step_timeout)


def step_timeout(value: str) -> float:
    """`--step-timeout SECONDS`: a positive, finite number."""
    try:
        seconds = float(value)
    except ValueError:
        seconds = float("nan")
    if not (seconds > 0 and math.isfinite(seconds)):
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, not {value!r}")
    return seconds


def output_target(path: str | Path, option: str = "--out") -> Path:
    """Check an output path before any work starts (CommandError naming the option if not)."""
    try:
        return check_output(path)
    except OutputPathError as exc:
        raise CommandError(f"{exc} ({option})") from None


def warn(warnings: list[str]) -> None:
    for line in warnings:  # they quote the file (key names): escaped, one line each
        print(f"rnn-inspect: warning: {printable(line)}", file=sys.stderr)


def other_encoder(checkpoint, name: str):
    """The checkpoint whose encoder `--encoder-from` names, checked to fit MODEL's decoder; the
    one line on stderr says what a mixed pair is."""
    from inspector.engine import inspectable
    from inspector.loading import ModelSource, open_model

    other = open_model(ModelSource(name))
    warn(other.warnings)
    for model, what in ((checkpoint, "MODEL"), (other, "--encoder-from")):
        if model.kind != "seq2seq":
            raise CommandError(f"{model.name}: a {model.kind} model has no encoder or decoder; "
                               f"--encoder-from needs two seq2seq models ({what} is not one)")
    if other.path is not None and checkpoint.path is not None and \
            other.path.resolve() == checkpoint.path.resolve():
        print(f"rnn-inspect: note: --encoder-from {name} is MODEL itself: its own handoff",
              file=sys.stderr)
        return None
    try:
        mixed = inspectable(checkpoint).with_encoder_of(inspectable(other))
    except ValueError as exc:
        raise CommandError(f"--encoder-from {name}: {exc}") from None
    print(f"rnn-inspect: note: {printable(mixed.handoff_note)}", file=sys.stderr)
    return other


def open_source(source: ModelSource) -> Checkpoint:
    """Open a model the way every command does: user code's prints kept off stdout, options
    that would do nothing for this model refused, warnings printed."""
    from inspector.loading import open_model

    with user_code_output():
        checkpoint = open_model(source)
    refuse_unused_options(source, checkpoint)
    warn(checkpoint.warnings)
    return checkpoint


def open_models(source: ModelSource, compare: ModelSource | None
                ) -> tuple[Checkpoint, Checkpoint | None]:
    """MODEL and the --compare model, as the app takes them (in the terminal or served). The
    compare model takes MODEL's foreign-checkpoint options (--vocab, …), so an option may be meant
    for either one: only a lone model has its unused options refused."""
    from inspector.loading import open_model

    if compare is None:
        return open_source(source), None
    with user_code_output():
        opened = open_model(source), open_model(compare)
    for checkpoint, label in zip(opened, (source.label(), compare.label())):
        if checkpoint.kind == "seq2seq":
            raise CommandError(f"--compare: {label} is a seq2seq model; compare feeds the "
                               "same keys to two character models")
        warn(checkpoint.warnings)
    return opened


def refuse_unused_options(source: ModelSource, checkpoint: Checkpoint) -> None:
    """An option the model ignores is a mistake the user should hear about (a `--vocab` given
    with a native checkpoint is never read, so even a missing file would pass unnoticed)."""
    name = source.label()
    native = "detected" not in checkpoint.meta  # foreign files and factories say what was found
    if native:
        for option, value in (("--vocab", source.vocab), ("--target-vocab", source.target_vocab)):
            if value is not None:
                raise CommandError(f"{option} {value}: {name} is a native checkpoint and carries "
                                   "its own vocabulary; drop the option")
        if source.nonlinearity is not None:
            raise CommandError(f"--nonlinearity {source.nonlinearity}: {name} is a native "
                               "checkpoint and records its own nonlinearity; drop the option")
    elif source.nonlinearity is not None and checkpoint.inspectable is not None:
        raise CommandError(f"--nonlinearity {source.nonlinearity}: {name} runs its own forward, "
                           "which decides its nonlinearity; drop the option")
    if source.step_timeout is not None and checkpoint.inspectable is None:
        raise CommandError(f"--step-timeout {source.step_timeout:g}: {name} runs no code of its "
                           "own (only a --factory or --trust-pickle module does); drop the option")


@contextlib.contextmanager
def user_code_output() -> Iterator[None]:
    """While a factory's (or a pickled module's) code runs, its print() goes to stderr: stdout
    may be the trace a reader parses."""
    with contextlib.redirect_stdout(sys.stderr):
        yield
