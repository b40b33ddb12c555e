"""Where a file's numbers came from: tool version, torch version and a hash of the model's weights.

Traces and session files carry `source_block(checkpoint)`, so a finding sent to a colleague says
which model produced it, and a session opened against other weights can be refused.
"""

from __future__ import annotations

import hashlib
from importlib import metadata
from typing import Any

__all__ = ["model_sha256", "source_block", "tool_version"]


def tool_version() -> str:
    try:
        return metadata.version("rnn-inspect")
    except metadata.PackageNotFoundError:  # running from a source tree that was never installed
        return "unknown"


def model_sha256(checkpoint: Any) -> str:
    """SHA-256 over the model's weights: every tensor's name, dtype, shape and bytes, by name.

    Independent of the file format the weights came in, so the same weights re-saved elsewhere
    give the same hash, and any changed number gives another. Cached on the checkpoint.
    """
    cached = getattr(checkpoint, "_sha256", None)
    if cached is not None:
        return cached
    digest = hashlib.sha256()
    state = checkpoint.module.state_dict()
    for name in sorted(state):
        tensor = state[name].detach().cpu().contiguous()
        digest.update(f"{name}\0{tensor.dtype}\0{tuple(tensor.shape)}\0".encode())
        digest.update(tensor.view(-1).view(dtype=_byte_dtype()).numpy().tobytes()
                      if tensor.numel() else b"")
    value = digest.hexdigest()
    try:
        object.__setattr__(checkpoint, "_sha256", value)
    except (AttributeError, TypeError):
        pass
    return value


def _byte_dtype():
    import torch

    return torch.uint8


def source_block(checkpoint: Any) -> dict[str, str]:
    """`{"tool", "torch", "model_sha256"}` as trace format /2 and session files record it."""
    import torch

    return {"tool": f"rnn-inspect {tool_version()}", "torch": torch.__version__,
            "model_sha256": model_sha256(checkpoint)}
