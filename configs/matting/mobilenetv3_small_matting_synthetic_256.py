# The mobile matting recipe: RVM's architecture on MobileNetV3-Small, built to run at most 0.67x the step time of
# the RVM-equivalent recipe (rvm_mobilenetv3_large_matting_synthetic_256.py), on the same data and schedule.
# - Encoder: MobileNetV3-Small at output stride 16, cut after its block 8 (48 channels at stride 16): its last
#   four blocks (96 channels, dilated) and the 576-channel conv would take it from 16 to 28 ms at 512 x 288 and
#   from 0.19M to 0.93M parameters. Features at strides 2, 4, 8, 16: 16, 16, 24, 48 channels.
# - A context of 64 channels and decoder blocks of 40, 24, 16, 8 (RVM: 128; 80, 40, 32, 16): the output block
#   runs at the full frame, where width costs most.
# - No refiner, as the large recipe (see there).
# Measured by benchmarks/matting.py (docs/benchmarks.md), both models side by side: its 512 x 288 step (ratio 1)
# takes 0.43x (1 thread) and 0.40x (2 threads) the large recipe's in ONNX Runtime, at the same MAD and dtSSD on
# held-out composites; 0.34M parameters against 3.75M.
_base_ = [
    "../_base_/models/rvm_mobilenetv3_large.py",
    "../_base_/datasets/synthetic_matting.py",
    "../_base_/datasets/davis_people_test.py",
    "../_base_/schedules/iter_300_adamw.py",
    "../_base_/default_runtime.py",
]
model = dict(
    backbone=dict(arch="small", out_indices=(0, 1, 3, 8)),
    context=dict(channels=64),
    decoder=dict(block_channels=(40, 24, 16, 8)),
    refiner=None,
)
model_wrapper_cfg = dict(find_unused_parameters=True)
