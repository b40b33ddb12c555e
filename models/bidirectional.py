"""Bidirectional models as a state_dict describes them: an embedding (or one-hot input), one
bidirectional nn.RNN/LSTM/GRU, and a head (a tagger) or a handoff to a decoder (an encoder).

Their forward takes the whole input, `(1, T)` token ids, since every step depends on all of it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

RECURRENT = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


def bidirectional_stack(cell: str, input_size: int, hidden: int, layers: int, bias: bool = True,
                        nonlinearity: str = "tanh") -> nn.RNNBase:
    extra = {"nonlinearity": nonlinearity} if cell == "rnn" else {}
    return RECURRENT[cell](input_size, hidden, layers, bias=bias, batch_first=True,
                           bidirectional=True, **extra)


class OneHot(nn.Module):
    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return F.one_hot(ids, self.size).to(torch.float32)


class BiTagger(nn.Module):
    """(1, T) ids -> (1, T, K) head values, one row per step (a tagger's labels)."""

    def __init__(self, embed: nn.Module, rnn: nn.RNNBase, head: nn.Linear) -> None:
        super().__init__()
        self.embed, self.rnn, self.head = embed, rnn, head

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        outputs, _ = self.rnn(self.embed(ids))  # (1, T, 2H)
        return self.head(outputs)


class BiEncoder(nn.Module):
    """(1, T) ids -> outputs (1, T, 2H) and the decoder's first state: per layer both
    directions' final states side by side (`concat`, the decoder 2H wide), or tanh(fc([forward;
    backward])) of the last layer (`bridge`, a one-layer decoder)."""

    def __init__(self, embed: nn.Module, rnn: nn.RNNBase, bridge: nn.Linear | None = None
                 ) -> None:
        super().__init__()
        self.embed, self.rnn, self.bridge = embed, rnn, bridge

    def forward(self, ids: torch.Tensor):
        outputs, hidden = self.rnn(self.embed(ids))
        if self.bridge is not None:  # (2 L, 1, H) -> (1, 1, H_dec)
            return outputs, torch.tanh(self.bridge(torch.cat((hidden[-2], hidden[-1]), 1)))[None]

        def joined(state):  # (2 L, 1, H) -> (L, 1, 2H): l0 forward | l0 backward, …
            return torch.cat((state[0::2], state[1::2]), dim=2)

        if isinstance(hidden, tuple):
            return outputs, (joined(hidden[0]), joined(hidden[1]))
        return outputs, joined(hidden)
