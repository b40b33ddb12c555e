"""A seq2seq pair whose decoder can be held mid-call, as a slow forward would be: once `hold()`
is called, the decoder's next call waits until `release()` (or HOLD_SECONDS). The encoder is the
tutorial's GRU (stepped one token per call), the decoder a plain GRU decoder."""

import threading

import torch
from torch import nn

from userland.any_models import EncoderRNN, PlainDecoder

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


class HeldDecoder(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.decoder = PlainDecoder(hid_dim=8)

    def forward(self, x_t, hidden):
        if _armed.is_set():
            _armed.clear()
            held.set()
            _released.wait(HOLD_SECONDS)
        return self.decoder(x_t, hidden)


def build_held_pair():
    torch.manual_seed(41)
    return EncoderRNN(hidden_size=8).eval(), HeldDecoder().eval()
