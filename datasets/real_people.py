"""Which real clips of ``../shared/data`` teach and which judge: the one split every recipe, demo and benchmark uses.

A clip that gives training cut-outs or distillation frames is never scored, and a scored clip never trains
anything; ``tests/datasets/test_real_people.py`` checks the configs against this split. The shared data's README
says what each clip is.

* ``cutout_sequences``: DAVIS-2016 clips whose person is cut out by its mask and pasted into synthetic video.
  breakdance and dance-twirl have unannotated crowds behind the dancer, so their frames cannot be scored whole;
  the mask region is clean, so they serve as cut-outs. bmx-trees is neither: its mask holds the bicycle too, so
  its cut-outs would teach that bicycles are people, and its score would punish a model that knows better.
* ``cutout_instances``: the schoolgirls clip, each girl merged with the backpack she carries (ids 2+3, 4+5,
  6+7; girl 1 carries none). It is the real test clip of video instance segmentation too, where its four girls
  must keep their ids: the synthetic sets of those recipes are made without its cut-outs
  (``generator_arguments(data, instance_cutouts=False)``).
* ``distillation_videos``: real people without ground truth that a teacher labels online.
* ``eval_sequences``: DAVIS clips scored with J, F, J&F, VC and flicker. kite-walk, swing and
  paragliding-launch reach the frame border in every frame, so they could not be cut out anyway.
* ``negative_sequence``: car-shadow, whose annotation is a car: its person ground truth is empty, so the
  predicted person area is a false-positive rate.
* ``flicker_videos``: people videos without ground truth, scored by ground-truth-free flicker only.
* ``demo_video``: the people video ``make demo`` overlays its masks on.
"""

from __future__ import annotations

from pathlib import Path

REAL_PEOPLE_SPLIT = {
    "cutout_sequences": ("breakdance", "breakdance-flare", "dance-twirl", "rollerblade"),
    "cutout_instances": {"schoolgirls": "1,2+3,4+5,6+7"},
    "coco_cutouts": "coco_people",
    "distillation_videos": "people_videos/davis_unlabelled",
    "eval_sequences": ("hike", "tennis", "kite-walk", "swing", "paragliding-launch"),
    "negative_sequence": "car-shadow",
    # Several people walking past a fixed camera: the demo's overlay video, a clip no recipe trains on.
    "demo_video": "people_videos/opencv_vtest.avi",
    "flicker_videos": (
        "people_videos/sam2_bedroom.mp4",
        "people_videos/sam2_juggle.mp4",
        "people_videos/sam2_dog_walk.mp4",
        "people_videos/opencv_vtest.avi",
        "people_videos/carphone.mp4",
    ),
}


def describe_split() -> str:
    """The split as printed beside every benchmark table."""
    split = REAL_PEOPLE_SPLIT
    girls = ", ".join(split["cutout_instances"])
    return "\n".join(
        [
            f"training cut-outs: DAVIS {', '.join(split['cutout_sequences'])}; {girls}; COCO people "
            f"({split['coco_cutouts']})",
            f"distillation (no ground truth): {split['distillation_videos']}",
            f"scored (J, F, VC, flicker): DAVIS {', '.join(split['eval_sequences'])}",
            f"false positives: DAVIS {split['negative_sequence']} (no person annotated)",
            f"ground-truth-free flicker: {', '.join(Path(v).name for v in split['flicker_videos'])}",
        ]
    )


def generator_arguments(data: Path, instance_cutouts: bool = True) -> list[str]:
    """``tools/make_synthetic.py`` options pasting the split's real cut-outs over the real backgrounds of ``data``;
    without ``instance_cutouts`` the ``cutout_instances`` clips give none, so that they can judge the video
    instance segmentation recipes trained on the set."""
    split = REAL_PEOPLE_SPLIT
    cutouts = [f"davis:{data / 'davis_people'}:{','.join(split['cutout_sequences'])}"]
    instance_clips = split["cutout_instances"] if instance_cutouts else {}
    for clip, groups in instance_clips.items():
        girls = data / f"davis_{clip}"
        cutouts.append(f"instances:{girls / f'{clip}.mp4'}:{girls / 'masks'}:{groups}")
    cutouts.append(f"coco:{data / split['coco_cutouts']}")
    # Each DAVIS clip and the schoolgirls give a few people in many frames; COCO gives 79 different people, so
    # it is drawn as often as four clips together, and three people in four are real rather than procedural.
    mixture = ["--cutout-weights", f"{split['coco_cutouts']}=4", "--cutout-probability", "0.75"]
    return ["--backgrounds", str(data / "backgrounds"), "--cutouts", *cutouts, *mixture]
