"""Splits a YouTube-VIS / OVIS annotation JSON by video into a training part and a local validation part.

    python tools/split_vis_json.py data/ytvis_2021/train/instances.json --minival-videos 200 [--seed 0]
        [--person-category-id 26] [--out-dir DIR]

The evaluation servers hold the labels of the official valid and test splits, so a recipe that reports numbers
during training validates on videos held out of the training JSON instead. The held-out videos are drawn among
those with at least one person track of ``--person-category-id`` (YouTube-VIS 2021's person is 26, 2019's and
OVIS's 1), so every one of them scores. Writes ``<stem>_train.json`` (every other video) and
``<stem>_minival.json`` beside the input (or into ``--out-dir``), each with the input's ``categories`` and
``info`` and the annotations of its own videos; the same arguments give the same split.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

from steadyseg.apis.training import at_least
from steadyseg.engine import write_atomically


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("ann_file", help="YouTube-VIS / OVIS instances JSON with annotations")
    parser.add_argument("--minival-videos", type=at_least(1), required=True, help="videos held out")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--person-category-id", type=int, default=26, help="2021: 26; 2019 and OVIS: 1")
    parser.add_argument("--out-dir", help="default: the input's folder")
    return parser.parse_args(argv)


def split_videos(content: dict, minival_videos: int, seed: int, person_category_id: int) -> tuple[dict, dict]:
    """``(train, minival)`` JSON contents: ``minival_videos`` videos with people drawn with ``seed``, the rest
    for training; each keeps the input's other top-level keys (``categories``, ``info``, ...)."""
    annotations = content.get("annotations")
    if not isinstance(annotations, list):
        raise ValueError("no 'annotations' list: the labels of this split are not in the file")
    with_people = sorted(
        {a["video_id"] for a in annotations if a.get("category_id") == person_category_id}, key=str
    )
    if len(with_people) < minival_videos:
        raise ValueError(
            f"{len(with_people)} videos have person tracks (category {person_category_id}); "
            f"cannot hold out {minival_videos}"
        )
    held_out = set(random.Random(seed).sample(with_people, minival_videos))
    parts = []
    for keep in (lambda video_id: video_id not in held_out, lambda video_id: video_id in held_out):
        part = {key: value for key, value in content.items() if key not in ("videos", "annotations")}
        part["videos"] = [video for video in content["videos"] if keep(video["id"])]
        part["annotations"] = [a for a in annotations if keep(a["video_id"])]
        parts.append(part)
    return parts[0], parts[1]


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    path = Path(args.ann_file)
    try:
        content = json.loads(path.read_text())
        train, minival = split_videos(content, args.minival_videos, args.seed, args.person_category_id)
    except (OSError, json.JSONDecodeError, KeyError, TypeError, ValueError) as error:
        sys.exit(f"{path}: {error}")
    out_dir = Path(args.out_dir) if args.out_dir else path.parent
    for name, part in (("train", train), ("minival", minival)):
        out = out_dir / f"{path.stem}_{name}.json"
        write_atomically(out, json.dumps(part).encode())
        print(f"{out}: {len(part['videos'])} videos, {len(part['annotations'])} tracks")


if __name__ == "__main__":
    main()
