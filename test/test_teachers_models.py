"""CLIP and DINO teachers: the real architectures with seeded random weights (no downloads), on small images."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from dff_grasp_ros.teachers import TeacherError, WeightsNotFoundError, make_teacher
from dff_grasp_ros.teachers.clip import crop_boxes, crop_coverage, value_path_block
from dff_grasp_ros.teachers.imaging import prepare_images


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="module")
def clip_teacher():
    return make_teacher("clip", weights="random", device="cpu")


@pytest.fixture(scope="module")
def dino_teacher():
    return make_teacher("dino", weights="random", device="cpu")


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(0).integers(0, 256, (2, 48, 80, 3), dtype=np.uint8)


def test_clip_maskclip_maps_have_documented_shape_stride_and_norm(clip_teacher, images):
    assert (clip_teacher.name, clip_teacher.feature_dim, clip_teacher.stride_px) == ("clip", 512, 16)
    features = clip_teacher.image_features(images)
    assert features.shape == (2, 3, 5, 512) and features.dtype == torch.float32
    torch.testing.assert_close(features.norm(dim=-1), torch.ones(2, 3, 5))
    assert not torch.allclose(features[0], features[1])  # different images, different maps
    single = clip_teacher.image_features(torch.from_numpy(images[1]))
    torch.testing.assert_close(single[0], features[1], atol=1e-4, rtol=1e-4)


def test_image_scale_changes_the_grid():
    teacher = make_teacher("dino", weights="random", device="cpu", image_scale=0.5)
    assert teacher.stride_px == 16
    assert teacher.image_features(np.zeros((1, 64, 96, 3), np.uint8)).shape == (1, 4, 6, 384)


def test_value_path_equals_the_block_when_every_token_attends_only_to_itself(clip_teacher):
    block = clip_teacher.model.visual.transformer.resblocks[-1]
    tokens = torch.randn(2, 7, block.ln_1.normalized_shape[0])
    self_only = torch.full((7, 7), float("-inf"))
    self_only.fill_diagonal_(0.0)
    with torch.no_grad():
        torch.testing.assert_close(value_path_block(block, tokens), block(tokens, attn_mask=self_only),
                                   atol=1e-5, rtol=1e-5)


def test_clip_text_encoding_is_unit_norm_and_phrase_specific(clip_teacher):
    text = clip_teacher.encode_text(["mug handle", "banana", "mug handle"])
    assert text.shape == (3, 512)
    torch.testing.assert_close(text.norm(dim=-1), torch.ones(3))
    torch.testing.assert_close(text[0], text[2])
    assert torch.dot(text[0], text[1]) < 0.999
    assert clip_teacher.encode_text([]).shape == (0, 512)
    with pytest.raises(TeacherError, match="list of strings"):
        clip_teacher.encode_text("mug handle")


def test_clip_loads_a_checkpoint_file_and_reproduces_the_outputs(clip_teacher, images, tmp_path):
    path = tmp_path / "clip_weights.pt"
    torch.save(clip_teacher.model.state_dict(), path)
    loaded = make_teacher("clip", checkpoint_path=str(path), device="cpu")
    torch.testing.assert_close(loaded.image_features(images), clip_teacher.image_features(images))
    torch.testing.assert_close(loaded.encode_text(["mug"]), clip_teacher.encode_text(["mug"]))
    assert loaded.weights_id.startswith("file:") and str(path) in loaded.weights_id


def test_missing_weights_error_names_the_cache_and_the_checkpoint_setting(monkeypatch, tmp_path):
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "empty_hub"))
    for name, repo in (("clip", "laion/CLIP-ViT-B-16-laion2B-s34B-b88K"), ("dino", "timm/vit_small_patch8_224.dino")):
        with pytest.raises(WeightsNotFoundError) as caught:
            make_teacher(name, device="cpu")
        message = str(caught.value)
        assert str(tmp_path / "empty_hub") in message and repo in message and "checkpoint_path" in message
    with pytest.raises(WeightsNotFoundError, match="no_such_file.pt"):
        make_teacher("dino", checkpoint_path=str(tmp_path / "no_such_file.pt"), device="cpu")


def test_dino_maps_have_documented_shape_stride_and_norm(dino_teacher, images):
    assert (dino_teacher.name, dino_teacher.feature_dim, dino_teacher.stride_px) == ("dino", 384, 8)
    features = dino_teacher.image_features(images)
    assert features.shape == (2, 6, 10, 384)
    torch.testing.assert_close(features.norm(dim=-1), torch.ones(2, 6, 10))
    with pytest.raises(TeacherError, match="no text encoder"):
        dino_teacher.encode_text(["mug"])


def test_dino_weights_come_from_the_hugging_face_cache(dino_teacher, images, monkeypatch, tmp_path):
    """A hub-cache layout written by hand: refs/main -> snapshots/<rev>/model.safetensors."""
    import huggingface_hub.constants
    from safetensors.torch import save_file

    repo_dir = tmp_path / "hub" / "models--timm--vit_small_patch8_224.dino"
    snapshot = repo_dir / "snapshots" / "0123abc"
    snapshot.mkdir(parents=True)
    (repo_dir / "refs").mkdir()
    (repo_dir / "refs" / "main").write_text("0123abc")
    save_file({k: v.contiguous() for k, v in dino_teacher.model.state_dict().items()},
              str(snapshot / "model.safetensors"))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub"))

    cached = make_teacher("dino", device="cpu")
    torch.testing.assert_close(cached.image_features(images), dino_teacher.image_features(images))
    other_weights = make_teacher("dino", weights="random", random_seed=1, device="cpu")
    assert not torch.allclose(other_weights.image_features(images), dino_teacher.image_features(images))


def test_weights_that_do_not_fit_the_architecture_are_a_clear_error(tmp_path):
    path = tmp_path / "wrong.pt"
    torch.save({"blocks.0.attn.qkv.weight": torch.zeros(3, 3)}, path)
    with pytest.raises(TeacherError, match="do not fit"):
        make_teacher("dino", checkpoint_path=str(path), device="cpu")
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(TeacherError, match="cannot read weights file"):
        make_teacher("dino", checkpoint_path=str(path), device="cpu")


def test_settings_roundtrip_through_json_rebuilds_the_same_teacher(dino_teacher, images):
    settings = json.loads(json.dumps(dino_teacher.settings_dict()))
    assert settings["name"] == "dino" and "device" not in settings
    rebuilt = make_teacher(**settings, device="cpu")
    torch.testing.assert_close(rebuilt.image_features(images), dino_teacher.image_features(images))


def test_make_teacher_rejects_unknown_names_and_settings():
    with pytest.raises(TeacherError, match="unknown teacher"):
        make_teacher("sam")
    with pytest.raises(TeacherError, match="no setting"):
        make_teacher("dino", patch_size=8)
    with pytest.raises(TeacherError, match="image_scale"):
        make_teacher("synthetic", image_scale=0)
    with pytest.raises(TeacherError, match="dense_mode"):
        make_teacher("clip", dense_mode="pyramid")


def test_bad_images_are_rejected(dino_teacher):
    with pytest.raises(TeacherError, match="uint8"):
        dino_teacher.image_features(np.zeros((1, 16, 16, 3), np.float32))
    with pytest.raises(TeacherError, match="uint8"):
        dino_teacher.image_features(np.zeros((1, 16, 16), np.uint8))


def test_crop_pyramid_tiles_the_whole_image():
    boxes = crop_boxes((48, 80), 0.25, 0.5, 2, 0.5)
    # 12 px crops every 6 px (x: 0..66 and the edge-reaching 68; y: 0..36), 24 px crops every 12 px
    assert [len(b) for b in boxes] == [13 * 7, 6 * 3]
    for level in boxes:
        assert level[:, 0].min() == 0 and level[:, 2].max() == 80 and level[:, 3].max() == 48
        coverage = crop_coverage(level, (3, 5), (48, 80))
        torch.testing.assert_close(coverage.sum(1), torch.ones(15))  # every cell is covered, weights sum to 1


def test_clip_crops_mode_with_one_whole_image_crop_equals_the_global_embedding(clip_teacher):
    teacher = make_teacher("clip", weights="random", device="cpu", dense_mode="crops", crop_min_frac=1.0,
                           crop_max_frac=1.0, crop_levels=1)
    image = np.random.default_rng(1).integers(0, 256, (1, 64, 64, 3), dtype=np.uint8)
    features = teacher.image_features(image)
    assert features.shape == (1, 4, 4, 512)
    pixels = prepare_images(torch.from_numpy(image), (224, 224), teacher.mean, teacher.std, teacher.device,
                            torch.float32)
    with torch.no_grad():
        expected = torch.nn.functional.normalize(clip_teacher.model.encode_image(pixels), dim=-1)[0]
    torch.testing.assert_close(features[0], expected.expand(4, 4, -1), atol=2e-3, rtol=2e-3)
