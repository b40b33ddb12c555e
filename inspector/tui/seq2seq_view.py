"""From seq2seq records to what the seq2seq screen shows: encoder log lines, the decoder's tape
cells with misses against the task's target, and the decoded string. Plain functions, no widgets."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from inspector.tui.text import token_repr, vector_summary
from inspector.tui.widgets.tape import TapeCell
from models.errors import printable

if TYPE_CHECKING:
    from inspector.engine import StepRecord

EOS = "</s>"


def encoder_line(record: StepRecord) -> str:
    """`t=0  x='h'  h=[…]`: the encoder has no output, so only its top layer's new state."""
    return f"t={record.t}  x={token_repr(record.token)}  h={vector_summary(record.layers[-1].h)}"


def expected_output(task: str | None, source: str) -> list[str] | None:
    """What the decoder should predict step by step, for the tasks whose answer is known."""
    if task == "reverse":
        return [*source[::-1], EOS]
    return None


def decoder_cells(records: Sequence[StepRecord], expected: list[str] | None) -> list[TapeCell]:
    """Each decoder step: the token fed (`<s>` first) over the token predicted, misses marked."""
    return [TapeCell(record.token, record.prediction,
                     expected is not None and (record.t >= len(expected)
                                               or record.prediction != expected[record.t]))
            for record in records]


def output_text(records: Sequence[StepRecord]) -> str:
    """The decoded string, without `</s>`: the predictions up to the first end token, escaped
    (a target vocabulary from a file may hold control or bidi characters)."""
    out = []
    for record in records:
        if record.prediction == EOS:
            break
        out.append(record.prediction)
    return printable("".join(out))
