"""The names of states and units: one grammar for every place that reads one.

`l0.h`, `l1.c[5]`, `l0.gate.f[3]`, `l0.dh[2]`, `l0.in.i` / `l0.mem.i` (a gate's input and memory
parts), `l0.act[7]` (the MLP's hidden layer), with an optional `dec.` or `handoff.` in front (the
seq2seq decoder's and the handoff's). These are the names the engine records, the trace export,
interventions, `rnn-inspect units`, the dialogs, ctrl+g and the analysis panels use
(TransformerLens-style stable hook names). A gate may be written without `gate.` (`l0.f`): it
reads as `l0.gate.f`, so a dialog can say that a gate cannot be edited.

Pure and torch-free: the engine and the first screen both import it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

NAME = re.compile(r"(?:(dec|handoff)\.)?l(\d+)\.(h|c|dh|act|(?:gate|in|mem)\.[a-z]|[ifgorzn])"
                  r"(?:\[(\d+)\])?")
STATES = ("h", "c")  # what an intervention or a handoff edit may change


@dataclass(frozen=True)
class StateName:
    """`l1.c[5]` read: layer 1, state `c`, unit 5 (None: the whole vector)."""

    layer: int
    what: str  # h | c | dh | act | gate.f | in.i | mem.i …
    unit: int | None = None
    prefix: str | None = None  # dec | handoff | None

    @property
    def target(self) -> str:
        """`l1.c`: the state without its unit (and prefix), as interventions name it."""
        return f"l{self.layer}.{self.what}"

    @property
    def is_state(self) -> bool:
        """h or c of the model itself (no prefix): what an intervention may edit."""
        return self.prefix is None and self.what in STATES

    @property
    def is_gate(self) -> bool:
        return self.what.startswith("gate.")


@lru_cache(maxsize=4096)
def parse_name(text: str) -> StateName | None:
    """The name `text` spells, or None if it is not one."""
    match = NAME.fullmatch(text.strip())
    if match is None:
        return None
    prefix, layer, what, unit = match.groups()
    if len(what) == 1 and what not in STATES:  # `l0.f`: a gate named without `gate.`
        what = f"gate.{what}"
    return StateName(int(layer), what, None if unit is None else int(unit), prefix)


def parse_state(target: str, n_layers: int) -> tuple[int, str]:
    """(layer, "h" | "c") of an intervention's target (`l0.h`); ValueError if it names no
    state of a model with `n_layers` layers."""
    name = parse_name(target)
    if name is None or not name.is_state or name.unit is not None:
        raise ValueError(f"intervention target {target!r} must look like l0.h or l0.c")
    if name.layer >= n_layers:
        raise ValueError(f"{target}: the model has {n_layers} layer(s)")
    return name.layer, name.what
