"""CharRNN: embedding (or one-hot) -> nn.RNN / nn.LSTM / nn.GRU -> linear head.

Built from plain `nn` modules so its state_dict is ordinary PyTorch (`embed.weight`,
`rnn.weight_ih_l0`, …, `head.weight`) and any inspector that knows `nn.LSTM` knows this model.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

CELLS = ("rnn", "lstm", "gru")

Hidden = torch.Tensor | tuple[torch.Tensor, torch.Tensor]


@dataclass(frozen=True)
class CharRNNConfig:
    vocab_size: int
    cell: str = "lstm"  # rnn | lstm | gru
    layers: int = 1
    hidden: int = 64
    embed: int = 16  # 0 means one-hot input of size vocab_size
    nonlinearity: str = "tanh"  # plain RNN only: tanh | relu
    bias: bool = True

    def __post_init__(self) -> None:
        if self.cell not in CELLS:
            raise ValueError(f"cell must be one of {CELLS}, not {self.cell!r}")
        if self.nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"nonlinearity must be tanh or relu, not {self.nonlinearity!r}")
        if not 1 <= self.layers <= 8:
            raise ValueError(f"layers must be between 1 and 8, not {self.layers}")

    @property
    def input_size(self) -> int:
        return self.embed or self.vocab_size

    def arch(self) -> dict:
        """The `arch` block of the checkpoint metadata."""
        data = asdict(self)
        del data["vocab_size"]
        return data


def make_recurrent(cell: str, input_size: int, hidden: int, layers: int, nonlinearity: str = "tanh",
                   bias: bool = True) -> nn.RNNBase:
    """The torch recurrent layer stack for a cell name, always batch_first."""
    if cell == "rnn":
        return nn.RNN(input_size, hidden, layers, nonlinearity=nonlinearity, bias=bias,
                      batch_first=True)
    cls = {"lstm": nn.LSTM, "gru": nn.GRU}[cell]
    return cls(input_size, hidden, layers, bias=bias, batch_first=True)


class RecurrentCore(nn.Module):
    """Input vectors and the recurrent stack: the part shared by CharRNN and a seq2seq encoder."""

    def __init__(self, config: CharRNNConfig) -> None:
        super().__init__()
        self.config = config
        self.embed = nn.Embedding(config.vocab_size, config.embed) if config.embed else None
        self.rnn = make_recurrent(config.cell, config.input_size, config.hidden, config.layers,
                                  config.nonlinearity, config.bias)

    def input_vectors(self, ids: torch.Tensor) -> torch.Tensor:
        """(B, T) token ids -> (B, T, input_size) vectors fed to the first layer."""
        if self.embed is not None:
            return self.embed(ids)
        return F.one_hot(ids, self.config.vocab_size).to(torch.float32)

    def run(self, ids: torch.Tensor, hidden: Hidden | None = None) -> tuple[torch.Tensor, Hidden]:
        """(B, T) ids -> (B, T, H) top-layer outputs and the final hidden state."""
        return self.rnn(self.input_vectors(ids), hidden)


class CharRNN(RecurrentCore):
    """A character model: `(y_t, h_{t+1}) = f(x_t, h_t)` with `h_0 = 0`."""

    def __init__(self, config: CharRNNConfig) -> None:
        super().__init__(config)
        self.head = nn.Linear(config.hidden, config.vocab_size)

    def forward(self, ids: torch.Tensor,
                hidden: Hidden | None = None) -> tuple[torch.Tensor, Hidden]:
        """(B, T) ids -> (B, T, V) logits and the final hidden state."""
        outputs, hidden = self.run(ids, hidden)
        return self.head(outputs), hidden
