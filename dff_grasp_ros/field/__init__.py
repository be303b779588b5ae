"""The distilled feature field: the nerfstudio method ``dff`` and training/export without ROS.

Public API (each module has one job)::

    fit(dataset_dir, out_root, *, steps=None, teacher="clip"|"synthetic", device="auto",
        method="dff"|"dff-tiny", progress=None, should_stop=None) -> published field dir   (fit.py)
    TrainingError, TrainingCancelled                                                       (fit.py)
    load_field(field_dir, device="auto") -> TrainedField                                   (store.py)
    render_view(field, intrinsics, camera_to_base) -> {rgb, depth_m, accumulation, language, dino}
                                                                                           (rendering.py)
    dff_method, dff_tiny_method: nerfstudio MethodSpecifications (method.py, setup.cfg entry points)

Rooms: model.py (DffModel: nerfacto + feature field + depth loss), feature_field.py, datamanager.py (teacher
features per ray), method.py (presets), features.py (patch-grid lookup), normalisation.py (box <-> base_link),
fusion.py (back-projection, voxel fusion), export.py (SceneCloud), evaluation.py (held-out scoring).
Nothing here imports nerfstudio until a submodule is imported.
"""
import warnings

# nerfstudio 1.1.5 calls torch.jit.script (cameras/camera_utils.py) and torch.cuda.amp.custom_fwd/custom_bwd
# (field_components/activations.py) at import, which torch 2.4+ deprecates with FutureWarnings: 2-6 lines on
# stderr before every fit refusal or result, about nerfstudio's code, that the user can do nothing about. Only
# those two messages are silenced; every submodule here is imported after this package, so before nerfstudio.
warnings.filterwarnings("ignore", message=r"`torch\.jit\.script` is deprecated", category=FutureWarning)
warnings.filterwarnings("ignore", message=r"`torch\.cuda\.amp\.custom_(fwd|bwd)\(args\.\.\.\)` is deprecated",
                        category=FutureWarning)
