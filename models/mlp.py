"""MLPBaseline: sees only the current character, so it has no memory to tell `a` from `a`."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class MLPConfig:
    vocab_size: int
    embed: int = 16
    hidden: int = 64

    def arch(self) -> dict:
        data = asdict(self)
        del data["vocab_size"]
        return {"cell": "mlp", **data}


class MLPBaseline(nn.Module):
    """embed -> Linear -> tanh -> Linear head, applied to each character on its own."""

    def __init__(self, config: MLPConfig) -> None:
        super().__init__()
        self.config = config
        self.embed = nn.Embedding(config.vocab_size, config.embed)
        self.hidden = nn.Linear(config.embed, config.hidden)
        self.head = nn.Linear(config.hidden, config.vocab_size)

    def features(self, ids: torch.Tensor) -> torch.Tensor:
        """(B, T) ids -> (B, T, hidden) activations; position t depends on ids[:, t] only."""
        return torch.tanh(self.hidden(self.embed(ids)))

    def forward(self, ids: torch.Tensor, hidden: None = None) -> tuple[torch.Tensor, None]:
        """Same signature as CharRNN so training and inspection treat both alike."""
        return self.head(self.features(ids)), None
