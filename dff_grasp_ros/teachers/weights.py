"""Where teacher weights come from: a configured checkpoint file, else the local Hugging Face cache. Never the network.

open_clip and timm would download missing weights from the hub (and retry for minutes without a network), so the
teachers resolve the file themselves, offline, and build their models with ``pretrained`` switched off.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from dff_grasp_ros.errors import InputError, expand_home
from dff_grasp_ros.teachers.base import TeacherError, WeightsNotFoundError

if TYPE_CHECKING:
    import torch


def hub_cache_dir() -> str:
    from huggingface_hub import constants

    return str(constants.HF_HUB_CACHE)


def find_weights(teacher: str, checkpoint_path: str | None, hub_repo: str, hub_filenames: Sequence[str]) -> Path:
    """The weights file to load: ``checkpoint_path`` if configured, else the first cached hub file.

    Raises :class:`WeightsNotFoundError` naming both places when neither has the weights.
    """
    if checkpoint_path:
        try:
            path = expand_home(checkpoint_path)
        except InputError as err:  # a teacher error, as every other fault of the weights is
            raise WeightsNotFoundError(f"{teacher}: checkpoint_path {err}") from None
        if not path.is_file():
            raise WeightsNotFoundError(f"{teacher}: checkpoint_path {str(path)!r} is not a file")
        return path
    from huggingface_hub import try_to_load_from_cache

    for filename in hub_filenames:
        cached = try_to_load_from_cache(repo_id=hub_repo, filename=filename)
        if isinstance(cached, str) and os.path.isfile(cached):
            return Path(cached)
    raise WeightsNotFoundError(
        f"{teacher}: pretrained weights not found. Looked in (1) the Hugging Face cache {hub_cache_dir()} for "
        f"{hub_repo} (files {', '.join(hub_filenames)}) and (2) the teacher's checkpoint_path setting, which is "
        f"unset. Copy a Hugging Face cache that holds them (e.g. `huggingface-cli download {hub_repo} "
        f"{hub_filenames[0]}` on a machine with network; HF_HOME selects the cache) or set checkpoint_path to a "
        f"state-dict file (.pt/.bin/.safetensors).")


def weights_identity(path: Path) -> str:
    """Identifies a weights file cheaply (no hashing of hundreds of MB): resolved path, size, mtime."""
    stat = Path(path).stat()
    return f"file:{Path(path).resolve()}:{stat.st_size}:{stat.st_mtime_ns}"


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """A plain state dict from .safetensors or a torch file (tensors only: ``weights_only=True``)."""
    import torch

    path = Path(path)
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path), device="cpu")
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # a truncated or foreign file: say which file, keep the cause
        raise TeacherError(f"cannot read weights file {path}: {err}") from err
    for wrapper in ("state_dict", "model"):  # training checkpoints nest the weights
        if isinstance(state, dict) and isinstance(state.get(wrapper), dict):
            state = state[wrapper]
    if not isinstance(state, dict) or not state:
        raise TeacherError(f"weights file {path} holds no state dict")
    return {key.removeprefix("module."): value for key, value in state.items()}
