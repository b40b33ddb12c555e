"""The bundled zoo: small checkpoints trained by `rnn-inspect train` (commands in manifest.json)."""

from __future__ import annotations

import json
from pathlib import Path

from safetensors import safe_open

ZOO_DIR = Path(__file__).parent
MANIFEST = ZOO_DIR / "manifest.json"


def zoo_names() -> list[str]:
    """The bundled models' names (their files' stems), sorted: the one listing of the zoo."""
    return sorted(path.stem for path in ZOO_DIR.glob("*.safetensors"))


def manifest() -> dict[str, dict]:
    return json.loads(MANIFEST.read_text(encoding="utf-8")) if MANIFEST.exists() else {}


def measured(path: Path) -> dict:
    """The training facts stored in a checkpoint's header (reads no tensors)."""
    with safe_open(str(path), framework="pt") as f:
        meta = json.loads((f.metadata() or {}).get("rnn_inspect", "{}"))
    return meta


def figures(meta: dict) -> str:
    train = meta.get("train", {})
    if "bits_per_char" in train:
        return f"{train['bits_per_char']:.3f} bits/char held out"
    if meta.get("task") == "reverse":
        return f"{train.get('accuracy', 0):.1%} exact match held out"
    if "accuracy" in train:
        return f"{train['accuracy']:.1%} per char held out"
    return ""


def manifest_rows() -> list[dict]:
    """One row per bundled checkpoint: name, architecture, task and measured figures."""
    info = manifest()
    rows = []
    for name in zoo_names():
        path = ZOO_DIR / f"{name}.safetensors"
        meta = measured(path)
        arch = meta.get("arch", {})
        shape = (f"{arch.get('cell')} {arch.get('layers', 1)}x{arch.get('hidden')}"
                 if arch.get("cell") != "mlp" else f"mlp {arch.get('hidden')}")
        described = info.get(path.stem, {}).get("description", "")
        rows.append({"name": path.stem, "task": meta.get("task", "?"), "arch": shape,
                     "figures": figures(meta), "description": described,
                     "summary": f"{meta.get('task', '?'):<8} {shape:<12} {figures(meta):<28} "
                                f"{described}"})
    return rows
