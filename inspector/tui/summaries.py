"""What the tape needs of every step, kept so old steps are never recomputed per key, and the
rules for marking misses. Plain data and functions: tested without a terminal or a model."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from inspector.tui.frames import TapeCell, TapeFrame
from models.tasks import stream_targets


@dataclass(frozen=True, slots=True)
class StepSummary:
    """One step as the tape shows it: the key, the token it became, the model's prediction, the
    task's target there (None: the task says nothing, or the model is a language model), and
    whether an intervention or clamp shaped it."""

    t: int
    typed: str
    token: str
    prediction: str
    target: str | None = None
    intervened: bool = False
    by_model: bool = False  # the model wrote this step (F8: Session.generate)


def targets_after(task: str | None, before: Sequence[StepSummary], text: str
                  ) -> list[str | None] | None:
    """The task's targets for `text` typed after the steps `before` (None: no task targets).
    Only the run of equal letters the text continues matters (a doubled pair's position)."""
    if not text:
        return []
    run = 0
    while run < len(before) and before[len(before) - 1 - run].typed == text[0]:
        run += 1
    context = text[0] * (run % 2)
    targets = stream_targets(task, context + text)
    return None if targets is None else targets[len(context):]


def summaries_of(predictions: Sequence[str], pieces: Sequence[tuple[str, int]],
                 task: str | None, before: Sequence[StepSummary], start: int,
                 vocab_tokens: Sequence[str] | None = None,
                 intervened_first: bool = False, held: bool = False) -> list[StepSummary]:
    """The summaries of steps fed from `pieces` (typed text and token id, as
    `vocab.tokenize` gives them) starting at step `start`, their predictions already known
    (`Session.paste`); only as many as there are predictions (a paste cut short)."""
    pieces = pieces[:len(predictions)]
    typed = [piece for piece, _ in pieces]
    targets = (targets_after(task, before, "".join(typed))
               if all(len(piece) == 1 for piece in typed) else None)
    tokens = vocab_tokens
    return [StepSummary(start + i, piece, piece if tokens is None else tokens[token_id],
                        predictions[i], None if targets is None else targets[i],
                        held or (i == 0 and intervened_first))
            for i, (piece, token_id) in enumerate(pieces)]


def is_miss(steps: Sequence[StepSummary], t: int, task_targets: bool) -> bool:
    """Whether the prediction shown under step t was wrong.

    With task targets (`shift`, `doubled`) the output at t is compared with the task's target
    for x[t]. A language model's output at t is its guess at x[t+1], so it is a miss when the
    next key typed differs (the newest step's guess is not judged yet)."""
    step = steps[t]
    if task_targets:
        return step.target is not None and step.prediction != step.target
    return t + 1 < len(steps) and step.prediction != steps[t + 1].typed


def tape_window(steps: Sequence[StepSummary], pending: str, capacity: int,
                view_t: int | None, task_targets: bool) -> TapeFrame:
    """The cells that fit, ending at the newest step unless the step on view is further back."""
    total = len(steps) + len(pending)
    end = total if view_t is None else min(total, max(view_t + 1 + capacity // 4, capacity))
    start = max(0, end - capacity)
    cells = []
    for t in range(start, end):
        if t < len(steps):
            step = steps[t]
            cells.append(TapeCell(step.typed, step.prediction, is_miss(steps, t, task_targets),
                                  step.intervened, step.by_model))
        else:
            cells.append(TapeCell(pending[t - len(steps)], None))
    view_index = None if view_t is None else view_t - start
    if view_t is None and steps:
        view_index = len(steps) - 1 - start
    return TapeFrame(tuple(cells), start, view_index)
