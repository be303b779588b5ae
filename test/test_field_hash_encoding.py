"""The faster hash-grid encoding gives nerfstudio's values, bit for bit, and its gradients; models use it."""
from __future__ import annotations

import pytest
import torch
from nerfstudio.field_components.encodings import HashEncoding

from dff_grasp_ros.field.feature_field import FeatureField, FeatureGridSettings
from dff_grasp_ros.field.hash_encoding import FastHashEncoding, hash_grid_encode, use_fast_hash_encoding


def _grid_pair(**settings) -> tuple[HashEncoding, FastHashEncoding]:
    torch.manual_seed(3)
    reference = HashEncoding(implementation="torch", **settings)
    fast = FastHashEncoding(implementation="torch", **settings)
    fast.load_state_dict(reference.state_dict())
    return reference, fast


def _positions() -> torch.Tensor:
    """Random points plus the cases where ceil and floor agree: lattice points, the box's faces and corners."""
    torch.manual_seed(4)
    lattice = torch.tensor([[0.0, 0.0, 0.0], [1.0, 1.0, 1.0], [0.5, 0.25, 0.125], [1.0, 0.0, 0.5],
                            [1 / 16, 2 / 16, 3 / 16]])
    return torch.cat([torch.rand(300, 3), lattice]).reshape(5, 61, 3)  # a batch shape, as rays x samples


@pytest.mark.parametrize("settings", [
    dict(num_levels=8, max_res=256, log2_hashmap_size=14),  # dff-tiny's density and feature grids
    dict(num_levels=5, max_res=64, log2_hashmap_size=14, features_per_level=2),  # a proposal grid
    dict(num_levels=16, max_res=2048, log2_hashmap_size=12, features_per_level=4),  # fine levels all collide
])
def test_values_equal_nerfstudios_and_gradients_match(settings):
    reference, fast = _grid_pair(**settings)
    positions = _positions()
    expected, got = reference(positions), fast(positions)
    assert got.shape == expected.shape
    assert torch.equal(got, expected)  # the same arithmetic, term for term
    weights = torch.rand(expected.shape)
    (expected * weights).sum().backward()
    (got * weights).sum().backward()
    # index_add_ adds a table row's contributions in another order than index_put_: float rounding only
    torch.testing.assert_close(fast.hash_table.grad, reference.hash_table.grad, rtol=1e-5, atol=1e-9)
    assert fast.hash_table.grad.abs().sum() > 0


def test_the_table_size_must_be_a_power_of_two():
    table = torch.zeros(2 * 1000, 2)
    with pytest.raises(ValueError, match="power of two, got 1000"):
        hash_grid_encode(torch.rand(4, 3), table, torch.tensor([16.0, 32.0]), torch.tensor([0, 1000]), 1000)


def test_models_switch_their_torch_grids_and_keep_their_state_dict():
    torch.manual_seed(5)
    plain = torch.nn.Sequential(HashEncoding(implementation="torch"), HashEncoding(implementation="torch"))
    keys = list(plain.state_dict())
    assert use_fast_hash_encoding(plain) == 2
    assert all(type(module) is FastHashEncoding for module in plain)
    assert list(plain.state_dict()) == keys  # fields trained before still load
    assert use_fast_hash_encoding(plain) == 0  # already switched
    features = FeatureField({"language": 4}, FeatureGridSettings(num_levels=2, max_res=32, log2_hashmap_size=8))
    assert type(features.encoding) is FastHashEncoding


def test_a_dff_models_grids_are_all_fast(tmp_path):
    """Every hash grid of a built dff-tiny model (density, both proposal grids, features) is the fast one."""
    from nerfstudio.data.scene_box import SceneBox

    from dff_grasp_ros.field.method import TINY, make_trainer_config
    from dff_grasp_ros.field.model import FEATURE_DIMS_KEY

    config = make_trainer_config(TINY, steps=1).pipeline.model
    model = config.setup(scene_box=SceneBox(aabb=torch.tensor([[-1.0] * 3, [1.0] * 3])), num_train_data=2,
                         metadata={FEATURE_DIMS_KEY: {"language": 4, "dino": 4}})
    grids = [module for module in model.modules() if isinstance(module, HashEncoding)]
    assert len(grids) == 4
    assert all(type(grid) is FastHashEncoding for grid in grids)
