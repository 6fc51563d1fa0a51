# Robust Video Matting's MobileNetV3-Large model (configs/_base_/models/rvm_mobilenetv3_large.py) trained the RVM
# way at CPU scale: synthetic people composited over real backgrounds, segmentation batches in between, 256 px
# clips of 4 frames, 300 iterations (configs/_base_/datasets/synthetic_matting.py). The reference of the matting
# benchmark (benchmarks/matting.py) for the mobile recipe mobilenetv3_small_matting_synthetic_256.py.
# No refiner: at 256 px training and at 512 x 288 the model computes at the frame's own size (downsample ratio 1),
# where RVM runs no guided filter either; this model would run one anyway (box filters over the full frame: 328
# against 249 ms for a 512 x 288 step, one thread) and it would never learn to upsample. To time the
# high-resolution path with it, set cfg.model.refiner = dict(type="DeepGuidedFilter", channels=16) on the loaded
# config before building the model (--cfg-options cannot turn None into a dict).
_base_ = [
    "../_base_/models/rvm_mobilenetv3_large.py",
    "../_base_/datasets/synthetic_matting.py",
    "../_base_/datasets/davis_people_test.py",
    "../_base_/schedules/iter_300_adamw.py",
    "../_base_/default_runtime.py",
]
model = dict(refiner=None)
model_wrapper_cfg = dict(find_unused_parameters=True)
