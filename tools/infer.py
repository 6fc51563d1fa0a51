"""Segment a video: ``python tools/infer.py CONFIG CKPT VIDEO --out DIR``.

Writes DIR/<video>_mask.mp4 (label colours), DIR/<video>_overlay.mp4 and DIR/<video>_summary.json,
decoding, segmenting (through the model's streaming ``step``) and encoding one frame at a time.
"""

import argparse
import json

from steadyseg.apis.inference import infer_video, load_model


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config")
    parser.add_argument("checkpoint", help="checkpoint file ('none' for models without learned weights)")
    parser.add_argument("video", help="video file (mp4, avi, ...)")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--short-side", type=int, default=256, help="short side the model sees (default 256)")
    parser.add_argument("--max-frames", type=int, help="stop after this many frames")
    parser.add_argument("--device", default="cpu")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    checkpoint = None if args.checkpoint == "none" else args.checkpoint
    model = load_model(args.config, checkpoint, args.device)
    summary = infer_video(model, args.video, args.out, args.short_side, args.max_frames)
    print(json.dumps(summary, indent=2))
    return summary


if __name__ == "__main__":
    main()
