"""Generates the synthetic people-video set that CI, the demo and the notebooks train on.

    python tools/make_synthetic.py --out data/synthetic [--num-train 32] [--num-val 8] [--frames 16]
        [--size 256 256] [--fps 15] [--seed 0] [--backgrounds PATH [PATH ...]] [--format frames|mp4]
        [--max-people 3] [--workers N] [--cutouts SPEC [SPEC ...]] [--cutout-probability 0.6]
        [--cutout-weights NAME=W [NAME=W ...]] [--cutout-every 5] [--cutout-frames 1]

PATH is a background photo or person-free video, or a folder of them; a video's own motion (leaves in the
wind) is not in the flow (``meta.json`` lists those videos under ``backgrounds.camera_only_flow``).

SPEC names real clips or photos whose people are cut out with their masks and pasted in (``meta.json`` lists
them, so leave them out of evaluation):
    davis:<DAVIS root>:<seq>[,<seq>...]                  e.g. davis:../shared/data/davis_people:hike,tennis
    instances:<video or frame folder>:<mask folder>:<ids>[,<ids>...]
        ids of one person joined by +, e.g. for DAVIS schoolgirls (girls 1 3 5 7, backpacks 2 4 6):
        instances:../shared/data/davis_schoolgirls/schoolgirls.mp4:../shared/data/davis_schoolgirls/masks:1,2+3,4+5,6+7
    coco:<COCO root>    (<root>/images, <root>/annotations/instances.json) e.g. coco:../shared/data/coco_people
NAME is a source's name (a DAVIS sequence, the instance clip's video stem or frame-folder name, the COCO root's
folder name).

Same arguments, same bytes. See ``steadyseg.synthetic.writer.generate_dataset`` for the layout.
"""

from __future__ import annotations

import argparse
import os
import time

from tqdm import tqdm

from steadyseg.synthetic import DEFAULT_EXCLUDE, generate_dataset


def _weight(text: str) -> tuple[str, float]:
    name, _, weight = text.rpartition("=")
    try:
        if name:
            return name, float(weight)
    except ValueError:
        pass
    raise argparse.ArgumentTypeError(f"expected NAME=W with a number W, got {text!r}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--num-train", type=int, default=32, help="videos in the train split")
    parser.add_argument("--num-val", type=int, default=8, help="videos in the val split")
    parser.add_argument("--frames", type=int, default=16, help="frames per video")
    parser.add_argument("--size", type=int, nargs=2, default=(256, 256), metavar=("H", "W"))
    parser.add_argument("--fps", type=float, default=15)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--backgrounds",
        nargs="+",
        metavar="PATH",
        help="background photos and person-free videos, or folders of them (default: procedural backgrounds)",
    )
    parser.add_argument(
        "--exclude-backgrounds",
        nargs="*",
        default=list(DEFAULT_EXCLUDE),
        metavar="PATTERN",
        help="background file names to skip; NAME@N keeps only a video's first N frames (default: %(default)s: "
        "the shared-data photo with two real people in it, and the tree video from where a hand enters)",
    )
    parser.add_argument("--format", choices=("frames", "mp4"), default="frames")
    parser.add_argument("--max-people", type=int, default=3)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument(
        "--cutouts",
        nargs="+",
        default=[],
        metavar="SPEC",
        help="real clips or photos giving people cut-outs: davis:<root>:<seq>[,<seq>...], "
        "instances:<video or frame folder>:<mask folder>:<ids>[,<ids>...] (ids of one person joined by +) "
        "or coco:<root>",
    )
    parser.add_argument(
        "--cutout-probability", type=float, default=0.6, help="chance that a person is a real cut-out"
    )
    parser.add_argument(
        "--cutout-weights",
        nargs="+",
        default=[],
        type=_weight,
        metavar="NAME=W",
        help="relative chance of a cut-out source, e.g. coco_people=3 (default: 1 for every source)",
    )
    parser.add_argument(
        "--cutout-every", type=int, default=5, help="use every N-th usable frame of each real person"
    )
    parser.add_argument(
        "--cutout-frames",
        type=int,
        default=1,
        help="consecutive real frames per cut-out, played back and forth; above 1 the flow inside cut-outs "
        "is not exact (default: 1, still cut-outs with exact flow)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    total = args.num_train + args.num_val
    start = time.perf_counter()
    with tqdm(total=total, unit="video", desc="make_synthetic") as bar:
        try:
            meta = generate_dataset(
                args.out,
                num_train=args.num_train,
                num_val=args.num_val,
                num_frames=args.frames,
                size=args.size,
                fps=args.fps,
                seed=args.seed,
                backgrounds=args.backgrounds,
                fmt=args.format,
                max_people=args.max_people,
                workers=min(args.workers, max(total, 1)),
                exclude_backgrounds=args.exclude_backgrounds,
                cutouts=args.cutouts,
                cutout_probability=args.cutout_probability,
                cutout_every=args.cutout_every,
                cutout_frames=args.cutout_frames,
                cutout_weights=dict(args.cutout_weights),
                progress=lambda video_id: bar.update(),
            )
        except ValueError as error:
            bar.close()
            raise SystemExit(f"make_synthetic: error: {error}") from None
    height, width = meta["size"]
    print(
        f"wrote {total} videos ({args.num_train} train, {args.num_val} val) x {args.frames} frames at "
        f"{height}x{width} ({args.format}) to {args.out} in {time.perf_counter() - start:.1f} s"
    )


if __name__ == "__main__":
    main()
