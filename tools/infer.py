"""Run a video model over a video: ``python tools/infer.py CONFIG CKPT VIDEO --out DIR``.

Writes the videos of the model's family into DIR at the input's resolution, and DIR/<video>_summary.json:
segmentation models <video>_mask.mp4 (label colours) and <video>_overlay.mp4; matting models <video>_alpha.mp4
(grey), <video>_fgr.mp4 (foreground) and <video>_composite.mp4 (the foreground over a green screen, or over
--background-color R G B, or --background IMAGE|VIDEO, a video looped or cut to the input's length); video
instance models <video>_overlay.mp4 (each tracked person in the colour of their id, the id written above),
<video>_detections.jsonl (a line per frame: each detection's id, score and box) and <video>_tracks.json (per track
id: first and last frame, frames seen, mean score, the union of its boxes). Frames are decoded, run through the
model's streaming ``step`` and encoded one at a time, the three in overlapping threads, so memory stays flat over
any length; an interrupted run leaves none of the files. CKPT's weights must fit the config's model exactly.
"""

import argparse
import json
from pathlib import Path

from steadyseg.apis.inference import infer_video, load_model
from steadyseg.apis.training import at_least, run_cli

# x264's constant rate factor runs from 0 (lossless) to 51.
MAX_CRF = 51


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
    parser.add_argument(
        "--crf",
        type=at_least(0),
        help=f"x264 quality of the written videos, 0 (lossless) to {MAX_CRF}; default 20",
    )
    background = parser.add_mutually_exclusive_group()
    background.add_argument(
        "--background-color",
        type=at_least(0),
        nargs=3,
        metavar=("R", "G", "B"),
        help="matting: composite over this colour, each in 0..255 (default: green screen, 0 255 0)",
    )
    background.add_argument(
        "--background",
        metavar="IMAGE|VIDEO",
        help="matting: composite over this image, or video (file or frame folder, looped or cut to length); "
        "scaled to cover the frame and centre-cropped",
    )
    return parser


def check_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Usage errors before the model is built."""
    if not Path(args.config).is_file():
        parser.error(f"config file {args.config} does not exist")
    if args.checkpoint != "none" and not Path(args.checkpoint).is_file():
        parser.error(f"checkpoint {args.checkpoint} does not exist")
    if not Path(args.video).exists():
        parser.error(f"video {args.video} does not exist")
    if args.crf is not None and args.crf > MAX_CRF:
        parser.error(f"argument --crf: must be at most {MAX_CRF}, got {args.crf}")
    if args.background_color is not None and max(args.background_color) > 255:
        parser.error(
            f"argument --background-color: each value must be at most 255, got {args.background_color}"
        )
    if args.background is not None and not Path(args.background).exists():
        parser.error(f"background {args.background} does not exist")


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    check_args(parser, args)
    checkpoint = None if args.checkpoint == "none" else args.checkpoint
    model = load_model(args.config, checkpoint, args.device)
    background = args.background or (None if args.background_color is None else tuple(args.background_color))
    summary = infer_video(
        model,
        args.video,
        args.out,
        args.max_frames,
        threads=args.threads,
        background=background,
        crf=args.crf,
    )
    print(json.dumps(summary, indent=2))
    return summary


if __name__ == "__main__":
    run_cli(main)
