"""Synthetic teachers: label -> feature math on hand-made label images, and simulated datasets end to end."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from dff_grasp_ros.synthetic.labels import TABLE_LABEL, LabelName, encode_labels
from dff_grasp_ros.synthetic.teachers import add_seeded_noise, pooled_label_features
from dff_grasp_ros.teachers import TeacherError, make_teacher


def label(object_index: int, part_index: int) -> int:
    return int(encode_labels(np.array(object_index), np.array(part_index)))


TABLE = TABLE_LABEL
RED_MUG_BODY, RED_MUG_HANDLE = label(0, 0), label(0, 1)
BLUE_PAN_HANDLE = label(1, 1)
OTHER_RED_MUG_BODY = label(2, 0)
NAMES = {TABLE: LabelName(None, None, None), RED_MUG_BODY: LabelName("mug", "red", "body"),
         RED_MUG_HANDLE: LabelName("mug", "red", "handle"), label(1, 0): LabelName("pan", "blue", "body"),
         BLUE_PAN_HANDLE: LabelName("pan", "blue", "handle"), OTHER_RED_MUG_BODY: LabelName("mug", "red", "body"),
         label(2, 1): LabelName("mug", "red", "handle")}


def hand_made_scene() -> np.ndarray:
    """64 x 96 px, 4 x 6 cells of 16 px: each region covers whole cells so pooled cells are pure."""
    labels = np.full((64, 96), TABLE, dtype=np.uint16)
    labels[0:32, 0:32] = RED_MUG_BODY
    labels[0:16, 32:48] = RED_MUG_HANDLE
    labels[32:64, 48:80] = BLUE_PAN_HANDLE
    labels[0:32, 64:96] = OTHER_RED_MUG_BODY
    return labels


def cells_of(labels: np.ndarray, value: int, patch: int) -> np.ndarray:
    """Boolean (h, w) mask of the cells fully covered by label ``value``."""
    match = labels == value
    h, w = labels.shape[0] // patch, labels.shape[1] // patch
    return match.reshape(h, patch, w, patch).all(axis=(1, 3))


def lerf_relevancy(features: torch.Tensor, query: torch.Tensor, negatives: torch.Tensor) -> torch.Tensor:
    """LERF: min over canonical negatives of the pairwise softmax (temperature 0.1) in favour of the query."""
    positive = features @ query / 0.1
    negative = features @ negatives.T / 0.1
    pairs = torch.stack([positive[..., None].expand_as(negative), negative], dim=-1)
    return torch.softmax(pairs, dim=-1)[..., 0].min(dim=-1).values


def test_mug_handle_query_peaks_on_mug_handle_cells_and_banana_matches_nothing():
    teacher = make_teacher("synthetic", noise_std=0.02)
    labels = hand_made_scene()
    features = teacher.label_features(labels, NAMES)[0]
    assert features.shape == (4, 6, 64)
    torch.testing.assert_close(features.norm(dim=-1), torch.ones(4, 6))

    handle, banana = teacher.encode_text(["mug handle", "banana"])
    negatives = teacher.encode_text(["object", "things", "stuff", "texture"])
    relevancy = lerf_relevancy(features, handle, negatives)
    handle_cells = torch.from_numpy(cells_of(labels, RED_MUG_HANDLE, 16))
    assert handle_cells.sum() == 1
    assert relevancy[handle_cells].min() > relevancy[~handle_cells].max()
    # the pan handle is a handle but not a mug's: less relevant than the mug's handle, more than the table
    pan_cells = torch.from_numpy(cells_of(labels, BLUE_PAN_HANDLE, 16))
    table_cells = torch.from_numpy(cells_of(labels, TABLE, 16))
    assert relevancy[handle_cells].min() > relevancy[pan_cells].max() > relevancy[table_cells].max()
    assert (features @ banana).abs().max() < 0.25  # orthogonal up to the noise


def test_pooling_blurs_labels_over_a_patch():
    labels = np.full((16, 16), TABLE, dtype=np.uint16)
    labels[:, :4] = RED_MUG_HANDLE  # a quarter of the only cell
    teacher = make_teacher("synthetic", noise_std=0.0)
    feature = teacher.label_features(labels, NAMES)[0, 0, 0]
    pure_handle = teacher.label_features(np.full((16, 16), RED_MUG_HANDLE, np.uint16), NAMES)[0, 0, 0]
    pure_table = teacher.label_features(labels[:, 4:8].repeat(4, axis=1), NAMES)[0, 0, 0]
    mixed = 0.25 * pure_handle + 0.75 * pure_table
    torch.testing.assert_close(feature, mixed / mixed.norm())


def test_noise_is_reproducible_per_label_image_and_differs_between_images():
    teacher = make_teacher("synthetic", noise_std=0.1, seed=3)
    labels = hand_made_scene()
    first, again = teacher.label_features(labels, NAMES), teacher.label_features(labels.copy(), NAMES)
    torch.testing.assert_close(first, again)
    changed = labels.copy()
    changed[48:64, 0:16] = RED_MUG_HANDLE  # one cell differs; the noise elsewhere must differ too
    untouched = torch.ones(4, 6, dtype=torch.bool)
    untouched[3, 0] = False
    assert not torch.allclose(teacher.label_features(changed, NAMES)[0][untouched], first[0][untouched])
    other_seed = make_teacher("synthetic", noise_std=0.1, seed=4).label_features(labels, NAMES)
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
    labels = hand_made_scene()
    features = teacher.label_features(labels, NAMES)[0]
    assert teacher.stride_px == 8 and features.shape == (8, 12, 64)

    def mean_feature(label):
        return features[torch.from_numpy(cells_of(labels, label, 8))].mean(0)

    body, handle, other_body = (mean_feature(x) for x in (RED_MUG_BODY, RED_MUG_HANDLE, OTHER_RED_MUG_BODY))
    assert torch.dot(body, other_body) < 0.5  # same type and colour, different instance
    assert torch.dot(body, handle) > torch.dot(body, other_body) + 0.2
    with pytest.raises(TeacherError, match="no text encoder"):
        teacher.encode_text(["mug"])


def test_bad_input_gives_clear_errors():
    teacher = make_teacher("synthetic")
    with pytest.raises(TeacherError, match="ground-truth labels"):
        teacher.image_features(np.zeros((1, 16, 16, 3), np.uint8))
    with pytest.raises(TeacherError, match="label images must be"):
        teacher.label_features(np.zeros((2, 16, 16, 3), np.uint16), NAMES)
    with pytest.raises(TeacherError, match="does not define"):
        teacher.label_features(np.full((16, 16), 999, np.uint16), NAMES)
    with pytest.raises(TeacherError, match="bind_dataset"):
        teacher.input_features(np.zeros((1, 16, 16), np.uint16))
    with pytest.raises(TeacherError, match="list of strings"):
        teacher.encode_text("mug")
    with pytest.raises(TeacherError, match="no words"):
        teacher.encode_text(["the"])


def test_pooled_features_match_per_pixel_average():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 6, (1, 12, 20))
    vectors = {value: rng.standard_normal(5) for value in range(6)}
    pooled = pooled_label_features(labels, (3, 5), vectors)[0].numpy()
    per_pixel = np.stack([[vectors[labels[0, r, c]] for c in range(20)] for r in range(12)])
    expected = per_pixel.reshape(3, 4, 5, 4, 5).mean(axis=(1, 3))
    np.testing.assert_allclose(pooled, expected, rtol=1e-5, atol=1e-6)


def test_pooled_features_of_a_grid_that_does_not_divide_the_image_follow_adaptive_pooling():
    """The block path serves grids that divide the image; any other grid pools over adaptive pooling's windows."""
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 6, (2, 13, 21))
    vectors = {value: rng.standard_normal(5) for value in range(6)}
    pooled = pooled_label_features(labels, (3, 5), vectors).numpy()
    per_pixel = torch.from_numpy(np.stack([[[vectors[v] for v in row] for row in image] for image in labels]))
    expected = torch.nn.functional.adaptive_avg_pool2d(per_pixel.permute(0, 3, 1, 2), (3, 5)).permute(0, 2, 3, 1)
    np.testing.assert_allclose(pooled, expected.numpy(), rtol=1e-5, atol=1e-6)


def test_checking_a_teacher_name_does_not_load_torch():
    """bringup and the demo check --teacher before any node starts: loading the synthetic teachers' code for it
    imported torch (~3.4 s of CPU before the demo's nodes could start, issue 15). Their configs are registered
    apart from their implementation."""
    import subprocess
    import sys

    probe = ("import sys; from dff_grasp_ros.teachers.base import teacher_pair; "
             "print(teacher_pair('synthetic'), 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.split() == ["('synthetic',", "'synthetic_dino')", "False"], out.stdout + out.stderr


def test_the_query_nodes_preload_imports_the_plugin_teachers_code():
    """The query node preloads the teachers' code at start so a field it loads later answers sooner; with the
    configs registered apart, loading the registry alone no longer imported torch or the implementation."""
    import subprocess
    import sys

    probe = ("import sys; from dff_grasp_ros.teachers.base import preload_teacher_code; preload_teacher_code(); "
             "print('torch' in sys.modules, 'dff_grasp_ros.synthetic.teachers' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.split() == ["True", "True"], out.stdout + out.stderr
