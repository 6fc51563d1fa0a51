"""Segment a video: ``python tools/infer.py CONFIG CKPT VIDEO --out DIR``.

Writes DIR/<video>_mask.mp4 (label colours), DIR/<video>_overlay.mp4 and DIR/<video>_summary.json,
decoding, segmenting (through the model's streaming ``step``) and encoding one frame at a time, the three in
overlapping threads; an interrupted run leaves none of the files. CKPT's weights must fit the config's model
exactly.
"""

import argparse
import json
from pathlib import Path

from steadyseg.apis.inference import infer_video, load_model
from steadyseg.apis.training import at_least, run_cli


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config")
    parser.add_argument("checkpoint", help="checkpoint file ('none' for models without learned weights)")
    parser.add_argument("video", help="video file (mp4, avi, ...) or folder of frames")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--max-frames", type=at_least(1), help="stop after this many frames")
    parser.add_argument(
        "--threads",
        type=at_least(1),
        help="torch threads (default: every core but one, left to decode/encode)",
    )
    parser.add_argument("--device", default="cpu")
    return parser


def check_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Usage errors before the model is built."""
    if not Path(args.config).is_file():
        parser.error(f"config file {args.config} does not exist")
    if args.checkpoint != "none" and not Path(args.checkpoint).is_file():
        parser.error(f"checkpoint {args.checkpoint} does not exist")
    if not Path(args.video).exists():
        parser.error(f"video {args.video} does not exist")


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    check_args(parser, args)
    checkpoint = None if args.checkpoint == "none" else args.checkpoint
    model = load_model(args.config, checkpoint, args.device)
    summary = infer_video(model, args.video, args.out, args.max_frames, threads=args.threads)
    print(json.dumps(summary, indent=2))
    return summary


if __name__ == "__main__":
    run_cli(main)
