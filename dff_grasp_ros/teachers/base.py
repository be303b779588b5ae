"""One interface for the 2D teachers whose features the field distils.

What callers use (the whole public surface)::

    from dff_grasp_ros.teachers import make_teacher, dataset_features

    # field side: supervise training
    teacher = make_teacher("clip", device="cuda")            # or "dino", "synthetic", "synthetic_dino"
    maps = dataset_features(dataset, teacher, batch_size=8)   # (N, h, w, D) float16 on CPU, cached on disk
    checkpoint_meta["language_teacher"] = teacher.settings_dict()        # JSON-safe, no device

    # query side: rebuild the text encoder from what the checkpoint recorded
    text = make_teacher(**checkpoint_meta["language_teacher"], device="cpu").encode_text(["mug handle"])

A :class:`Teacher` has a ``name``, a ``feature_dim`` D and a nominal ``stride_px`` (image pixels per feature
cell). ``image_features`` turns uint8 RGB images (B, H, W, 3) into unit-norm maps (B, h, w, D) whose cells tile
the whole image uniformly: cell (r, c) covers rows [r*H/h, (r+1)*H/h) and columns [c*W/w, (c+1)*W/w).
Language teachers (``clip``; the test bed's ``synthetic``) also ``encode_text`` phrases into the same space.

Other packages add teachers through the ``dff_grasp.teachers`` entry-point group (:func:`teacher_configs`);
the test bed registers its synthetic teachers that way (simulated scenes only, chosen by name, never a
fallback). They compute from ground-truth labels instead of RGB; every teacher therefore says which array it
reads from a dataset frame (:meth:`Teacher.frame_input`), what else on the dataset its features depend on
(:meth:`Teacher.bind_dataset`), and computes from a batch of those arrays (:meth:`Teacher.input_features`).
The cache (:mod:`dff_grasp_ros.teachers.cache`) keys on exactly these and :meth:`Teacher.cache_identity`.
"""
from __future__ import annotations

import contextlib
import dataclasses
import importlib
import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Sequence

import numpy as np

if TYPE_CHECKING:
    import torch

    from dff_grasp_ros.dataset import Dataset, Frame

# Settings that change where/how fast features are computed, not what they are: never recorded or hashed.
RUNTIME_FIELDS = frozenset({"device", "fp16", "batch_size"})


class TeacherError(RuntimeError):
    """A teacher cannot be built or cannot handle the given input; the message says why and what to do."""


class WeightsNotFoundError(TeacherError, FileNotFoundError):
    """Pretrained weights are neither in the local cache nor at the configured checkpoint path."""


@dataclass
class TeacherConfig:
    """Settings shared by all teachers (nerfstudio style: a dataclass whose ``setup()`` builds the object)."""

    name: ClassVar[str] = ""
    _implementation: ClassVar[str] = ""  # "module:Class", imported lazily so configs stay cheap to import
    dino_partner: ClassVar[str] = ""
    """For a language teacher: the DINO-like teacher trained beside it for object grouping ('' otherwise)."""

    device: str = "auto"
    """'auto' (cuda when available), 'cpu', 'cuda', 'cuda:1'... Runtime only: not part of settings_dict()."""
    fp16: bool = True
    """Half precision on CUDA devices (ignored on CPU). Runtime only."""
    image_scale: float = 1.0
    """Images are resized by this factor before the teacher sees them (rounded to whole patches)."""

    def setup(self) -> Teacher:
        module_name, class_name = self._implementation.split(":")
        cls = getattr(importlib.import_module(module_name), class_name)
        return cls(self)

    def weights_file(self) -> Path | None:
        """The pretrained weights file :meth:`setup` will load (None: it loads none); WeightsNotFoundError
        naming where it looked when the file is not here. A file lookup: no model is built."""
        return None

    def dataset_problem(self, dataset: Dataset) -> str | None:
        """Why this teacher cannot compute features of ``dataset`` (None: it can), known without building it:
        training asks before its setup. Teachers that see only pixels take any dataset the pre-flight passed."""
        return None

    def settings_dict(self) -> dict[str, Any]:
        """What defines the features, JSON-safe; ``make_teacher(**settings_dict())`` rebuilds the teacher."""
        out: dict[str, Any] = {"name": self.name}
        for item in dataclasses.fields(self):
            if item.name in RUNTIME_FIELDS:
                continue
            value = getattr(self, item.name)
            out[item.name] = list(value) if isinstance(value, tuple) else value
        return out

    def __post_init__(self) -> None:
        if not (0.05 <= float(self.image_scale) <= 4.0):
            raise TeacherError(f"{self.name}: image_scale must be within [0.05, 4], got {self.image_scale}")


@dataclass
class ClipTeacherConfig(TeacherConfig):
    """open_clip CLIP: dense MaskCLIP patch features (default) or LERF-style multi-scale crops."""

    name: ClassVar[str] = "clip"
    _implementation: ClassVar[str] = "dff_grasp_ros.teachers.clip:ClipTeacher"
    dino_partner: ClassVar[str] = "dino"

    model_name: str = "ViT-B-16"
    pretrained: str = "laion2b_s34b_b88k"
    checkpoint_path: str | None = None
    """A state-dict file (.pt/.bin/.safetensors) used instead of the open_clip/Hugging Face cache."""
    weights: Literal["pretrained", "random"] = "pretrained"
    """'random' builds the real architecture with seeded random weights: for tests and benchmarks only."""
    random_seed: int = 0
    dense_mode: Literal["maskclip", "crops"] = "maskclip"
    crop_min_frac: float = 0.05
    """crops mode: smallest crop side as a fraction of the image height (LERF's pyramid)."""
    crop_max_frac: float = 0.5
    crop_levels: int = 7
    crop_stride_frac: float = 0.5
    """crops mode: step between crops as a fraction of the crop side."""
    batch_size: int = 256
    """crops mode: crops per forward pass. Runtime only."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.dense_mode not in ("maskclip", "crops"):
            raise TeacherError(f"clip: dense_mode must be 'maskclip' or 'crops', got {self.dense_mode!r}")
        _check_weights_choice("clip", self.weights)
        if not (0 < self.crop_min_frac <= self.crop_max_frac <= 1) or self.crop_levels < 1:
            raise TeacherError("clip: need 0 < crop_min_frac <= crop_max_frac <= 1 and crop_levels >= 1")
        if not (0 < self.crop_stride_frac <= 1):
            raise TeacherError(f"clip: crop_stride_frac must be within (0, 1], got {self.crop_stride_frac}")

    def weights_file(self) -> Path | None:
        from dff_grasp_ros.teachers.clip import clip_weights_file

        return None if self.weights == "random" else clip_weights_file(self)


@dataclass
class DinoTeacherConfig(TeacherConfig):
    """timm DINO ViT-S/8 last-layer patch tokens (or any timm ViT, e.g. DINOv2 ``vit_small_patch14_dinov2``)."""

    name: ClassVar[str] = "dino"
    _implementation: ClassVar[str] = "dff_grasp_ros.teachers.dino:DinoTeacher"

    model_name: str = "vit_small_patch8_224.dino"
    checkpoint_path: str | None = None
    weights: Literal["pretrained", "random"] = "pretrained"
    random_seed: int = 0

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_weights_choice("dino", self.weights)

    def weights_file(self) -> Path | None:
        from dff_grasp_ros.teachers.dino import dino_weights_file

        return None if self.weights == "random" else dino_weights_file(self)


TEACHER_ENTRY_POINTS = "dff_grasp.teachers"
"""Entry-point group through which other packages add teachers (the test bed registers its synthetic ones)."""

_BUILT_IN: dict[str, type[TeacherConfig]] = {cfg.name: cfg for cfg in (ClipTeacherConfig, DinoTeacherConfig)}
_PLUGINS: dict[str, type[TeacherConfig]] | None = None


def _plugins() -> dict[str, type[TeacherConfig]]:
    """Teachers registered under :data:`TEACHER_ENTRY_POINTS`, loaded once.

    A plugin that fails to load is skipped with a warning: one broken package must not take every teacher
    down with it (nerfstudio's method discovery has that flaw).
    """
    global _PLUGINS
    if _PLUGINS is None:
        import warnings
        from importlib.metadata import entry_points

        found: dict[str, type[TeacherConfig]] = {}
        for entry in entry_points(group=TEACHER_ENTRY_POINTS):
            try:
                config = entry.load()
            except Exception as err:
                warnings.warn(f"teacher plugin {entry.name!r} ({entry.value}) failed to load: {err}", stacklevel=2)
                continue
            if not (isinstance(config, type) and issubclass(config, TeacherConfig)) or config.name != entry.name:
                warnings.warn(f"teacher plugin {entry.name!r} ({entry.value}) is not a TeacherConfig named "
                              f"{entry.name!r}; ignored", stacklevel=2)
                continue
            found[entry.name] = config
        _PLUGINS = found
    return _PLUGINS


def teacher_configs() -> dict[str, type[TeacherConfig]]:
    """Every known teacher config by name: the built-in ``clip`` and ``dino`` plus registered plugins."""
    return {**_plugins(), **_BUILT_IN}


def preload_teacher_code() -> None:
    """Import now what building a registered plugin teacher imports (torch, its implementation): the query node
    calls it at start in the background, so that the field it loads later builds its text encoder without waiting
    ~3 s for imports. A module that fails to import is left to fail, in one line, where it is used."""
    for config in _plugins().values():
        with contextlib.suppress(Exception):  # said where the teacher is built, not in a background thread
            importlib.import_module(config._implementation.split(":")[0])


def teacher_config(name: str) -> type[TeacherConfig]:
    """The config class of teacher ``name`` (plugins are only loaded for names that are not built in)."""
    config = _BUILT_IN.get(name) or _plugins().get(name)
    if config is None:
        raise TeacherError(f"unknown teacher {name!r}; choose one of {sorted(teacher_configs())}")
    return config


def teacher_pair(language_teacher: str) -> tuple[str, str]:
    """``(language, dino)`` teacher names for a language-teacher choice such as ``clip``."""
    config = teacher_config(language_teacher)
    if not config.dino_partner:
        language = sorted(name for name, cfg in teacher_configs().items() if cfg.dino_partner)
        raise TeacherError(f"{language_teacher!r} is not a language teacher; choose one of {', '.join(language)}")
    return language_teacher, config.dino_partner


def make_teacher(name: str, **settings: Any) -> Teacher:
    """Build a teacher by name; accepts exactly what ``settings_dict()`` returned, plus runtime settings."""
    return _configured(name, settings).setup()


def check_weights(name: str, **settings: Any) -> None:
    """Refuse (TeacherError, WeightsNotFoundError) the teacher :func:`make_teacher` would fail to build for want
    of its weights, by a file lookup: training checks before its setup, which otherwise logs and starts data
    loader workers first."""
    _configured(name, settings).weights_file()


def check_teacher_dataset(name: str, dataset: Dataset, **settings: Any) -> None:
    """Refuse (TeacherError) a dataset teacher ``name`` cannot compute features of, before training sets up (the
    synthetic teachers refused a dataset without a usable recorded scene after nerfstudio's setup had printed)."""
    problem = _configured(name, settings).dataset_problem(dataset)
    if problem:
        raise TeacherError(problem)


def _configured(name: str, settings: dict[str, Any]) -> TeacherConfig:
    """The checked config of teacher ``name`` with ``settings`` (see :func:`make_teacher`)."""
    cls = teacher_config(name)
    known = {item.name for item in dataclasses.fields(cls)}
    unknown = sorted(set(settings) - known)
    if unknown:
        raise TeacherError(f"teacher {name!r} has no setting(s) {unknown}; known: {sorted(known)}")
    defaults = {item.name: item.default for item in dataclasses.fields(cls)}
    for key, value in settings.items():
        problem = _setting_type_problem(defaults[key], value)
        if problem:
            raise TeacherError(f"teacher {name!r}: setting {key} must be {problem}, got {value!r:.60}")
    settings = {k: tuple(v) if isinstance(v, list) else v for k, v in settings.items()}
    return cls(**settings)


def _setting_type_problem(default: Any, value: Any) -> str | None:
    """What a setting must be, judged by its default's type (settings come from JSON: field.json, caches), or
    None when ``value`` fits; a wrong type otherwise fails deep inside a teacher with a message naming nothing."""
    if isinstance(default, bool):
        return None if isinstance(value, bool) else "true or false"
    if isinstance(default, int):
        return None if isinstance(value, int) and not isinstance(value, bool) else "an integer"
    if isinstance(default, float):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        return None if ok else "a finite number"
    if isinstance(default, str):
        return None if isinstance(value, str) else "a string"
    if isinstance(default, tuple):
        return None if isinstance(value, (list, tuple)) else "a list"
    return None  # no default of a simple type (an optional path...): the teacher checks it


def _check_weights_choice(name: str, weights: str) -> None:
    if weights not in ("pretrained", "random"):
        raise TeacherError(f"{name}: weights must be 'pretrained' or 'random', got {weights!r}")


def resolve_device(device: str) -> torch.device:
    import torch

    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    resolved = torch.device(device)
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise TeacherError(f"device {device!r} requested but CUDA is not available here")
    return resolved


class Teacher(ABC):
    """A frozen 2D feature extractor (see the module docstring for the contract)."""

    config: TeacherConfig
    feature_dim: int
    patch_px: int  # feature cell size at the teacher's input resolution
    weights_id: str = ""  # which weights produced the features (part of the cache identity)

    def __init__(self, config: TeacherConfig) -> None:
        self.config = config

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def stride_px(self) -> float:
        """Nominal image pixels per feature cell (exact when the image divides into whole patches)."""
        return self.patch_px / float(self.config.image_scale)

    @property
    def is_language(self) -> bool:
        return False

    def grid_shape(self, image_hw: tuple[int, int]) -> tuple[int, int]:
        return grid_shape(image_hw, self.patch_px, self.config.image_scale)

    def settings_dict(self) -> dict[str, Any]:
        return self.config.settings_dict()

    def cache_identity(self) -> dict[str, Any]:
        """Everything besides the input array that determines the features."""
        return {**self.settings_dict(), "weights_id": self.weights_id}

    @abstractmethod
    def image_features(self, images: np.ndarray | torch.Tensor) -> torch.Tensor:
        """uint8 RGB (B, H, W, 3) -> float (B, h, w, D), unit norm along D, on the teacher's device."""

    def encode_text(self, phrases: Sequence[str]) -> torch.Tensor:
        """Phrases -> (P, D) unit vectors in the image feature space (language teachers only)."""
        raise TeacherError(f"teacher {self.name!r} has no text encoder; use a language teacher (clip, synthetic)")

    def bind_dataset(self, dataset: Dataset) -> dict[str, Any]:
        """Prepare for the frames of ``dataset``: returns what, besides each frame's input array, its features
        depend on (part of the cache key). Teachers that see only pixels need nothing: ``{}``."""
        return {}

    def frame_input(self, dataset: Dataset, frame: Frame) -> np.ndarray:
        """The array this teacher computes from for one dataset frame (RGB unless overridden)."""
        return dataset.load_rgb(frame)

    def input_features(self, inputs: np.ndarray) -> torch.Tensor:
        """Features of a stacked batch of :meth:`frame_input` arrays."""
        return self.image_features(inputs)


def grid_shape(image_hw: tuple[int, int], patch_px: int, image_scale: float = 1.0) -> tuple[int, int]:
    """Feature grid (h, w) for an image: the scaled image rounded to whole patches, at least one each way."""
    height, width = int(image_hw[0]), int(image_hw[1])
    if height < 1 or width < 1:
        raise TeacherError(f"image size must be positive, got {image_hw}")
    return (max(1, round(height * image_scale / patch_px)), max(1, round(width * image_scale / patch_px)))


def l2_normalise(features: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Unit length along the last axis; computed in float32 so fp16 features do not under/overflow."""
    import torch

    as_float = features.float()
    return (as_float / torch.clamp(as_float.norm(dim=-1, keepdim=True), min=eps)).to(features.dtype)


def check_phrases(phrases: Sequence[str]) -> list[str]:
    """A list of strings, or a clear error (a bare string would silently become a list of characters)."""
    if isinstance(phrases, str) or not all(isinstance(p, str) for p in phrases):
        raise TeacherError(f"encode_text takes a list of strings, got {phrases!r:.80}")
    return list(phrases)
