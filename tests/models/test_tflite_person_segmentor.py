"""TFLitePersonSegmentor: MediaPipe's selfie models on real DAVIS frames, and a hand-built TFLite model whose
output is known exactly (the mean of the three input channels)."""

import copy
import json
import os
import pickle
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import flatbuffers
import numpy as np
import pytest
import torch
from ai_edge_litert import schema_py_generated as tfl
from ai_edge_litert.interpreter import Interpreter
from mmengine.registry import init_default_scope

from steadyseg.apis.training import evaluate_checkpoint, prepare_config
from steadyseg.config import load_config
from steadyseg.datasets.video_io import read_image_rgb, read_single_channel_png
from steadyseg.registry import MODELS
from tests.tools.helpers import run_tool

REPO_ROOT = Path(__file__).resolve().parents[2]
UNIT_RANGE = dict(type="VideoDataPreprocessor", mean=(0.0, 0.0, 0.0), std=(255.0, 255.0, 255.0))
MAX_LOGIT = float(np.log((1 - 1e-6) / 1e-6))  # logit at the clamp; float32 rounding moves it by ~0.013


@pytest.fixture(autouse=True)
def scope():
    init_default_scope("steadyseg")


def build(model_path, **kwargs):
    return MODELS.build(
        dict(type="TFLitePersonSegmentor", model_path=str(model_path), data_preprocessor=UNIT_RANGE, **kwargs)
    )


def write_tflite(path, input_shape, output_shape, reduce_channels=True):
    """A one-op TFLite model: MEAN over channels (person probability = mean of R, G, B) or RELU."""
    model = tfl.ModelT()
    model.version = 3
    code = tfl.OperatorCodeT()
    code.builtinCode = code.deprecatedBuiltinCode = (
        tfl.BuiltinOperator.MEAN if reduce_channels else tfl.BuiltinOperator.RELU
    )
    code.version = 1
    model.operatorCodes = [code]
    tensors = []
    for buffer, (name, shape, dtype) in enumerate(
        [
            ("image", input_shape, tfl.TensorType.FLOAT32),
            ("probability", output_shape, tfl.TensorType.FLOAT32),
            ("axis", [1], tfl.TensorType.INT32),
        ],
        start=1,
    ):
        tensor = tfl.TensorT()
        tensor.name, tensor.shape, tensor.type, tensor.buffer = name, list(shape), dtype, buffer
        tensors.append(tensor)
    operator = tfl.OperatorT()
    operator.opcodeIndex = 0
    operator.outputs = [1]
    buffers = [tfl.BufferT() for _ in range(4)]
    if reduce_channels:
        operator.inputs = [0, 2]
        operator.builtinOptionsType = tfl.BuiltinOptions.ReducerOptions
        operator.builtinOptions = tfl.ReducerOptionsT()
        operator.builtinOptions.keepDims = True
        buffers[3].data = list(np.array([3], np.int32).tobytes())
    else:
        operator.inputs = [0]
        tensors = tensors[:2]
        buffers = buffers[:3]
    graph = tfl.SubGraphT()
    graph.tensors, graph.inputs, graph.outputs, graph.operators = tensors, [0], [1], [operator]
    model.subgraphs, model.buffers = [graph], buffers
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    path.write_bytes(bytes(builder.Output()))
    return path


@pytest.fixture
def mean_model(tmp_path):
    return write_tflite(tmp_path / "mean.tflite", (1, 4, 6, 3), (1, 4, 6, 1))


def unit_clip(model, frames_uint8):
    """``[T, H, W, 3]`` uint8 frames -> the model's ``[1, T, 3, H, W]`` input (RGB in [0, 1])."""
    clip = torch.from_numpy(np.ascontiguousarray(frames_uint8)).permute(0, 3, 1, 2)
    return model.data_preprocessor({"inputs": [clip]})["inputs"]


def test_logits_are_zero_and_logit_of_the_probability(mean_model):
    model = build(mean_model)
    assert model.interpreter_size == (4, 6)
    colours = np.array([[255, 0, 0], [255, 255, 0]], np.uint8)  # mean 1/3 (background), 2/3 (person)
    frames = np.broadcast_to(colours[:, None, None], (2, 10, 14, 3))
    logits = model(unit_clip(model, frames))["logits"]
    assert logits.shape == (1, 2, 2, 10, 14)
    assert torch.all(logits[:, :, 0] == 0)
    torch.testing.assert_close(logits[0, 0, 1], torch.full((10, 14), -np.log(2.0)), atol=1e-5, rtol=0)
    torch.testing.assert_close(logits[0, 1, 1], torch.full((10, 14), np.log(2.0)), atol=1e-5, rtol=0)
    assert torch.all(logits.argmax(dim=2)[0, 0] == 0) and torch.all(logits.argmax(dim=2)[0, 1] == 1)


def test_probability_is_resized_to_the_model_and_back_bilinearly(mean_model):
    model = build(mean_model)
    frame = np.zeros((1, 8, 12, 3), np.uint8)
    frame[:, :, :6] = 255
    logits = model(unit_clip(model, frame))["logits"][0, 0]
    # Halved to 4x6, columns 0-2 are white and 3-5 black; doubled back, columns 5 and 6 blend them 3:1 and 1:3.
    expected = torch.tensor([1, 1, 1, 1, 1, 0.75, 0.25, 0, 0, 0, 0, 0]).expand(8, 12)
    torch.testing.assert_close(logits.softmax(dim=0)[1], expected, atol=2e-6, rtol=0)
    assert logits[1].max() == pytest.approx(MAX_LOGIT, abs=0.02), "saturated probabilities stay finite"
    assert logits[1].min() == pytest.approx(-MAX_LOGIT, abs=0.02)
    assert torch.equal(logits.argmax(dim=0), (expected > 0.5).long())


def test_step_and_predict_are_stateless(mean_model):
    model = build(mean_model)
    clip = torch.rand(1, 3, 3, 8, 12)
    outputs, state = model.step(clip[:, 1], ())
    assert state == ()
    torch.testing.assert_close(outputs["logits"], model(clip)["logits"][:, 1])
    assert model.step(clip[:, 0])[1] == (), "no state given: starts from the empty initial state"
    assert not model.is_recurrent and list(model.parameters()) == []


def test_loss_is_a_clear_error(mean_model):
    model = build(mean_model)
    with pytest.raises(
        RuntimeError, match="TFLitePersonSegmentor .*mean.tflite.* is an inference-only baseline"
    ):
        model(torch.rand(1, 1, 3, 8, 12), [], mode="loss")


def test_missing_model_file_names_it(tmp_path):
    missing = tmp_path / "nowhere" / "selfie.tflite"
    with pytest.raises(FileNotFoundError, match=f"{missing}: TFLite model file not found"):
        build(missing)


def test_unexpected_shapes_are_one_error_naming_the_file(tmp_path):
    three_channel_output = write_tflite(
        tmp_path / "relu.tflite", (1, 4, 6, 3), (1, 4, 6, 3), reduce_channels=False
    )
    with pytest.raises(
        ValueError,
        match=r"relu.tflite: expected one float32 input \[1, H, W, 3\].* outputs probability \[1, 4, 6, 3\] float32",
    ):
        build(three_channel_output)


def test_a_file_that_is_not_tflite_is_one_error_naming_it(tmp_path):
    path = tmp_path / "weights.tflite"
    path.write_bytes(b"not a flatbuffer" * 8)
    with pytest.raises(ValueError, match="weights.tflite: not a loadable TFLite model"):
        build(path)


def test_each_thread_and_each_copy_opens_its_own_interpreter(mean_model):
    model = build(mean_model, num_threads=2)
    clip = torch.rand(1, 2, 3, 8, 12)
    expected = model(clip)["logits"]
    with ThreadPoolExecutor(1) as pool:
        other_thread = pool.submit(lambda: (model(clip)["logits"], model._interpreter())).result()
    torch.testing.assert_close(other_thread[0], expected)
    assert other_thread[1] is not model._interpreter()
    for clone in (copy.deepcopy(model), pickle.loads(pickle.dumps(model))):
        torch.testing.assert_close(clone(clip)["logits"], expected)
        assert clone._interpreter() is not model._interpreter()
    with pytest.raises(ValueError, match="num_threads must be >= 1"):
        build(mean_model, num_threads=0)


def davis_frames(root, sequence, count):
    frames = np.stack(
        [read_image_rgb(root / f"JPEGImages/480p/{sequence}/{i:05d}.jpg") for i in range(count)]
    )
    masks = np.stack(
        [
            read_single_channel_png(root / f"Annotations/480p/{sequence}/{i:05d}.png") > 127
            for i in range(count)
        ]
    )
    return frames, masks


def direct_probability(model_path, frame):
    """MediaPipe's model run by hand: resize (OpenCV bilinear), invoke, resize the probability back."""
    interpreter = Interpreter(model_path=str(model_path))
    interpreter.allocate_tensors()
    (details,), (output,) = interpreter.get_input_details(), interpreter.get_output_details()
    height, width = details["shape"][1:3]
    image = cv2.resize(frame.astype(np.float32) / 255.0, (width, height), interpolation=cv2.INTER_LINEAR)
    interpreter.set_tensor(details["index"], image[None])
    interpreter.invoke()
    probability = interpreter.get_tensor(output["index"])[0, :, :, 0]
    return cv2.resize(probability, frame.shape[1::-1], interpolation=cv2.INTER_LINEAR)


def test_selfie_256_on_real_hike_frames_matches_readme_and_direct_run(shared_data):
    model_path = shared_data / "mediapipe_selfie/selfie_segmentation.tflite"
    model = build(model_path)
    assert model.interpreter_size == (256, 256)
    frames, masks = davis_frames(shared_data / "davis_people", "hike", 5)
    with torch.no_grad():
        logits = model(unit_clip(model, frames))["logits"][0]
    assert logits.shape == (5, 2, 480, 854)
    pred = logits.argmax(dim=1).numpy().astype(bool)
    iou = [(p & m).sum() / (p | m).sum() for p, m in zip(pred, masks)]
    assert 0.75 < np.mean(iou) < 0.92, iou  # the data README measures J 0.845 over all 80 frames
    direct = np.stack([direct_probability(model_path, frame) for frame in frames])
    np.testing.assert_allclose(logits.softmax(dim=1)[:, 1].numpy(), direct, atol=1e-4)
    # OpenCV's and torch's bilinear resizes agree up to float rounding: only pixels at p ~ 0.5 may differ.
    assert (pred != (direct > 0.5)).mean() < 1e-5


def test_landscape_model_reads_its_input_size(shared_data):
    model = build(shared_data / "mediapipe_selfie/selfie_segmentation_landscape.tflite")
    assert model.interpreter_size == (144, 256)
    frames, masks = davis_frames(shared_data / "davis_people", "hike", 2)
    with torch.no_grad():
        pred = model(unit_clip(model, frames))["logits"][0].argmax(dim=1).numpy().astype(bool)
    assert pred.shape == (2, 480, 854)
    assert np.mean([(p & m).sum() / (p | m).sum() for p, m in zip(pred, masks)]) > 0.7


def test_testing_without_checkpoint_needs_a_model_without_parameters(tmp_path):
    smoke = REPO_ROOT / "configs/smoke/per_frame_tiny.py"
    cfg = prepare_config(load_config(smoke), str(smoke), str(tmp_path))
    with pytest.raises(ValueError, match="per_frame_tiny.py: the model has learned parameters"):
        evaluate_checkpoint(cfg, None)


def link_davis_subset(source, target, sequences, num_frames):
    """A DAVIS-layout folder of symlinks to the first frames of a few real sequences (read in place)."""
    for sequence in sequences:
        for folder, suffix in (("JPEGImages", "jpg"), ("Annotations", "png")):
            (target / folder / "480p" / sequence).mkdir(parents=True)
            for index in range(num_frames):
                name = f"{folder}/480p/{sequence}/{index:05d}.{suffix}"
                (target / name).symlink_to(source / name)
    return target


@pytest.mark.slow
def test_tools_test_runs_the_baseline_without_checkpoint(shared_data, tiny_synthetic_set, tmp_path):
    davis = link_davis_subset(shared_data / "davis_people", tmp_path / "davis", ("hike", "tennis"), 4)
    out = tmp_path / "metrics.json"
    loaders = ("test_dataloader", "extra_test_sets.0.dataloader")
    options = [
        f"{loader}.{key}" for loader in loaders for key in ("num_workers=0", "persistent_workers=False")
    ]
    options += [
        f"test_dataloader.dataset.data_root={tiny_synthetic_set}",
        f"extra_test_sets.0.dataloader.dataset.data_root={davis}",
        "extra_test_sets.0.dataloader.dataset.sequences=[hike,tennis]",
    ]
    run_tool(
        "test.py",
        str(REPO_ROOT / "configs/baselines/mediapipe_selfie_256.py"),
        "--work-dir",
        str(tmp_path / "work"),
        "--out",
        str(out),
        "--cfg-options",
        *options,
        env=dict(os.environ, STEADYSEG_SHARED_DATA=str(shared_data)),
    )
    metrics = json.loads(out.read_text())
    assert 0.7 < metrics["davis_people/J&F"] < 0.95, metrics  # hike ~0.85 and tennis ~0.74 J in the README
    assert 0.0 <= metrics["synthetic/mIoU"] <= 1.0
