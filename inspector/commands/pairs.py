"""`rnn-inspect train pairs --data FILE`: your own X → Y, and which model can learn it.

Aligned pairs train a step model (MLP, RNN, LSTM, GRU), pairs of different lengths an
encoder–decoder. `--cells mlp,rnn,lstm,gru` trains each on the same split and prints one table;
`--open` then shows the best recurrent model beside the MLP in compare mode.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path

from safetensors import SafetensorError

from inspector.commands.common import CommandError, output_target, warn
from models.checkpoint import first_line

CELLS = ("mlp", "rnn", "lstm", "gru")


def add_options(train: argparse.ArgumentParser) -> None:
    """The options only `train pairs` reads (the shared ones, --cell … --out, are train's)."""
    group = train.add_argument_group("pairs (train pairs --data FILE)")
    group.add_argument("--data", metavar="FILE",
                       help="input<TAB>target lines (.tsv) or JSON lines with input and target; "
                            "a bundled file by name: shift.tsv, doubled.tsv")
    group.add_argument("--tokens", choices=("chars", "words"),
                       help="split each side into characters (default) or whitespace-separated "
                            "words")
    group.add_argument("--kind", choices=("auto", "step", "seq2seq"),
                       help="auto: a step model when every target has one token per input "
                            "token, else an encoder–decoder")
    group.add_argument("--holdout", type=float,
                       help="fraction of distinct inputs held out, never trained on (seeded; "
                            "default 0.1)")
    group.add_argument("--patience", type=int,
                       help="held-out evaluations without improvement before stopping (default "
                            "20; 0 never)")
    group.add_argument("--cells", metavar="LIST",
                       help="train each of these (e.g. mlp,rnn,lstm,gru) on the same split; "
                            "--out NAME.safetensors saves NAME-CELL.safetensors")
    group.add_argument("--as-task", metavar="NAME",
                       help="the task name stored in the checkpoint (default: pairs)")
    group.add_argument("--open", action="store_true",
                       help="then open the best recurrent model beside the MLP (compare mode)")


DEFAULTS = {"tokens": "chars", "kind": "auto", "holdout": 0.1, "patience": 20,
            "as_task": "pairs"}
PAIRS_ONLY = ("data", "cells", *DEFAULTS)


def refuse_outside_pairs(args: argparse.Namespace) -> None:
    """`train doubled --data FILE` would silently train the built-in task: say so instead."""
    given = [name for name in PAIRS_ONLY if getattr(args, name) is not None]
    if args.open:
        given.append("open")
    if given:
        options = ", ".join("--" + name.replace("_", "-") for name in given)
        raise CommandError(f"{options}: only for train pairs (this is train {args.task})")


@dataclass(frozen=True)
class Trained:
    cell: str
    path: Path
    facts: dict
    parameters: int
    seconds: float

    def held_out(self) -> tuple[float, float]:
        block = self.facts.get("holdout", {})
        return block.get("sequence_accuracy", -1.0), block.get("token_accuracy", -1.0)


def parse_cells(args: argparse.Namespace) -> list[str]:
    if args.cells is None:
        return [args.cell]
    cells = [c.strip() for c in args.cells.split(",") if c.strip()]
    unknown = [c for c in cells if c not in CELLS]
    if not cells or unknown:
        raise CommandError(f"--cells {args.cells!r}: list cells from {', '.join(CELLS)}, "
                           "separated by commas")
    if len(set(cells)) != len(cells):
        raise CommandError(f"--cells {args.cells!r} names a cell twice")
    return cells


def out_paths(out: str, cells: list[str], several: bool) -> dict[str, Path]:
    path = Path(out)
    if not several:
        return {cells[0]: output_target(path)}
    suffix = path.suffix or ".safetensors"
    return {cell: output_target(path.with_name(f"{path.stem}-{cell}{suffix}")) for cell in cells}


def run(args: argparse.Namespace) -> int:
    from models.pairs import PairsError, read_pairs, split_pairs
    from models.train_pairs import PairsConfig, model_kind, save_pairs_result, train_pairs

    if args.data is None:
        raise CommandError("train pairs needs --data FILE (input<TAB>target lines)")
    for name, value in DEFAULTS.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    if args.steps < 1:
        raise CommandError("--steps must be at least 1")
    if args.patience < 0:
        raise CommandError("--patience must be 0 (never stop early) or more")
    cells = parse_cells(args)
    paths = out_paths(args.out, cells, args.cells is not None)  # before training: never lose work
    try:
        data = read_pairs(args.data, args.tokens)
        split = split_pairs(data, args.holdout, args.seed)
        configs = {cell: PairsConfig(cell, args.kind, args.layers, args.hidden, args.embed,
                                     args.nonlinearity, args.bridge, args.steps, args.batch,
                                     args.lr, args.seed, args.holdout, args.patience)
                   for cell in cells}
        kinds = {model_kind(config, data) for config in configs.values()}
    except (PairsError, ValueError) as exc:
        raise CommandError(str(exc)) from None
    if len(kinds) > 1:  # auto with mlp on unaligned data is refused above; this is a safeguard
        raise CommandError("--cells mixes step models and encoder–decoders; pass --kind")
    unaligned = data.first_unaligned
    if kinds == {"seq2seq"} and args.kind == "auto" and unaligned is not None:
        print(f"pairs of different lengths (first at line {unaligned.line}): training an "
              "encoder–decoder (--kind step insists on a step model)")
    trained = []
    for cell in cells:
        started = time.perf_counter()
        try:
            result = train_pairs(configs[cell], data, split, progress=not args.quiet)
        except (ValueError, OSError) as exc:
            raise CommandError(first_line(exc)) from None
        seconds = time.perf_counter() - started
        try:
            path = save_pairs_result(result, data, paths[cell], task=args.as_task)
        except (OSError, SafetensorError) as exc:
            raise CommandError(f"{paths[cell]}: cannot save the checkpoint "
                               f"({first_line(exc)})") from None
        parameters = sum(p.numel() for p in result.module.parameters())
        trained.append(Trained(cell, path, result.facts, parameters, seconds))
        print(f"saved {path}: {result.summary}")
    if len(trained) > 1:
        print("\n".join(table(trained)))
    if args.open:
        return open_best(trained)
    return 0


def table(trained: list[Trained]) -> list[str]:
    """One row per model: held-out accuracy, parameters, time; the best recurrent one named."""
    lines = [f"{'cell':<5} {'held-out/token':>14} {'held-out/exact':>14} {'parameters':>10} "
             f"{'time':>8} {'steps':>6}  file"]
    for t in trained:
        exact, token = t.held_out()
        shown = [f"{v:.1%}" if v >= 0 else "—" for v in (token, exact)]
        lines.append(f"{t.cell:<5} {shown[0]:>14} {shown[1]:>14} {t.parameters:>10,} "
                     f"{t.seconds:>7.1f}s {t.facts['steps']:>6}  {t.path}")
    best = best_recurrent(trained)
    if best is not None and "holdout" in best.facts:
        lines.append(f"best recurrent: {best.cell} "
                     f"({best.facts['holdout']['token_accuracy']:.1%} per token held out)")
    return lines


def best_recurrent(trained: list[Trained]) -> Trained | None:
    recurrent = [t for t in trained if t.cell != "mlp"]
    return max(recurrent, key=Trained.held_out) if recurrent else None


def open_best(trained: list[Trained]) -> int:
    """Compare mode: the best recurrent model, fed the same keys as the MLP (or one model)."""
    from inspector.loading import ModelSource, open_model
    from inspector.tui.app import run_app

    best = best_recurrent(trained) or trained[0]
    mlp = next((t for t in trained if t.cell == "mlp" and t is not best), None)
    source = ModelSource(str(best.path))
    compare = ModelSource(str(mlp.path)) if mlp else None
    opened = open_model(source)
    compare_opened = open_model(compare) if compare else None
    for checkpoint in (opened, compare_opened):
        if checkpoint is not None:
            warn(checkpoint.warnings)
    return run_app(source, compare=compare, opened=opened, compare_opened=compare_opened)
