"""Generates the synthetic people-video set that CI, the demo and the notebooks train on.

    python tools/make_synthetic.py --out data/synthetic [--num-train 32] [--num-val 8] [--frames 16]
        [--size 256 256] [--fps 15] [--seed 0] [--backgrounds DIR] [--format frames|mp4]
        [--max-people 3] [--workers N]

Same arguments, same bytes. See ``steadyseg.synthetic.writer.generate_dataset`` for the layout.
"""

from __future__ import annotations

import argparse
import os
import time

from tqdm import tqdm

from steadyseg.synthetic import DEFAULT_EXCLUDE, generate_dataset


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--num-train", type=int, default=32, help="videos in the train split")
    parser.add_argument("--num-val", type=int, default=8, help="videos in the val split")
    parser.add_argument("--frames", type=int, default=16, help="frames per video")
    parser.add_argument("--size", type=int, nargs=2, default=(256, 256), metavar=("H", "W"))
    parser.add_argument("--fps", type=float, default=15)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--backgrounds", help="folder of background photos (default: procedural backgrounds)")
    parser.add_argument(
        "--exclude-backgrounds",
        nargs="*",
        default=list(DEFAULT_EXCLUDE),
        metavar="PATTERN",
        help="background file names to skip (default: %(default)s, the shared-data photo with two real "
        "people in it)",
    )
    parser.add_argument("--format", choices=("frames", "mp4"), default="frames")
    parser.add_argument("--max-people", type=int, default=3)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
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
