# MediaPipe's selfie segmenter (256x256 TFLite, fixed weights) as the per-frame baseline to beat, evaluated like
# our models on the synthetic test clips and the real DAVIS people clips. Test only, without a checkpoint:
#   python tools/test.py configs/baselines/mediapipe_selfie_256.py
# model_path points at the copy in ../shared/data (or $STEADYSEG_SHARED_DATA); override it for your own.
_base_ = [
    "../_base_/datasets/synthetic_people.py",
    "../_base_/datasets/davis_people_test.py",
    "../_base_/default_runtime.py",
]
model = dict(
    type="TFLitePersonSegmentor",
    # Frames reach the interpreter's own resize at short side 256, as the trained models see them.
    input_short_side=256,
    model_path="{{$STEADYSEG_SHARED_DATA:../shared/data}}/mediapipe_selfie/selfie_segmentation.tflite",
    num_threads=1,
    # The TFLite model takes RGB in [0, 1].
    data_preprocessor=dict(type="VideoDataPreprocessor", mean=(0.0, 0.0, 0.0), std=(255.0, 255.0, 255.0)),
)
# Nothing to train or validate; the Runner wants each of these groups all set or all None.
train_dataloader = None
val_dataloader = None
val_evaluator = None
test_cfg = dict(type="VideoTestLoop")
