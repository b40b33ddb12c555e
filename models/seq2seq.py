"""Seq2Seq: encoder RNN -> bridge (identity | linear) -> decoder RNN, with `<s>` / `</s>`.

The encoder's final state, passed through the bridge, is the decoder's first state: the handoff.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from models.char_rnn import CharRNN, CharRNNConfig, Hidden, RecurrentCore

BRIDGES = ("identity", "linear")


@dataclass(frozen=True)
class Seq2SeqConfig:
    source_vocab_size: int
    target_vocab_size: int
    cell: str = "lstm"
    layers: int = 1
    hidden: int = 128
    embed: int = 32
    bridge: str = "identity"

    def __post_init__(self) -> None:
        if self.bridge not in BRIDGES:
            raise ValueError(f"bridge must be one of {BRIDGES}, not {self.bridge!r}")

    def encoder_config(self) -> CharRNNConfig:
        return CharRNNConfig(self.source_vocab_size, self.cell, self.layers, self.hidden,
                             self.embed)

    def decoder_config(self) -> CharRNNConfig:
        return CharRNNConfig(self.target_vocab_size, self.cell, self.layers, self.hidden,
                             self.embed)

    def arch(self) -> dict:
        return {"cell": self.cell, "layers": self.layers, "hidden": self.hidden,
                "embed": self.embed, "nonlinearity": "tanh"}


class Bridge(nn.Module):
    """Maps the encoder's final state to the decoder's first state, per layer."""

    def __init__(self, kind: str, hidden: int, cell: str) -> None:
        super().__init__()
        self.kind = kind
        self.h = nn.Linear(hidden, hidden) if kind == "linear" else None
        self.c = nn.Linear(hidden, hidden) if kind == "linear" and cell == "lstm" else None

    def forward(self, state: Hidden) -> Hidden:
        if self.kind == "identity":
            return state
        if isinstance(state, tuple):
            h, c = state
            return torch.tanh(self.h(h)), self.c(c)
        return torch.tanh(self.h(state))


class Seq2Seq(nn.Module):
    def __init__(self, config: Seq2SeqConfig) -> None:
        super().__init__()
        self.config = config
        self.encoder = RecurrentCore(config.encoder_config())
        self.bridge = Bridge(config.bridge, config.hidden, config.cell)
        self.decoder = CharRNN(config.decoder_config())

    def handoff(self, source: torch.Tensor) -> Hidden:
        """(B, S) source ids -> the decoder's first state."""
        _, state = self.encoder.run(source)
        return self.bridge(state)

    def forward(self, source: torch.Tensor, decoder_input: torch.Tensor) -> torch.Tensor:
        """Teacher forcing: (B, S) source, (B, T) decoder input (starting `<s>`) -> (B, T, V)."""
        logits, _ = self.decoder(decoder_input, self.handoff(source))
        return logits

    @torch.no_grad()
    def greedy(self, source: torch.Tensor, bos: int, eos: int,
               max_len: int = 64) -> list[list[int]]:
        """Greedy decode of a batch; each row stops at `</s>` (not included) or `max_len`."""
        state = self.handoff(source)
        batch = source.shape[0]
        token = torch.full((batch, 1), bos, dtype=torch.long)
        out: list[list[int]] = [[] for _ in range(batch)]
        done = torch.zeros(batch, dtype=torch.bool)
        for _ in range(max_len):
            logits, state = self.decoder(token, state)
            token = logits.argmax(-1)  # (B, 1)
            for row in range(batch):
                if not done[row]:
                    if token[row, 0].item() == eos:
                        done[row] = True
                    else:
                        out[row].append(int(token[row, 0]))
            if bool(done.all()):
                break
        return out
