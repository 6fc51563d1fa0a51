"""Pseudo ground-truth alpha of real people from their binary masks, in the VideoMatte240K layout.

    python tools/make_pseudo_alpha.py --out DIR (--davis ROOT | --coco ROOT) [--clips NAME [NAME ...]]
        [--band 10] [--scale 1.0] [--max-frames N] [--resolution 480p]

--davis reads a DAVIS root (JPEGImages/<resolution>/<clip>/, Annotations/<resolution>/<clip>/); --coco a COCO
instances root (images/, annotations/instances.json), each image with people a one-frame clip named by its file
stem, its mask the union of its people (images with a crowd region are left out). DIR gets fgr/<clip>/<frame>.jpg,
pha/<clip>/<frame>.png, README.txt and pseudo_alpha.json. Closed-form matting solves alpha within --band px of
each mask's edge; the rest keeps the mask's 0 or 1. It is pseudo ground truth: see docs/matting.md. A rerun with
the same settings skips the clips already written.
"""

from __future__ import annotations

import argparse

from tqdm import tqdm

from steadyseg.pseudo_alpha import DEFAULT_BAND
from steadyseg.pseudo_alpha.sources import CocoSource, DavisSource
from steadyseg.pseudo_alpha.writer import write_pseudo_alpha


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _scale(text: str) -> float:
    value = float(text)
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"must be in (0, 1], got {value}")
    return value


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="output folder (VideoMatte240K layout)")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--davis", metavar="ROOT", help="a DAVIS root")
    source.add_argument(
        "--coco", metavar="ROOT", help="a COCO instances root (images/, annotations/instances.json)"
    )
    parser.add_argument(
        "--clips", nargs="+", metavar="NAME", help="DAVIS clips or COCO image stems (default: all)"
    )
    parser.add_argument(
        "--band",
        type=_positive_int,
        default=DEFAULT_BAND,
        help="unknown band on each side of a mask's edge, px",
    )
    parser.add_argument(
        "--scale", type=_scale, default=1.0, help="solve the matting at this fraction of the frame size"
    )
    parser.add_argument("--max-frames", type=_positive_int, help="only each clip's first N frames")
    parser.add_argument("--resolution", default="480p", help="DAVIS resolution folder")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    bars = []

    def plan(total: int, done: list[str]) -> None:
        if done:
            print(f"skipping {len(done)} clips already written: {', '.join(done)}")
        bars.append(tqdm(total=total, unit="frame", desc="pseudo alpha"))

    def progress(clip: str) -> None:
        bars[0].set_postfix_str(clip, refresh=False)
        bars[0].update()

    try:
        if args.davis:
            source = DavisSource(args.davis, args.resolution, args.clips)
        else:
            source = CocoSource(args.coco, clips=args.clips)
        record = write_pseudo_alpha(
            source,
            args.out,
            band=args.band,
            scale=args.scale,
            max_frames=args.max_frames,
            progress=progress,
            on_plan=plan,
        )
    # Bad data ends in VideoDataError, a ValueError, naming the file; bad settings in a ValueError.
    except ValueError as error:
        raise SystemExit(f"make_pseudo_alpha: error: {error}") from None
    finally:
        for bar in bars:
            bar.close()
    frames = sum(clip["frames"] for clip in record["clips"].values())
    print(f"{args.out}: pseudo alpha of {len(record['clips'])} clips, {frames} frames (band {args.band} px)")


if __name__ == "__main__":
    main()
