"""Export a model's streaming step: ``python tools/export.py CONFIG CKPT --format onnx|coreml [--out PATH]``.

CKPT is a checkpoint file, or ``none`` for untrained weights. The model is re-parameterized, its ``step`` is
exported as ``(frame, <state>...) -> (<outputs>..., next_<state>...)``, named after the model's ``state_names``
and ``output_names`` (batch 1; ``--dynamic`` leaves H and W free), then checked: ONNX by running ONNX Runtime
over a short clip with the state fed back and matching torch frame by frame (max abs diff <= 1e-4, else an
error); Core ML by the saved spec's input/output names and shapes (running Core ML needs macOS). A JSON report
goes next to the model (``PATH.json``). See docs/deploy.md.

A matting model takes the full frame and computes at ``--downsample-ratio`` of it: the graph holds that ratio
as a constant. The option is required when the config leaves the model's ratio to the frame size
(``downsample_ratio=None``), and overrides the config's ratio otherwise.
"""

import argparse
import json
from pathlib import Path

from steadyseg.apis.inference import load_model
from steadyseg.apis.training import at_least, positive, run_cli
from steadyseg.deploy.export import COREML_PRECISIONS, DEFAULT_ATOL, EXPORTERS, FORMATS, export_model

SUFFIXES = {"onnx": ".onnx", "coreml": ".mlpackage"}


def ratio(text: str) -> float:
    """An argparse type: a downsample ratio in (0, 1]."""
    value = float(text)
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"must be in (0, 1], got {value:g}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config")
    parser.add_argument("checkpoint", help="checkpoint file, or 'none' for untrained weights")
    parser.add_argument("--format", required=True, choices=FORMATS)
    parser.add_argument("--shape", type=at_least(2), nargs=2, default=(256, 256), metavar=("H", "W"))
    parser.add_argument(
        "--dynamic", action="store_true", help="free H and W (and the state sizes that follow)"
    )
    parser.add_argument(
        "--out", help="output file (default: work_dirs/export/<config>_<H>x<W>.onnx|.mlpackage)"
    )
    parser.add_argument(
        "--check-frames", type=at_least(3), default=5, help="frames streamed by the ONNX check (>= 3)"
    )
    parser.add_argument(
        "--check-atol",
        type=positive,
        default=DEFAULT_ATOL,
        help="absolute tolerance of the ONNX check; outputs far above 1 are held to a relative 1e-5 instead",
    )
    parser.add_argument(
        "--include-normalization",
        action="store_true",
        help="the graph takes RGB in [0, 255] and normalizes it",
    )
    parser.add_argument("--exporter", default="auto", choices=EXPORTERS, help="ONNX: dynamo, legacy, or auto")
    parser.add_argument("--coreml-precision", default="float16", choices=COREML_PRECISIONS)
    parser.add_argument(
        "--downsample-ratio",
        type=ratio,
        help="matting: the fraction of the frame size the model computes at, fixed in the graph "
        "(e.g. 0.25 for HD, 0.125 for 4K); required when the config's downsample_ratio is None",
    )
    return parser


def parse_args(argv=None, parser: argparse.ArgumentParser | None = None) -> argparse.Namespace:
    parser = parser or build_parser()
    args = parser.parse_args(argv)
    if not Path(args.config).is_file():
        parser.error(f"config file {args.config} does not exist")
    return args


def check_downsample_ratio(parser: argparse.ArgumentParser, args: argparse.Namespace, model) -> None:
    """Usage errors of ``--downsample-ratio`` once the model is built: needed where the model would choose its
    ratio per frame size, refused where it computes at none."""
    name = type(model).__name__
    if not hasattr(model, "downsample_ratio"):
        if args.downsample_ratio is not None:
            parser.error(
                f"argument --downsample-ratio: {args.config}'s model ({name}) computes at no downsample ratio; "
                "the option applies to matting models"
            )
    elif model.downsample_ratio is None and args.downsample_ratio is None:
        parser.error(
            f"{args.config}: the model ({name}) chooses its downsample ratio per frame size "
            "(downsample_ratio=None), and an exported graph computes at one fixed ratio: pass --downsample-ratio "
            "(e.g. 0.25 for HD video, 0.125 for 4K)"
        )


def main(argv=None):
    parser = build_parser()
    args = parse_args(argv, parser)
    checkpoint = None if args.checkpoint.lower() == "none" else args.checkpoint
    out = args.out or _default_out(args)
    model = load_model(args.config, checkpoint)
    check_downsample_ratio(parser, args, model)
    report = export_model(
        model,
        out,
        fmt=args.format,
        shape=tuple(args.shape),
        dynamic=args.dynamic,
        check_frames=args.check_frames,
        include_normalization=args.include_normalization,
        exporter=args.exporter,
        precision=args.coreml_precision,
        downsample_ratio=args.downsample_ratio,
        check_atol=args.check_atol,
    )
    print(json.dumps(report, indent=2))
    return report


def _default_out(args) -> str:
    height, width = args.shape
    size = "dynamic" if args.dynamic else f"{height}x{width}"
    if args.downsample_ratio is not None:
        size += f"_ratio{args.downsample_ratio:g}"
    return str(Path("work_dirs/export") / f"{Path(args.config).stem}_{size}{SUFFIXES[args.format]}")


if __name__ == "__main__":
    run_cli(main)
