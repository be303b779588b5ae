"""Synthetic teachers: label -> feature math on hand-made label images, and simulated datasets end to end."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from dff_grasp_ros.teachers import TeacherError, make_teacher
from dff_grasp_ros.teachers.synthetic import (add_seeded_noise, check_semantic, pack_labels,
                                              pooled_label_features, semantic_pixel, unpack_labels)

TABLE = semantic_pixel(None)
RED_MUG_BODY = semantic_pixel("mug", "red", "body", instance=0)
RED_MUG_HANDLE = semantic_pixel("mug", "red", "handle", instance=0)
OTHER_RED_MUG_BODY = semantic_pixel("mug", "red", "body", instance=2)
BLUE_PAN_HANDLE = semantic_pixel("pan", "blue", "handle", instance=1)


def hand_made_scene() -> np.ndarray:
    """64 x 96 px, 4 x 6 cells of 16 px: each region covers whole cells so pooled cells are pure."""
    semantic = np.tile(np.array(TABLE, dtype=np.int16), (64, 96, 1))
    semantic[0:32, 0:32] = RED_MUG_BODY
    semantic[0:16, 32:48] = RED_MUG_HANDLE
    semantic[32:64, 48:80] = BLUE_PAN_HANDLE
    semantic[0:32, 64:96] = OTHER_RED_MUG_BODY
    return semantic


def cells_of(semantic: np.ndarray, label: tuple, patch: int) -> np.ndarray:
    """Boolean (h, w) mask of the cells fully covered by ``label``."""
    match = np.all(semantic == np.array(label), axis=-1)
    h, w = semantic.shape[0] // patch, semantic.shape[1] // patch
    return match.reshape(h, patch, w, patch).all(axis=(1, 3))


def lerf_relevancy(features: torch.Tensor, query: torch.Tensor, negatives: torch.Tensor) -> torch.Tensor:
    """LERF: min over canonical negatives of the pairwise softmax (temperature 0.1) in favour of the query."""
    positive = features @ query / 0.1
    negative = features @ negatives.T / 0.1
    pairs = torch.stack([positive[..., None].expand_as(negative), negative], dim=-1)
    return torch.softmax(pairs, dim=-1)[..., 0].min(dim=-1).values


def test_mug_handle_query_peaks_on_mug_handle_cells_and_banana_matches_nothing():
    teacher = make_teacher("synthetic", noise_std=0.02)
    semantic = hand_made_scene()
    features = teacher.label_features(semantic)[0]
    assert features.shape == (4, 6, 64)
    torch.testing.assert_close(features.norm(dim=-1), torch.ones(4, 6))

    handle, banana = teacher.encode_text(["mug handle", "banana"])
    negatives = teacher.encode_text(["object", "things", "stuff", "texture"])
    relevancy = lerf_relevancy(features, handle, negatives)
    handle_cells = torch.from_numpy(cells_of(semantic, RED_MUG_HANDLE, 16))
    assert handle_cells.sum() == 1
    assert relevancy[handle_cells].min() > relevancy[~handle_cells].max()
    # the pan handle is a handle but not a mug's: less relevant than the mug's handle, more than the table
    pan_cells = torch.from_numpy(cells_of(semantic, BLUE_PAN_HANDLE, 16))
    table_cells = torch.from_numpy(cells_of(semantic, TABLE, 16))
    assert relevancy[handle_cells].min() > relevancy[pan_cells].max() > relevancy[table_cells].max()
    assert (features @ banana).abs().max() < 0.25  # orthogonal up to the noise


def test_pooling_blurs_labels_over_a_patch():
    semantic = np.tile(np.array(TABLE, dtype=np.int16), (16, 16, 1))
    semantic[:, :4] = RED_MUG_HANDLE  # a quarter of the only cell
    teacher = make_teacher("synthetic", noise_std=0.0)
    feature = teacher.label_features(semantic)[0, 0, 0]
    pure_handle = teacher.label_features(np.tile(np.array(RED_MUG_HANDLE, np.int16), (16, 16, 1)))[0, 0, 0]
    pure_table = teacher.label_features(semantic[:, 4:8].repeat(4, axis=1))[0, 0, 0]
    mixed = 0.25 * pure_handle + 0.75 * pure_table
    torch.testing.assert_close(feature, mixed / mixed.norm())


def test_noise_is_reproducible_per_label_image_and_differs_between_images():
    teacher = make_teacher("synthetic", noise_std=0.1, seed=3)
    semantic = hand_made_scene()
    first, again = teacher.label_features(semantic), teacher.label_features(semantic.copy())
    torch.testing.assert_close(first, again)
    changed = semantic.copy()
    changed[48:64, 0:16] = RED_MUG_HANDLE  # one cell differs; the noise elsewhere must differ too
    untouched = torch.ones(4, 6, dtype=torch.bool)
    untouched[3, 0] = False
    assert not torch.allclose(teacher.label_features(changed)[0][untouched], first[0][untouched])
    other_seed = make_teacher("synthetic", noise_std=0.1, seed=4).label_features(semantic)
    assert not torch.allclose(first, other_seed)


def test_add_seeded_noise_changes_direction_by_the_configured_amount():
    clean = torch.nn.functional.normalize(torch.randn(1, 8, 8, 64), dim=-1)
    noisy = add_seeded_noise(clean, 0.05, [7])
    cosine = (noisy * clean).sum(-1)
    # |noise| ~ 0.05 * sqrt(64) = 0.4 -> cos ~ 1 / sqrt(1 + 0.16) ~ 0.93
    assert 0.85 < cosine.mean() < 0.97
    torch.testing.assert_close(add_seeded_noise(clean, 0.0, [7]), clean)


def test_synthetic_dino_separates_two_mugs_and_keeps_parts_of_one_object_close():
    teacher = make_teacher("synthetic_dino", noise_std=0.0)
    semantic = hand_made_scene()
    features = teacher.label_features(semantic)[0]
    assert teacher.stride_px == 8 and features.shape == (8, 12, 64)

    def mean_feature(label):
        return features[torch.from_numpy(cells_of(semantic, label, 8))].mean(0)

    body, handle, other_body = (mean_feature(x) for x in (RED_MUG_BODY, RED_MUG_HANDLE, OTHER_RED_MUG_BODY))
    assert torch.dot(body, other_body) < 0.5  # same type and colour, different instance
    assert torch.dot(body, handle) > torch.dot(body, other_body) + 0.2
    with pytest.raises(TeacherError, match="no text encoder"):
        teacher.encode_text(["mug"])


def test_bad_input_gives_clear_errors():
    teacher = make_teacher("synthetic")
    with pytest.raises(TeacherError, match="ground-truth labels"):
        teacher.image_features(np.zeros((1, 16, 16, 3), np.uint8))
    with pytest.raises(TeacherError, match="semantic labels must be"):
        check_semantic(np.zeros((16, 16, 3), np.int16))
    with pytest.raises(TeacherError, match="out of range"):
        check_semantic(np.full((4, 4, 4), 99, np.int16))
    with pytest.raises(TeacherError, match="unknown object type"):
        semantic_pixel("banana")
    with pytest.raises(TeacherError, match="list of strings"):
        teacher.encode_text("mug")
    with pytest.raises(TeacherError, match="no words"):
        teacher.encode_text(["the"])


def test_pooled_features_match_per_pixel_average():
    rng = np.random.default_rng(0)
    semantic = np.stack(np.broadcast_arrays(rng.integers(-1, 3, (12, 20)), -1, rng.integers(-1, 2, (12, 20)),
                                            rng.integers(0, 2, (12, 20))), axis=-1).astype(np.int16)
    table = {}

    def vector(label):
        return table.setdefault(tuple(int(v) for v in label), rng.standard_normal(5))

    pooled = pooled_label_features(semantic, (3, 5), vector)[0].numpy()
    per_pixel = np.stack([[vector(semantic[r, c]) for c in range(20)] for r in range(12)])
    expected = per_pixel.reshape(3, 4, 5, 4, 5).mean(axis=(1, 3))
    np.testing.assert_allclose(pooled, expected, rtol=1e-5, atol=1e-6)


def test_label_packing_roundtrips_every_channel():
    labels = np.array([TABLE, RED_MUG_BODY, RED_MUG_HANDLE, BLUE_PAN_HANDLE, OTHER_RED_MUG_BODY,
                       semantic_pixel("box", "brown", "body", instance=4000)])
    keys = pack_labels(labels)
    assert len(set(keys.tolist())) == len(labels)
    np.testing.assert_array_equal(unpack_labels(keys), labels)
