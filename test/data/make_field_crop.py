"""Cut a test fixture out of a trained field's scene cloud: the points near some objects, thinned to 4 mm.

    python test/data/make_field_crop.py FIELD_DIR SCENE OUT.npz OBJECT_TYPE [OBJECT_TYPE ...]

``tabletop_knife_cpu_field.npz`` is the knife of a `tabletop` field trained on this 2-core CPU with
``bench/bench_field_query.py --scene tabletop --method dff-tiny --steps 300 --device cpu`` (session of
2026-11-23): the field whose blurred features made "knife blade" grasp the knife's handle.
``tabletop_knife_screwdriver_demo_field.npz`` is the knife and the screwdriver of the field a ``make demo`` run
trained the same day, which does not tell the knife's blade from its handle; ``tabletop_screwdriver_demo_field_2.npz``
the screwdriver of a later demo run's field, which scores its handle as "handle" only on top.
``tabletop_pan_demo_field_3.npz`` is the pan of a ``make demo`` field of 2026-12-02 whose "pan handle" relevancy
peaks at the handle's end. ``bin_clutter_knife_screwdriver_demo_field.npz`` is the touching knife and screwdriver
of a ``dff-grasp demo --scene bin_clutter --clear`` field of 2026-12-02, on which the screwdriver's DINO features
grow over the knife. ``random_11_1_two_screwdrivers_field.npz`` is the green and the yellow screwdriver of scene
``random_11_1.yaml`` (``bench/bench_random_scenes.py --seed 11 --scenes 6 --touch-share 0.9 --fields DIR``),
which its CPU field grows into one instance; ``random_11_3_three_knives_field.npz`` the three knives of scene 3 of
that draw (``random_11_3.yaml``), whose field gives the orange knife's handle the blue knife's colour.
``bin_bottle_demo_field.npz`` is the green bottle of a ``dff-grasp demo --scene bin --clear`` field of 2026-12-03
16:36, on which "bottle handle" and "bottle head" stood out on the bottle's body (tops 0.83-0.86 and 0.52).
``random_23_2_two_knives_field.npz`` is the blue and the yellow knife of scene ``random_23_2.yaml``
(``bench/bench_random_scenes.py --seed 23 --scenes 5 --touch-share 0.9 --tote-share 0.8 --fields DIR``), on whose
field "blue yellow knife" won the yellow knife's grey blade.
"""
import sys

import numpy as np
from scipy.spatial import cKDTree

from dff_grasp_ros.query.downsample import voxel_representatives
from dff_grasp_ros.scene_cloud import SCENE_CLOUD, SceneCloud
from dff_grasp_ros.synthetic import ground_truth

NEAR_M, VOXEL_M = 0.04, 0.004


def main(field_dir: str, scene: str, out: str, *object_types: str) -> None:
    cloud = SceneCloud.load(f"{field_dir}/{SCENE_CLOUD}")
    objects = [o for o in ground_truth(scene)["objects"] if o["type"] in object_types]
    surface = np.vstack([np.asarray(p["points"]) for o in objects for p in o["parts"].values()])
    near = np.flatnonzero(cKDTree(surface).query(cloud.points_m)[0] <= NEAR_M)
    keep = near[voxel_representatives(cloud.points_m[near], VOXEL_M)[0]]
    np.savez_compressed(out, points_m=cloud.points_m[keep].astype(np.float32),
                        normals=cloud.normals[keep].astype(np.float32), rgb=cloud.rgb[keep],
                        language=cloud.language[keep].astype(np.float16), dino=cloud.dino[keep].astype(np.float16))
    print(f"{len(keep)} points -> {out}")


if __name__ == "__main__":
    main(*sys.argv[1:])
