# MediaPipe's landscape selfie segmenter (144x256 TFLite): the 256x256 baseline with the other model file.
_base_ = "./mediapipe_selfie_256.py"
model = dict(
    model_path="{{$STEADYSEG_SHARED_DATA:../shared/data}}/mediapipe_selfie/selfie_segmentation_landscape.tflite"
)
