"""Export a video model's streaming ``step`` to ONNX or Core ML, with its recurrent state as explicit I/O.

The exported graph is one call of ``model.graph_step`` (``model.step_at_input_scale`` for a model whose parts all
run in the graph), its inputs and outputs named after the model's ``graph_output_names`` and ``graph_state_names``
(dots become underscores):

    (frame [1, 3, H, W], <state_0>, ..., <state_{k-1}>) -> (<output_0>, ..., next_<state_0>, ..., next_<state_{k-1}>)

e.g. ``(frame, temporal_hidden_stride8) -> (logits, next_temporal_hidden_stride8)``. An app feeds every frame
together with the state the previous call returned, and starts each video from ``model.initial_state(frame)``
(the sidecar JSON says which state tensors start as zeros). Per-frame models have no state (``k = 0``). ``frame`` is the normalized frame the data preprocessor produces
(``(rgb - mean) / std``) unless the export includes the normalization, in which case it is RGB float in [0, 255].

A stateful part that declares ``in_graph = False`` (``models/stateful.py``; the instance model's tracker) is not in
the graph: the app runs it after the graph, on the graph's outputs, and carries its state beside the graph's. The
sidecar JSON's ``outside_graph`` names those parts, the outputs they compute and their state.

Dynamic export leaves ``H`` and ``W`` free, and with them every output and state dimension that changes with the
frame size (found by running the step at two sizes); the graph does not encode how a state's size follows from
the frame's (e.g. ``ceil(H / 16)``), so the initial state must be built for the frame size in use, and each
``next_state`` then comes back with the right shape. Batch size is always 1.

The graph computes at the frame size it is given: the resize to the model's input scale that ``model.step`` does
in torch (``input_short_side``) stays with the app, which scales the camera frame as it converts it (the sidecar
JSON gives ``input_short_side``), as MediaPipe's segmenters take a fixed-size input.

A model that takes full frames and computes inside at a ``downsample_ratio`` of their size (matting) is exported
at one fixed ratio (:func:`fix_downsample_ratio`), so the graph downsamples by a constant scale and holds no size
computed from a ratio at run time; the sidecar JSON gives ``downsample_ratio``.
"""

from __future__ import annotations

import platform
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

from steadyseg.deploy.reparameterize import reparameterize
from steadyseg.evaluation import metrics_json

EXPORTERS = ("auto", "dynamo", "legacy")
FORMATS = ("onnx", "coreml")
COREML_PRECISIONS = ("float16", "float32")
DEFAULT_ATOL = 1e-4
# Outputs far above 1 (untrained re-parameterized networks reach 1e5) cannot match to 1e-4 in float32, whose
# relative precision is ~1e-7 per operation: such outputs are held to a relative error instead.
DEFAULT_RTOL = 1e-5
MIN_CHECK_FRAMES = 3
ONNX_OPSET = 18


class ExportError(RuntimeError):
    """The model cannot be exported (the message says why and what to try)."""


class ExportCheckError(ExportError):
    """The exported model does not reproduce the torch model."""


class StreamingStep(nn.Module):
    """``forward(frame, *state) -> (*outputs, *next_state)``: ``model.graph_step`` with its named outputs (in
    ``model.graph_output_names`` order) and its state (``model.graph_state_names``) flattened into arguments and
    results.

    With ``include_normalization`` the frame is RGB in [0, 255] and is normalized with the model's
    ``data_preprocessor`` mean and std inside the graph.
    """

    def __init__(self, model: nn.Module, include_normalization: bool = False):
        super().__init__()
        self.model = model
        self.include_normalization = include_normalization
        if include_normalization:
            preprocessor = getattr(model, "data_preprocessor", None)
            if not (hasattr(preprocessor, "mean") and hasattr(preprocessor, "std")):
                raise ExportError(
                    f"{type(model).__name__} has no data_preprocessor with mean/std to include in the graph"
                )
            self.register_buffer("mean", preprocessor.mean.detach().reshape(1, 3, 1, 1).clone(), False)
            self.register_buffer("std", preprocessor.std.detach().reshape(1, 3, 1, 1).clone(), False)

    def forward(self, frame: torch.Tensor, *state: torch.Tensor) -> tuple[torch.Tensor, ...]:
        if self.include_normalization:
            frame = (frame - self.mean) / self.std
        outputs, next_state = self.model.graph_step(frame, tuple(state))
        missing = [name for name in self.model.graph_output_names if name not in outputs]
        if missing:
            raise ExportError(
                f"{type(self.model).__name__}.graph_step returned {sorted(outputs)}; graph_output_names lists "
                f"{missing} too"
            )
        return (*(outputs[name] for name in self.model.graph_output_names), *next_state)

    @property
    def num_outputs(self) -> int:
        return len(self.model.graph_output_names)

    @property
    def input_names(self) -> list[str]:
        return ["frame", *self.state_graph_names]

    @property
    def output_names(self) -> list[str]:
        return [*self.model.graph_output_names, *(f"next_{name}" for name in self.state_graph_names)]

    @property
    def state_graph_names(self) -> list[str]:
        """The graph state's names as graph inputs: Core ML and most runtimes want identifiers, so no dots."""
        return [graph_name(name) for name in self.model.graph_state_names]

    def next_state(self, results: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
        """The state part of ``forward``'s results."""
        return tuple(results[self.num_outputs :])


def graph_name(name: str) -> str:
    return name.replace(".", "_")


def outside_graph(model: nn.Module) -> dict | None:
    """What the app runs after the graph, on its outputs (the parts with ``in_graph = False``): the parts by path
    and type, the outputs they compute and their state (named as graph state is); None when the graph is the whole
    step."""
    layout = model.state_layout
    if not layout.host_parts:
        return None
    return {
        "parts": {path: type(part).__name__ for path, part in layout.host_parts},
        "runs": "after the graph, on its outputs, every frame; the app carries their state beside the graph's",
        "outputs": [name for name in model.output_names if name not in model.graph_output_names],
        "state_names": [graph_name(name) for name in layout.names if name not in layout.graph_names],
    }


def fix_downsample_ratio(model: nn.Module, ratio: float | None, shape: tuple[int, int]) -> float | None:
    """Fixes the downsample ratio of a model that computes at one (it has a ``downsample_ratio``; matting) and
    returns it; None for other models.

    ``ratio`` None keeps a ratio the model fixes itself; a model that chooses its ratio per frame size
    (``downsample_ratio=None``) gets the one it chooses for frames of ``shape`` (``model.ratio_for``).
    """
    if not hasattr(model, "downsample_ratio"):
        if ratio is not None:
            raise ExportError(
                f"{type(model).__name__} has no downsample_ratio to fix: the ratio applies to models that compute "
                "at a fraction of the frame size (matting)"
            )
        return None
    if ratio is None:
        ratio = model.ratio_for(*shape) if model.downsample_ratio is None else model.downsample_ratio
    # The model checks the ratio it is given.
    model.downsample_ratio = ratio
    return model.downsample_ratio


def prepare_for_deploy(model: nn.Module) -> nn.Module:
    """Re-parameterizes ``model`` in place and puts it in eval mode (what export and profiling measure)."""
    return reparameterize(model).eval()


def runs_in_torch(model: nn.Module) -> bool:
    """False for inference-only wrappers (e.g. a TFLite baseline) whose ``step`` has no torch weights to trace."""
    return any(True for _ in model.parameters())


def random_frames(
    count: int, shape: tuple[int, int], raw_rgb: bool = False, seed: int = 0
) -> list[torch.Tensor]:
    """``count`` frames ``[1, 3, H, W]``: normalized (standard normal) or, with ``raw_rgb``, RGB in [0, 255]."""
    generator = torch.Generator().manual_seed(seed)
    if raw_rgb:
        return [torch.rand(1, 3, *shape, generator=generator) * 255.0 for _ in range(count)]
    return [torch.randn(1, 3, *shape, generator=generator) for _ in range(count)]


@torch.no_grad()
def initial_state(step: StreamingStep, frame: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """The graph's part of ``model.initial_state`` for the frame ``step`` takes (normalized first where the graph
    normalizes)."""
    if step.include_normalization:
        frame = (frame - step.mean) / step.std
    return step.model.state_layout.graph_part(tuple(step.model.initial_state(frame)))


@torch.no_grad()
def steady_state(step: StreamingStep, frames: list[torch.Tensor]) -> tuple[torch.Tensor, ...]:
    """The state after streaming ``frames`` from the initial state: what the model carries mid-video."""
    state = initial_state(step, frames[0])
    for frame in frames:
        state = step.next_state(step(frame, *state))
    return tuple(t.clone() for t in state)


@torch.no_grad()
def dynamic_dims(step: StreamingStep, shape: tuple[int, int]) -> dict[str, list[int]]:
    """For every graph input and output by name, the dimensions whose size changes with the frame size."""

    def shapes(size: tuple[int, int]) -> list[torch.Size]:
        frame = random_frames(1, size, step.include_normalization)[0]
        state = initial_state(step, frame)
        return [t.shape for t in (frame, *state, *step(frame, *state))]

    first, second = shapes(shape), shapes((shape[0] + 16, shape[1] + 32))
    names = step.input_names + step.output_names
    return {name: [d for d in range(len(a)) if a[d] != b[d]] for name, a, b in zip(names, first, second)}


def io_shapes(
    step: StreamingStep,
    inputs: tuple[torch.Tensor, ...],
    outputs: tuple[torch.Tensor, ...],
    dims: dict[str, list[int]] | None,
) -> tuple[dict[str, list[int]], dict[str, list[int]]]:
    """Named input and output shapes of the step; with ``dims`` (dynamic export) free sizes are ``-1``."""
    shapes_in = {n: list(t.shape) for n, t in zip(step.input_names, inputs)}
    shapes_out = {n: list(t.shape) for n, t in zip(step.output_names, outputs)}
    for shapes in (shapes_in, shapes_out):
        for name, shape in shapes.items():
            for d in (dims or {}).get(name, []):
                shape[d] = -1
    return shapes_in, shapes_out


def dynamic_shapes_of(step: StreamingStep, dims: dict[str, list[int]]) -> tuple:
    """``torch.export`` dynamic shapes of ``(frame, *state)`` from :func:`dynamic_dims`."""
    dim = torch.export.Dim.DYNAMIC
    return (
        {d: dim for d in dims["frame"]},
        tuple({d: dim for d in dims[name]} or None for name in step.state_graph_names),
    )


def check_shape(shape) -> tuple[int, int]:
    height, width = (int(v) for v in shape)
    if height < 2 or width < 2:
        raise ValueError(f"--shape must be two sizes >= 2 (H W), got {list(shape)}")
    return height, width


@dataclass
class OnnxExport:
    path: Path
    exporter: str
    dynamo_error: str | None
    input_names: list[str]
    output_names: list[str]


def export_onnx(
    step: StreamingStep,
    path: str | Path,
    frame: torch.Tensor,
    state: tuple[torch.Tensor, ...],
    dynamic: bool = False,
    exporter: str = "auto",
) -> OnnxExport:
    """Writes ``step`` at the example ``frame``/``state`` as ONNX.

    ``exporter="auto"`` uses ``torch.onnx.export(..., dynamo=True)`` and falls back to the legacy TorchScript
    exporter when dynamo fails (its error is kept in the result). The legacy exporter traces one call, so
    data-dependent branches and sizes computed in Python are frozen at the example: always run
    :func:`check_onnx` on its output.
    """
    if exporter not in EXPORTERS:
        raise ValueError(f"exporter must be one of {EXPORTERS}, got {exporter!r}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    names_in, names_out = step.input_names, step.output_names
    dims = dynamic_dims(step, tuple(frame.shape[-2:])) if dynamic else None
    dynamo_error = None
    if exporter in ("auto", "dynamo"):
        try:
            _export_dynamo(step, path, frame, state, dims)
            return OnnxExport(path, "dynamo", None, names_in, names_out)
        except Exception as error:  # any dynamo failure (unsupported op, data-dependent branch): try legacy
            if exporter == "dynamo":
                raise ExportError(
                    f"{path}: torch.onnx.export(dynamo=True) failed: {_first_line(error)}"
                ) from error
            dynamo_error = _first_line(error)
    try:
        _export_legacy(step, path, frame, state, dims)
    except Exception as error:
        raise ExportError(
            f"{path}: both ONNX exporters failed. dynamo: {dynamo_error or 'not tried'}; legacy: {_first_line(error)}"
        ) from error
    return OnnxExport(path, "legacy", dynamo_error, names_in, names_out)


def _export_dynamo(step, path, frame, state, dims) -> None:
    dynamic_shapes = None if dims is None else dynamic_shapes_of(step, dims)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        program = torch.onnx.export(
            step,
            (frame, *state),
            dynamo=True,
            input_names=step.input_names,
            output_names=step.output_names,
            dynamic_shapes=dynamic_shapes,
            opset_version=ONNX_OPSET,
            verbose=False,
        )
    program.save(str(path))
    if dims is not None:
        _name_dynamic_dims(path)


def _export_legacy(step, path, frame, state, dims) -> None:
    dynamic_axes = None
    if dims is not None:
        # An output's free size is named after the input size it follows: the frame's, or its own state's.
        dynamic_axes = {"frame": {2: "height", 3: "width"}}
        for name in step.output_names[: step.num_outputs]:
            axes = {d: ("height", "width")[d - 2] if d in (2, 3) else f"{name}_dim{d}" for d in dims[name]}
            if axes:
                dynamic_axes[name] = axes
        for name in step.state_graph_names:
            axes = {d: f"{name}_dim{d}" for d in dims[name]}
            if axes:
                dynamic_axes[name] = dynamic_axes[f"next_{name}"] = axes
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            step,
            (frame, *state),
            str(path),
            dynamo=False,
            input_names=step.input_names,
            output_names=step.output_names,
            dynamic_axes=dynamic_axes,
            opset_version=ONNX_OPSET,
        )


def _name_dynamic_dims(path: Path) -> None:
    """Renames dynamo's symbolic sizes (``s78``) to ``height``/``width`` and ``<state>_dimD`` everywhere."""
    import onnx

    model = onnx.load(str(path))
    renames = {}
    for value in model.graph.input:
        dims = value.type.tensor_type.shape.dim
        for d, dim in enumerate(dims):
            if dim.dim_param and dim.dim_param not in renames:
                renames[dim.dim_param] = (
                    ("height", "width")[d - 2] if value.name == "frame" else f"{value.name}_dim{d}"
                )
    if not renames:
        return
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, renames)) + r")\b")
    values = [*model.graph.input, *model.graph.output, *model.graph.value_info]
    for value in values:
        for dim in value.type.tensor_type.shape.dim:
            if dim.dim_param:
                dim.dim_param = pattern.sub(lambda m: renames[m.group(1)], dim.dim_param)
    onnx.save(model, str(path))


def check_onnx(
    step: StreamingStep,
    path: str | Path,
    shapes: list[tuple[int, int]],
    frames: int = 5,
    atol: float = DEFAULT_ATOL,
    rtol: float = DEFAULT_RTOL,
) -> dict:
    """Streams ``frames`` random frames (from the initial state, state fed back) through torch and ONNX Runtime.

    Every output of every frame must match within ``max(atol, rtol * max|torch output|)``, i.e. ``atol`` for
    outputs up to ``atol / rtol`` in magnitude. One clip runs per entry of ``shapes`` (dynamic exports are
    checked at a size other than the exported one). Returns the worst absolute difference per frame.
    """
    import onnxruntime as ort

    if frames < MIN_CHECK_FRAMES:
        raise ValueError(f"the check needs at least {MIN_CHECK_FRAMES} frames (state fed back), got {frames}")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    report = {"atol": atol, "rtol": rtol, "clips": []}
    for shape in shapes:
        clip = random_frames(frames, shape, step.include_normalization, seed=1)
        state = initial_state(step, clip[0])
        names_in, names_out = step.input_names, step.output_names
        diffs = []
        for index, frame in enumerate(clip):
            with torch.no_grad():
                expected = step(frame, *state)
            feeds = {name: t.numpy() for name, t in zip(names_in, (frame, *state))}
            try:
                actual = session.run(None, feeds)
            except Exception as error:
                raise ExportCheckError(
                    f"{path}: ONNX Runtime failed on frame {index} of a {shape[0]}x{shape[1]} clip: "
                    f"{_first_line(error)}"
                ) from error
            worst = 0.0
            for name, want, got in zip(names_out, expected, actual):
                diff = _max_abs_diff(want, got)
                tolerance = max(atol, rtol * float(want.abs().max()))
                if not diff <= tolerance:
                    raise ExportCheckError(
                        f"{path}: ONNX Runtime differs from torch by {diff:.3g} (> {tolerance:.3g}) in '{name}' on "
                        f"frame {index} of a {shape[0]}x{shape[1]} clip (shapes {list(want.shape)} vs "
                        f"{list(got.shape)}); the graph does not reproduce the model (a legacy export freezes "
                        "data-dependent branches and Python-computed sizes at the example input)"
                    )
                worst = max(worst, diff)
            diffs.append(worst)
            state = step.next_state(expected)
        report["clips"].append({"shape": list(shape), "max_abs_diff_per_frame": diffs})
    report["max_abs_diff"] = max(max(clip["max_abs_diff_per_frame"]) for clip in report["clips"])
    return report


def export_checked_onnx(
    step: StreamingStep,
    path: str | Path,
    frame: torch.Tensor,
    state: tuple[torch.Tensor, ...],
    dynamic: bool = False,
    exporter: str = "auto",
    check_frames: int = 5,
    check_atol: float = DEFAULT_ATOL,
) -> tuple[OnnxExport, dict]:
    """:func:`export_onnx`, then :func:`check_onnx` at the example size (and, when dynamic, a second size)."""
    result = export_onnx(step, path, frame, state, dynamic, exporter)
    height, width = frame.shape[-2:]
    shapes = [(height, width), (height + height // 2, width + width // 4)] if dynamic else [(height, width)]
    try:
        return result, check_onnx(step, path, shapes, check_frames, atol=check_atol)
    except ExportCheckError as error:
        # A model that does not reproduce the torch model must not be picked up by mistake.
        Path(path).unlink(missing_ok=True)
        reason = (
            f" The legacy exporter ran because dynamo failed: {result.dynamo_error}"
            if result.dynamo_error
            else ""
        )
        raise ExportCheckError(f"{error}. The file was removed.{reason}") from error


def _max_abs_diff(expected: torch.Tensor, actual: np.ndarray) -> float:
    if tuple(expected.shape) != tuple(actual.shape):
        return float("inf")
    return float(np.abs(expected.numpy().astype(np.float64) - actual.astype(np.float64)).max(initial=0.0))


@dataclass
class CoreMLExport:
    path: Path
    inputs: dict[str, list[int]]
    outputs: dict[str, list[int]]
    precision: str
    notes: list[str] = field(default_factory=list)


def export_coreml(
    step: StreamingStep,
    path: str | Path,
    frame: torch.Tensor,
    state: tuple[torch.Tensor, ...],
    dynamic: bool = False,
    precision: str = "float16",
) -> CoreMLExport:
    """Converts ``torch.export(step)`` with coremltools (ML program) and saves an ``.mlpackage``.

    Dynamic sizes become unbounded ranges (shape ``-1`` in the result). Running the package needs macOS, so
    the check here is structural: input and output names and shapes of the saved spec.
    """
    if precision not in COREML_PRECISIONS:
        raise ValueError(f"Core ML precision must be one of {COREML_PRECISIONS}, got {precision!r}")
    path = Path(path)
    if path.suffix != ".mlpackage":
        raise ValueError(f"{path}: a Core ML ML program is saved as a .mlpackage directory; use that suffix")
    ct = _import_coremltools()
    names_out = step.output_names
    dims = dynamic_dims(step, tuple(frame.shape[-2:])) if dynamic else None
    dynamic_shapes = None if dims is None else dynamic_shapes_of(step, dims)
    try:
        program = torch.export.export(step, (frame, *state), dynamic_shapes=dynamic_shapes)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mlmodel = ct.convert(
                _without_aliases(program.run_decompositions({})),
                convert_to="mlprogram",
                outputs=[ct.TensorType(name=name) for name in names_out],
                compute_precision=getattr(ct.precision, precision.upper()),
            )
        mlmodel = _with_input_names(ct, mlmodel, step.input_names)
    except Exception as error:
        raise ExportError(f"{path}: Core ML conversion failed: {_first_line(error)}") from error
    path.parent.mkdir(parents=True, exist_ok=True)
    mlmodel.save(str(path))
    with torch.no_grad():
        outputs = step(frame, *state)
    expected_in, expected_out = io_shapes(step, (frame, *state), outputs, dims)
    inputs, outputs_found = check_coreml_spec(path, expected_in, expected_out)
    notes = (
        [] if platform.system() == "Darwin" else ["prediction not checked: Core ML runs models only on macOS"]
    )
    return CoreMLExport(path, inputs, outputs_found, precision, notes)


def _with_input_names(ct, mlmodel, names: list[str]):
    """Core ML names its inputs after torch.export's placeholders (``state_0``, ...): rename them as ONNX's."""
    spec = mlmodel.get_spec()
    for feature, name in zip(list(spec.description.input), names):
        if feature.name != name:
            ct.utils.rename_feature(spec, feature.name, name, rename_outputs=False)
    return ct.models.MLModel(spec, weights_dir=mlmodel.weights_dir)


def _without_aliases(program: torch.export.ExportedProgram) -> torch.export.ExportedProgram:
    """Drops ``aten.alias`` nodes (no-op slices such as ``x[..., :h, :w]`` leave them), which coremltools 9 rejects."""
    graph = program.graph_module.graph
    for node in list(graph.nodes):
        if node.op == "call_function" and node.target == torch.ops.aten.alias.default:
            node.replace_all_uses_with(node.args[0])
            graph.erase_node(node)
    program.graph_module.recompile()
    return program


def check_coreml_spec(
    path: str | Path, inputs: dict[str, list[int]], outputs: dict[str, list[int]]
) -> tuple[dict[str, list[int]], dict[str, list[int]]]:
    """Loads the saved spec and requires exactly these input/output names and shapes.

    ``-1`` in an expected shape is a free size; the spec may then also leave the whole shape unset (``[]``),
    which is how coremltools records outputs whose size is only known at run time.
    """
    ct = _import_coremltools()
    spec = ct.utils.load_spec(str(path))
    found_in = {f.name: _spec_shape(f) for f in spec.description.input}
    found_out = {f.name: _spec_shape(f) for f in spec.description.output}
    for kind, expected, found in (("inputs", inputs, found_in), ("outputs", outputs, found_out)):
        if list(found) != list(expected) or not all(_shape_matches(found[n], expected[n]) for n in expected):
            raise ExportCheckError(f"{path}: Core ML {kind} are {found}; expected {expected}")
    return found_in, found_out


def _shape_matches(found: list[int], expected: list[int]) -> bool:
    return found == list(expected) or (not found and -1 in expected)


def _spec_shape(feature) -> list[int]:
    array = feature.type.multiArrayType
    ranges = array.shapeRange.sizeRanges
    if ranges:
        return [int(r.lowerBound) if r.lowerBound == r.upperBound else -1 for r in ranges]
    return [int(v) for v in array.shape]


def _import_coremltools():
    try:
        import coremltools as ct
    except ImportError as error:
        raise ExportError("Core ML export needs coremltools 9 (pip install -e '.[deploy]')") from error
    return ct


def _first_line(error: BaseException) -> str:
    """The innermost cause's type and first line: exporters wrap the real reason in generic messages."""
    while error.__cause__ is not None:
        error = error.__cause__
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(error)).strip()
    return f"{type(error).__name__}: {text.splitlines()[0] if text else ''}"


def export_model(
    model: nn.Module,
    out: str | Path,
    fmt: str = "onnx",
    shape: tuple[int, int] = (256, 256),
    dynamic: bool = False,
    check_frames: int = 5,
    include_normalization: bool = False,
    exporter: str = "auto",
    precision: str = "float16",
    downsample_ratio: float | None = None,
    check_atol: float = DEFAULT_ATOL,
) -> dict:
    """Re-parameterizes ``model``, exports its step, checks the result and writes ``<out>.json`` beside it.

    ``downsample_ratio``: for a model that computes at a fraction of the frame size (matting), the ratio the graph
    computes at; None keeps the model's, or freezes the one it chooses for ``shape`` (:func:`fix_downsample_ratio`).
    ``check_atol``: the ONNX check's absolute tolerance (:func:`check_onnx`).

    Returns that report: format, exporter, input/output names and shapes (``-1``: free size of a dynamic
    export), which graph outputs are the model's outputs and which its state, normalization, the model's input
    scale (``input_short_side``, and ``downsample_ratio`` for models that have one), which initial state tensors
    are zeros, the check (ONNX: worst difference from torch per frame; Core ML: the spec) and, for a model with
    parts that run outside the graph, ``outside_graph`` (:func:`outside_graph`).
    """
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, got {fmt!r}")
    shape = check_shape(shape)
    if check_frames < MIN_CHECK_FRAMES:
        raise ValueError(
            f"--check-frames must be at least {MIN_CHECK_FRAMES} (state fed back), got {check_frames}"
        )
    if not check_atol > 0:
        raise ValueError(f"--check-atol must be positive, got {check_atol}")
    ratio = fix_downsample_ratio(model, downsample_ratio, shape)
    model = prepare_for_deploy(model)
    if not runs_in_torch(model):
        raise ExportError(
            f"{type(model).__name__} has no torch parameters: it is an inference-only wrapper (e.g. a TFLite "
            "baseline) whose step does not run in torch, so there is no graph to export"
        )
    step = StreamingStep(model, include_normalization).eval()
    frames = random_frames(MIN_CHECK_FRAMES, shape, include_normalization)
    state = steady_state(step, frames)
    frame = frames[-1]
    out = Path(out)
    with torch.no_grad():
        outputs = step(frame, *state)
    shapes_in, shapes_out = io_shapes(
        step, (frame, *state), outputs, dynamic_dims(step, shape) if dynamic else None
    )
    report = {
        "format": fmt,
        "path": str(out),
        "dynamic": dynamic,
        "inputs": shapes_in,
        "outputs": shapes_out,
        "output_names": list(model.graph_output_names),
        "state_names": step.state_graph_names,
        "frame": _frame_description(step),
        "input_short_side": getattr(model, "input_short_side", None),
        **({} if ratio is None else {"downsample_ratio": ratio}),
        "initial_state_is_zero": {
            name: bool((t == 0).all()) for name, t in zip(step.state_graph_names, initial_state(step, frame))
        },
    }
    host = outside_graph(model)
    if host is not None:
        report["outside_graph"] = host
    if fmt == "onnx":
        result, report["check"] = export_checked_onnx(
            step, out, frame, state, dynamic, exporter, check_frames, check_atol
        )
        report["exporter"] = result.exporter
        if result.dynamo_error:
            report["dynamo_error"] = result.dynamo_error
    else:
        result = export_coreml(step, out, frame, state, dynamic, precision)
        report["exporter"] = "torch.export + coremltools"
        report["precision"] = precision
        report["check"] = {
            "spec_inputs": result.inputs,
            "spec_outputs": result.outputs,
            "notes": result.notes,
        }
    Path(f"{out}.json").write_text(metrics_json(report))
    return report


def _frame_description(step: StreamingStep) -> dict:
    preprocessor = getattr(step.model, "data_preprocessor", None)
    description = {
        "normalized": not step.include_normalization,
        "note": "RGB float in [0, 255]; the graph normalizes"
        if step.include_normalization
        else "(rgb - mean) / std, computed outside the graph",
    }
    if hasattr(preprocessor, "mean") and hasattr(preprocessor, "std"):
        description["mean"] = preprocessor.mean.flatten().tolist()
        description["std"] = preprocessor.std.flatten().tolist()
    return description
