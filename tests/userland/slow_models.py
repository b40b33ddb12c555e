"""Models whose forward can be held mid-call, as a slow forward would be: once `hold()` is called,
the next call waits until `release()` (or HOLD_SECONDS). A seq2seq pair (the tutorial's GRU
encoder, a plain GRU decoder that can be held) and a GRU language model over LETTERS."""

import threading

import torch
from torch import nn

from userland.any_models import EncoderRNN, PlainDecoder
from userland.faulty_models import LETTERS

HOLD_SECONDS = 30.0
held = threading.Event()  # set while a call waits
_armed = threading.Event()
_released = threading.Event()


def hold() -> None:
    _released.clear()
    held.clear()
    _armed.set()


def release() -> None:
    _armed.clear()
    _released.set()


def wait_if_held() -> None:
    if _armed.is_set():
        _armed.clear()
        held.set()
        _released.wait(HOLD_SECONDS)


class HeldDecoder(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.decoder = PlainDecoder(hid_dim=8)

    def forward(self, x_t, hidden):
        wait_if_held()
        return self.decoder(x_t, hidden)


class HeldLM(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(len(LETTERS), 5)
        self.gru = nn.GRU(5, 7, batch_first=True)
        self.head = nn.Linear(7, len(LETTERS))

    def forward(self, x_t, hidden):
        wait_if_held()
        out, hidden = self.gru(self.embed(x_t), hidden)
        return self.head(out), hidden


def build_held_lm():
    torch.manual_seed(42)
    return HeldLM().eval()


def build_held_pair():
    torch.manual_seed(41)
    return EncoderRNN(hidden_size=8).eval(), HeldDecoder().eval()
