"""Factories whose forward misbehaves on its fifth call, as user code may: it raises, hangs, or
returns a hidden or an output of the wrong shape or dtype, or no tensor at all. Every other call
is an ordinary step of a small GRU language model over LETTERS.

Loading calls the forward three times (the first call finds the input form, two more check the
protocol), so in a session the fifth call is the second step, t=1."""

import threading

import torch
from torch import nn

LETTERS = "abcdefgh"
FAULTY_CALL = 5
HANG_SECONDS = 120.0
release = threading.Event()  # set by a test to let a hanging forward return


class Faulty(nn.Module):
    def __init__(self, fault: str) -> None:
        super().__init__()
        self.fault = fault
        self.calls = 0
        self.embed = nn.Embedding(len(LETTERS), 5)
        self.gru = nn.GRU(5, 7, batch_first=True)
        self.head = nn.Linear(7, len(LETTERS))

    def forward(self, x_t, hidden):
        self.calls += 1
        out, hidden = self.gru(self.embed(x_t), hidden)
        out = self.head(out)
        if self.calls != FAULTY_CALL:
            return out, hidden
        if self.fault == "raise":
            raise RuntimeError("the fifth call fails")
        if self.fault == "hang":
            release.wait(HANG_SECONDS)
            return out, hidden
        if self.fault == "hidden-shape":
            return out, hidden[..., :3]
        if self.fault == "hidden-dtype":
            return out, hidden.double()
        if self.fault == "output-shape":
            return out[..., :3], hidden
        if self.fault == "output-dtype":
            return out.argmax(-1), hidden
        if self.fault == "not-a-tensor":
            return out.tolist(), hidden
        raise AssertionError(self.fault)


def build(fault: str) -> Faulty:
    torch.manual_seed(5)
    return Faulty(fault).eval()


def build_clean() -> Faulty:
    return build("none")


def build_raising() -> Faulty:
    return build("raise")


def build_hanging() -> Faulty:
    return build("hang")


def build_wrong_hidden_shape() -> Faulty:
    return build("hidden-shape")


def build_wrong_hidden_dtype() -> Faulty:
    return build("hidden-dtype")


def build_wrong_output_shape() -> Faulty:
    return build("output-shape")


def build_wrong_output_dtype() -> Faulty:
    return build("output-dtype")


def build_not_a_tensor() -> Faulty:
    return build("not-a-tensor")


class Exclusive(nn.Module):
    """A forward that notices when it is entered while another call is still inside (the
    user's code is not written for two threads: here it keeps the step's input on `self`)."""

    def __init__(self) -> None:
        super().__init__()
        self.inside = 0
        self.overlaps = 0
        self.embed = nn.Embedding(len(LETTERS), 5)
        self.lstm = nn.LSTM(5, 6, batch_first=True)
        self.head = nn.Linear(6, len(LETTERS))

    def forward(self, x_t, hidden):
        self.inside += 1
        if self.inside > 1:
            self.overlaps += 1
        try:
            self.x_t = x_t
            out, hidden = self.lstm(self.embed(x_t), hidden)
            threading.Event().wait(0.0005)  # a step that takes a moment, as real ones do
            return self.head(out) + 0 * self.x_t, hidden
        finally:
            self.inside -= 1


def build_exclusive() -> Exclusive:
    torch.manual_seed(6)
    return Exclusive().eval()
