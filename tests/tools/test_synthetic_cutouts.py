"""Real people cut-outs in the synthetic generator: exact flow, soft alpha, bank loading, scenes, CLI."""

from __future__ import annotations

import json
import re
import runpy
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image
from pycocotools import mask as coco_mask
from pycocotools.coco import COCO
from scipy import ndimage

from steadyseg.synthetic import (
    Background,
    Camera,
    CocoSource,
    Cutout,
    CutoutFigure,
    CutoutSource,
    RigidMotion,
    Scene,
    generate_dataset,
    list_backgrounds,
    load_cutout_bank,
    parse_cutout_spec,
    random_cutout_figure,
    random_scene,
)
from steadyseg.synthetic import geometry as geo
from tests.tools.test_make_synthetic import erode, files_of, inside_after_flow, warp, written_flow_errors

EVERY = 20  # a few cut-outs per person keep the tests fast; one loading per process serves every test


def smooth_cutout(height: int = 40, width: int = 24) -> Cutout:
    """A person-like ellipse with a smooth colour pattern, so bilinear re-sampling is nearly lossless."""
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    rgb = np.stack(
        [0.5 + 0.3 * np.sin(xs / 4.0), 0.5 + 0.3 * np.cos(ys / 5.0), 0.4 + 0.2 * np.sin((xs + ys) / 6.0)], -1
    )
    margin = 4
    cy, cx = (height - 1) / 2, (width - 1) / 2
    mask = ((ys - cy) / (height / 2 - margin)) ** 2 + ((xs - cx) / (width / 2 - margin)) ** 2 <= 1
    rows = np.flatnonzero(mask.any(1))
    return Cutout(
        rgb=np.rint(rgb * 255).astype(np.uint8)[None],
        mask=mask[None],
        others=np.zeros((1, height, width), bool),
        box=(0, height, 0, width),
        anchor=(cx, rows[-1] + 0.5),
        height=float(rows[-1] - rows[0] + 1),
        source="ellipse",
        subject="ellipse",
        frame=0,
    )


def flat_background(camera: Camera) -> Background:
    """A smooth texture that covers everything the camera sees in a few frames."""
    ys, xs = np.mgrid[-64 : camera.height + 64, -64 : camera.width + 64].astype(np.float32)
    texture = np.stack([0.3 + 0.2 * np.sin(xs / 9.0), 0.4 + 0.2 * np.cos(ys / 7.0), 0.5 + 0 * xs], -1)
    return Background(texture, (-64.0, -64.0))


def test_pure_translation_shifts_the_cutout_and_gives_its_flow():
    camera = Camera(64, 80)
    figure = CutoutFigure(
        1, smooth_cutout(), RigidMotion(origin=(30.0, 50.0), velocity=(3.0, -2.0)), height=32
    )
    first, second = figure.render(0, camera), figure.render(1, camera)
    assert first.flow is None
    # Moved by (+3, -2): each pixel was at x - (3, -2) one frame earlier.
    np.testing.assert_allclose(second.flow[0], -3.0, atol=1e-4)
    np.testing.assert_allclose(second.flow[1], 2.0, atol=1e-4)
    (y0, y1, x0, x1), (v0, v1, u0, u1) = first.box, second.box
    assert (v0, v1, u0, u1) == (y0 - 2, y1 - 2, x0 + 3, x1 + 3)
    np.testing.assert_allclose(second.alpha, first.alpha, atol=1e-6)
    np.testing.assert_allclose(second.premultiplied, first.premultiplied, atol=1e-6)
    assert (second.label == 1 * 64 + 1).all()


def test_flow_maps_each_pixel_to_the_same_point_of_the_cutout():
    camera = Camera(64, 80, pan_velocity=(1.3, -0.4), zoom_rate=0.01, roll_rate=0.02)
    motion = RigidMotion(
        origin=(40.0, 52.0),
        velocity=(1.1, 0.3),
        sway=(2.0, 1.0),
        sway_frequency=0.4,
        angle=0.07,
        wobble=0.05,
        growth=0.02,
    )
    figure = CutoutFigure(2, smooth_cutout(), motion, height=30, flip=True)
    layer = figure.render(3, camera)
    xs, ys = geo.box_grid(layer.box)
    xs, ys = np.broadcast_arrays(xs, ys)
    now = geo.apply(np.linalg.inv(figure.to_frame(3, camera)), np.stack([xs, ys], -1))
    moved = np.stack([xs + layer.flow[0], ys + layer.flow[1]], -1)
    before = geo.apply(np.linalg.inv(figure.to_frame(2, camera)), moved)
    np.testing.assert_allclose(before, now, atol=1e-3)
    assert np.abs(layer.flow).max() > 1.0


def test_cutout_flow_is_exact_on_the_float_render():
    """frame_t(x) == frame_{t-1}(x + flow(x)) on the cut-out and the background, as for procedural people."""
    camera = Camera(64, 80, pan_velocity=(0.9, 0.5), zoom_rate=0.008, roll_rate=0.01)
    motion = RigidMotion(
        origin=(38.0, 56.0), velocity=(1.5, -0.5), angle=0.05, wobble=0.03, sway_frequency=0.3
    )
    figure = CutoutFigure(1, smooth_cutout(80, 48), motion, height=44, flip=True, feather=1.5)
    scene = Scene(camera, flat_background(camera), [figure])
    previous, current = scene.render(1), scene.render(2)
    before = warp(previous.surface_ids.astype(np.float32), current.flow, cv2.INTER_NEAREST)
    same = erode((before == current.surface_ids) & inside_after_flow(current.flow), 2)
    person = same & (current.surface_ids == 65)
    assert person.sum() > 200
    error = np.abs(warp(previous.image, current.flow) - current.image).mean(-1)
    assert error[person].mean() < 1.0 / 255
    assert np.abs(previous.image - current.image).mean(-1)[person].mean() > 3 * error[person].mean()


def test_alpha_is_soft_only_at_the_edge():
    camera = Camera(64, 80)
    # Shown at its own size (a 32 px tall person), and shrunk 4 times (a 112 px tall one).
    for cutout, feather in ((smooth_cutout(), 2.0), (smooth_cutout(120, 72), 1.0)):
        figure = CutoutFigure(1, cutout, RigidMotion(origin=(40.0, 50.0)), height=32, feather=feather)
        layer = figure.render(0, camera)
        alpha = layer.alpha
        inside = alpha >= 0.98
        soft = (alpha > 0.02) & (alpha < 0.98)
        assert inside.any() and soft.any()
        near_inside = cv2.dilate(inside.astype(np.uint8), np.ones((7, 7), np.uint8)).astype(bool)
        assert near_inside[soft].all()  # a ramp of a few pixels around the person, no haze
        row = alpha[np.argmax(inside.sum(1))]  # the widest row crosses two edges
        assert 2 <= ((row > 0.02) & (row < 0.98)).sum() <= 8
        far = ~cv2.dilate(inside.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)
        assert (alpha[far] == 0).all()
        # Colour is premultiplied: never brighter than the coverage allows.
        assert (layer.premultiplied <= alpha[..., None] + 1e-6).all()


def test_animated_cutout_plays_its_frames_back_and_forth():
    still = smooth_cutout()
    two = replace(
        still,
        rgb=np.concatenate([still.rgb, 255 - still.rgb]),
        mask=np.concatenate([still.mask] * 2),
        others=np.concatenate([still.others] * 2),
    )
    figure = CutoutFigure(1, two, RigidMotion(origin=(40.0, 50.0)), height=32)
    assert [figure.frame_index(t) for t in range(5)] == [0, 1, 0, 1, 0]
    camera = Camera(64, 80)
    assert not np.allclose(figure.render(0, camera).premultiplied, figure.render(1, camera).premultiplied)
    np.testing.assert_allclose(figure.render(0, camera).premultiplied, figure.render(2, camera).premultiplied)


def write_clip(folder, masks: list[np.ndarray]) -> CutoutSource:
    """A frame folder and 0/255 masks of a made-up clip (frames are noise; only masks matter here)."""
    frames, annotations = folder / "frames", folder / "masks"
    frames.mkdir(parents=True)
    annotations.mkdir()
    rng = np.random.default_rng(0)
    for t, mask in enumerate(masks):
        cv2.imwrite(str(frames / f"{t:05d}.png"), rng.integers(0, 256, mask.shape + (3,), dtype=np.uint8))
        Image.fromarray(mask.astype(np.uint8)).save(annotations / f"{t:05d}.png")
    return CutoutSource(frames, annotations, None, "made_up")


def person_mask(y0: int, y1: int, x0: int, x1: int, shape=(64, 64), value: int = 255) -> np.ndarray:
    mask = np.zeros(shape, np.uint8)
    mask[y0:y1, x0:x1] = value
    return mask


def test_loader_skips_tiny_and_border_cut_people_and_crops_with_a_margin(tmp_path):
    source = write_clip(
        tmp_path / "clip",
        [
            person_mask(10, 50, 20, 36),  # usable
            person_mask(10, 20, 20, 36),  # 10 px tall
            person_mask(0, 40, 20, 36),  # cut by the top border
            person_mask(20, 64, 20, 36),  # cut by the bottom border
            person_mask(12, 52, 24, 40),  # usable
        ],
    )
    bank = load_cutout_bank([source], every=1, min_height=24)
    assert [c.frame for c in bank] == [0, 4]
    first = bank[0]
    assert first.box == (6, 54, 16, 40)  # margin max(4, 5% of 40 px)
    assert first.rgb.shape == (1, 48, 24, 3) and first.mask.shape == (1, 48, 24)
    frame = cv2.cvtColor(cv2.imread(str(source.frames / "00000.png")), cv2.COLOR_BGR2RGB)
    np.testing.assert_array_equal(first.rgb[0], frame[6:54, 16:40])
    assert first.mask[0].sum() == 40 * 16 and first.mask[0, 4:44, 4:20].all()
    assert first.anchor == (11.5, 43.5) and first.height == 40  # bottom centre of the person in the crop
    assert [c.frame for c in load_cutout_bank([source], every=2, min_height=24)] == [0]
    assert load_cutout_bank([source], every=1, min_height=24)[0] is first  # read once per process

    with pytest.raises(ValueError, match="no usable cut-out of made_up"):
        load_cutout_bank([source], min_height=60)


def test_loader_leaves_out_people_bordering_another_instance(tmp_path):
    ids = person_mask(10, 50, 10, 26, value=1) + person_mask(10, 50, 40, 56, value=2)
    touching = person_mask(10, 50, 10, 26, value=1) + person_mask(10, 50, 26, 42, value=2)
    source = write_clip(tmp_path / "clip", [ids, touching])
    source = CutoutSource(source.frames, source.masks, ((1,), (2,)), "two")
    bank = load_cutout_bank([source], every=1, min_height=24)
    assert [(c.subject, c.frame) for c in bank] == [("two:1", 0), ("two:2", 0)]
    # 40 of the 116 pixels around each person border the other one: with that allowed, both frames are used.
    assert len(load_cutout_bank([source], every=1, min_height=24, max_contact=0.35)) == 4
    assert len(load_cutout_bank([source], every=1, min_height=24, max_contact=0.34)) == 2


@pytest.mark.parametrize(
    "spec",
    [
        "hike",
        "davis:/data",
        "davis:/data:",
        "davis:/data:hike,,tennis",
        "instances:/v.mp4:/masks",
        "instances:/v.mp4:/masks:1+two",
        "instances:/v.mp4:/masks:1,1+2",
        "instances:/v.mp4:/masks:0",
        "youtube:/data:hike",
        "coco:",
    ],
)
def test_bad_spec_is_named(spec):
    with pytest.raises(ValueError, match="^" + re.escape(f"cutouts: bad spec '{spec}'")):
        parse_cutout_spec(spec)


def test_specs():
    hike, tennis = parse_cutout_spec("davis:/data/davis:hike,tennis")
    assert hike.frames.as_posix() == "/data/davis/JPEGImages/480p/hike"
    assert hike.masks.as_posix() == "/data/davis/Annotations/480p/hike"
    assert (hike.groups, hike.name, tennis.name) == (None, "hike", "tennis")
    (girls,) = parse_cutout_spec("instances:/d/schoolgirls.mp4:/d/masks:1,2+3,4+5")
    assert girls.groups == ((1,), (2, 3), (4, 5)) and girls.name == "schoolgirls"
    assert girls.frames.as_posix() == "/d/schoolgirls.mp4" and girls.masks.as_posix() == "/d/masks"
    assert girls.describe() == {
        "clip": "schoolgirls",
        "frames": "/d/schoolgirls.mp4",
        "masks": "/d/masks",
        "groups": [[1], [2, 3], [4, 5]],
    }
    (coco,) = parse_cutout_spec("coco:/d/coco_people")
    assert coco == CocoSource(Path("/d/coco_people"), "coco_people")
    assert coco.describe() == {
        "clip": "coco_people",
        "images": "/d/coco_people/images",
        "annotations": "/d/coco_people/annotations/instances.json",
        "category": 1,
    }


def davis_spec(shared_data, sequences: str = "hike") -> str:
    return f"davis:{shared_data / 'davis_people'}:{sequences}"


def schoolgirls_spec(shared_data, groups: str = "1,2+3,4+5,6+7") -> str:
    folder = shared_data / "davis_schoolgirls"
    return f"instances:{folder / 'schoolgirls.mp4'}:{folder / 'masks'}:{groups}"


def test_missing_sequence_folder_and_instance_id_are_named(shared_data):
    with pytest.raises(ValueError, match="davis_people/Annotations/480p/no-such-seq: mask folder not found"):
        load_cutout_bank(parse_cutout_spec(davis_spec(shared_data, "no-such-seq")))
    with pytest.raises(ValueError, match=r"davis_schoolgirls/masks: instance ids \[8\] never appear"):
        load_cutout_bank(parse_cutout_spec(schoolgirls_spec(shared_data, "1,7+8")))


def test_davis_cutouts_are_the_annotated_pixels(shared_data):
    (source,) = parse_cutout_spec(davis_spec(shared_data))
    bank = load_cutout_bank([source], every=EVERY)
    assert [c.frame for c in bank] == [0, 20, 40, 60]  # hike: the walker is whole in every frame
    for cutout in bank:
        y0, y1, x0, x1 = cutout.box
        frame = cv2.imread(str(source.frames / f"{cutout.frame:05d}.jpg"))[y0:y1, x0:x1, ::-1]
        np.testing.assert_array_equal(cutout.rgb[0], frame)
        annotation = cv2.imread(str(source.masks / f"{cutout.frame:05d}.png"), cv2.IMREAD_GRAYSCALE)
        np.testing.assert_array_equal(cutout.mask[0], annotation[y0:y1, x0:x1] > 0)
        assert annotation[y0:y1, x0:x1].sum() == annotation.sum()  # the whole person is in the crop
        rows = np.flatnonzero(cutout.mask[0].any(1))
        assert cutout.height == rows[-1] - rows[0] + 1 and cutout.anchor[1] == rows[-1] + 0.5


def test_real_cutout_flow_is_exact(shared_data):
    bank = load_cutout_bank(parse_cutout_spec(davis_spec(shared_data)), every=EVERY)
    camera = Camera(96, 128, pan_velocity=(1.0, 0.3), zoom_rate=0.005)
    motion = RigidMotion(
        origin=(60.0, 90.0), velocity=(1.7, -0.3), angle=0.04, wobble=0.03, sway_frequency=0.3
    )
    figure = CutoutFigure(1, bank[1], motion, height=70, flip=True)
    scene = Scene(camera, flat_background(camera), [figure])
    previous, current = scene.render(1), scene.render(2)
    before = warp(previous.surface_ids.astype(np.float32), current.flow, cv2.INTER_NEAREST)
    person = erode((before == 65) & (current.surface_ids == 65), 2)
    assert person.sum() > 300

    def error(flow):
        return np.abs(warp(previous.image, flow) - current.image).mean(-1)[person].mean()

    # A real photo shown at its own resolution loses a little to bilinear re-sampling; any other flow,
    # even half a pixel off, does worse.
    assert error(current.flow) < 4.0 / 255
    for shift in ([0.5, 0.0], [0.0, 0.5], [-0.5, 0.0]):
        assert error(current.flow + np.array(shift, np.float32)[:, None, None]) > 1.5 * error(current.flow)


def test_schoolgirls_cutouts_carry_their_backpacks(shared_data):
    (source,) = parse_cutout_spec(schoolgirls_spec(shared_data))
    # The pairing is 2+3, 4+5, 6+7 (not 1+2, ...): backpack 2k touches girl 2k+1 far more than girl 2k-1.
    touching = np.zeros((8, 8), np.int64)
    for t in range(0, 80, 10):
        ids = np.array(Image.open(source.masks / f"{t:05d}.png"))
        for backpack in (2, 4, 6):
            around = cv2.dilate((ids == backpack).astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
            touching[backpack] += np.bincount(ids[around], minlength=8)
    for backpack in (2, 4, 6):
        assert touching[backpack, backpack + 1] > 5 * touching[backpack, backpack - 1]

    bank = load_cutout_bank([source], every=EVERY)
    subjects = [c.subject for c in bank]
    assert set(subjects) == {"schoolgirls:1", "schoolgirls:2+3", "schoolgirls:4+5", "schoolgirls:6+7"}
    assert subjects == sorted(subjects)  # source order, then group order, then frames
    with_backpack = 0
    for cutout in bank:
        group = [int(i) for i in cutout.subject.split(":")[1].split("+")]
        y0, y1, x0, x1 = cutout.box
        ids = np.array(Image.open(source.masks / f"{cutout.frame:05d}.png"))[y0:y1, x0:x1]
        np.testing.assert_array_equal(cutout.mask[0], np.isin(ids, group))
        if len(group) == 2:
            backpack = ids == group[0]
            assert cutout.mask[0][backpack].all()
            with_backpack += backpack.sum() > 100
        else:
            assert not cutout.mask[0][ids == 2].any()
    assert with_backpack >= 3


def test_other_people_never_show_in_the_soft_edge():
    """The blur that softens the edge spreads the person over a neighbour's pixels unless they are kept out."""
    still = smooth_cutout(80, 48)
    others = np.zeros_like(still.others)
    others[0, :, 30:] = ~still.mask[0, :, 30:]  # someone right of the person, touching it
    motion = RigidMotion(origin=(0.0, 0.0))
    # Shown at its own size, a sheet pixel is a crop pixel plus the padding.
    kept = CutoutFigure(1, replace(still, others=others), motion, still.height, feather=2.2)
    free = CutoutFigure(1, still, motion, still.height, feather=2.2)
    pad = (kept.alpha[0].shape[0] - 80) // 2
    alpha_kept, alpha_free = (figure.alpha[0][pad : pad + 80, pad : pad + 48] for figure in (kept, free))
    neighbour = others[0]
    assert (alpha_free[neighbour] > 0.01).sum() > 20
    assert (alpha_kept[neighbour] == 0).all()
    np.testing.assert_array_equal(alpha_kept[~neighbour], alpha_free[~neighbour])
    assert (kept.premultiplied[0][pad : pad + 80, pad : pad + 48][neighbour] == 0).all()


def coco_spec(shared_data) -> str:
    return f"coco:{shared_data / 'coco_people'}"


def write_coco(root: Path, height: int, width: int, annotations: list[dict]) -> CocoSource:
    """A one-photo COCO folder (the photo is noise) with rectangles ``(x0, y0, x1, y1)`` as polygons."""
    (root / "images").mkdir(parents=True)
    (root / "annotations").mkdir()
    photo = np.random.default_rng(0).integers(0, 256, (height, width, 3), dtype=np.uint8)
    cv2.imwrite(str(root / "images" / "photo.jpg"), photo)
    for number, annotation in enumerate(annotations, start=1):
        x0, y0, x1, y1 = annotation.pop("rect")
        annotation.update(
            id=number,
            image_id=7,
            segmentation=[[x0, y0, x1, y0, x1, y1, x0, y1]],
            area=0.0,
            bbox=[0, 0, 0, 0],
        )
    categories = [{"id": 1, "name": "person"}, {"id": 2, "name": "bicycle"}]
    images = [{"id": 7, "file_name": "photo.jpg", "height": height, "width": width}]
    content = {"images": images, "annotations": annotations, "categories": categories}
    (root / "annotations" / "instances.json").write_text(json.dumps(content))
    return CocoSource(root, root.name)


def test_coco_loader_skips_crowds_small_and_truncated_people_and_masks_out_others(tmp_path):
    person = dict(category_id=1, iscrowd=0)
    source = write_coco(
        tmp_path / "photos",
        100,
        120,
        [
            {
                **person,
                "rect": (10, 20, 30, 80),
            },  # 1: usable, a bicycle on its left, a crowd's corner on its right
            {**person, "rect": (50, 10, 60, 30)},  # 2: 20 px tall
            {**person, "rect": (70, 40, 85, 99.9)},  # 3: cut by the bottom border
            {**person, "iscrowd": 1, "rect": (28, 70, 45, 78)},  # 4: a crowd region
            {"category_id": 2, "iscrowd": 0, "rect": (1, 20, 10, 80)},  # 5: an object does not cut anyone
            {**person, "rect": (90, 10, 110, 60)},  # 6: bordered by a person over much of its outline
            {**person, "rect": (110, 10, 118, 60)},  # 7: the person bordering it
        ],
    )
    bank = load_cutout_bank([source], min_height=24)
    assert [(c.subject, c.frame) for c in bank] == [("photos:1", 7)]
    (first,) = bank
    coco = json.loads(source.annotations.read_text())
    crowd = (
        coco_mask.decode(coco_mask.frPyObjects(coco["annotations"][3]["segmentation"], 100, 120)).max(-1) > 0
    )
    y0, y1, x0, x1 = first.box
    assert first.others[0].any()
    np.testing.assert_array_equal(first.others[0], crowd[y0:y1, x0:x1] & ~first.mask[0])
    # Looser rules let the small, the truncated and the touching people in; a crowd never is one.
    loose = load_cutout_bank([source], min_height=1, max_border=1.0, max_contact=1.0)
    assert [c.subject for c in loose] == ["photos:1", "photos:2", "photos:3", "photos:6", "photos:7"]
    assert [c.subject for c in load_cutout_bank([source], min_height=24, max_border=0.2)] == [
        "photos:1",
        "photos:3",
    ]
    with pytest.raises(ValueError, match="instances.json: no usable person"):
        load_cutout_bank([source], min_height=90)
    with pytest.raises(ValueError, match=r"nowhere/annotations/instances.json: not found"):
        load_cutout_bank([CocoSource(tmp_path / "nowhere", "nowhere")])


def usable_coco_people(root: Path, min_height: int, max_contact: float, max_border: float) -> list[tuple]:
    """``(image id, annotation id)`` of the usable people, straight from the JSON: an independent count."""
    content = json.loads((root / "annotations" / "instances.json").read_text())
    images = {image["id"]: image for image in content["images"]}
    people: dict[int, list[dict]] = {}
    for annotation in content["annotations"]:
        if annotation["category_id"] == 1:
            people.setdefault(annotation["image_id"], []).append(annotation)
    usable = []
    for image_id, found in sorted(people.items()):
        h, w = images[image_id]["height"], images[image_id]["width"]
        masks = {
            a["id"]: np.pad(coco_mask.decode(coco_mask.frPyObjects(a["segmentation"], h, w)).max(-1) > 0, 1)
            for a in found
        }
        ring = np.pad(np.zeros((h, w), bool), 1, constant_values=True)
        for a in sorted(found, key=lambda a: a["id"]):
            mask = masks[a["id"]]
            others = np.logical_or.reduce(
                [m for i, m in masks.items() if i != a["id"]] + [np.zeros_like(mask)]
            )
            outline = ndimage.binary_dilation(mask, np.ones((3, 3), bool)) & ~mask
            rows = np.flatnonzero(mask.any(1))
            if (
                not a["iscrowd"]
                and rows[-1] - rows[0] + 1 >= min_height
                and ring[outline].mean() <= max_border
                and others[outline].mean() <= max_contact
            ):
                usable.append((image_id, a["id"]))
    return usable


@pytest.mark.parametrize("limits", [(48, 0.1, 0.0), (64, 0.25, 0.05)])
def test_coco_people_are_the_usable_ones_of_the_json(shared_data, limits):
    (source,) = parse_cutout_spec(coco_spec(shared_data))
    bank = load_cutout_bank([source], min_height=limits[0], max_contact=limits[1], max_border=limits[2])
    expected = usable_coco_people(source.root, *limits)
    assert [(c.frame, int(c.subject.split(":")[1])) for c in bank] == expected
    if limits == (48, 0.1, 0.0):  # the defaults: 79 of the 254 people, from 42 of the 61 photos with people
        assert load_cutout_bank([source]) == bank and len(bank) == 79
        assert len({c.frame for c in bank}) == 42


def test_coco_cutouts_are_the_annotated_pixels(shared_data):
    (source,) = parse_cutout_spec(coco_spec(shared_data))
    coco = COCO(str(source.annotations))
    bank = load_cutout_bank([source])
    assert {c.source for c in bank} == {"coco_people"}
    for cutout in bank:
        annotation = coco.anns[int(cutout.subject.split(":")[1])]
        assert annotation["image_id"] == cutout.frame and annotation["category_id"] == 1
        assert not annotation["iscrowd"]
        y0, y1, x0, x1 = cutout.box
        mask = coco.annToMask(annotation).astype(bool)
        np.testing.assert_array_equal(cutout.mask[0], mask[y0:y1, x0:x1])
        assert mask[y0:y1, x0:x1].sum() == mask.sum()  # the whole person is in the crop
        others = [coco.annToMask(a) for a in coco.loadAnns(coco.getAnnIds(imgIds=[cutout.frame], catIds=[1]))]
        everyone = np.logical_or.reduce(others).astype(bool)
        np.testing.assert_array_equal(cutout.others[0], (everyone & ~mask)[y0:y1, x0:x1])
        photo = cv2.imread(str(source.images / coco.imgs[cutout.frame]["file_name"]))
        np.testing.assert_array_equal(cutout.rgb[0], photo[y0:y1, x0:x1, ::-1])
        rows = np.flatnonzero(cutout.mask[0].any(1))
        assert cutout.height == rows[-1] - rows[0] + 1 and cutout.anchor[1] == rows[-1] + 0.5
    assert sum(c.others.any() for c in bank) > 20  # people stand in groups: their neighbours are kept out


def test_scenes_mix_cutouts_and_procedural_people_at_a_real_scale(shared_data):
    bank = load_cutout_bank(parse_cutout_spec(davis_spec(shared_data)), every=EVERY)
    kinds = []
    for index in range(12):
        scene = random_scene(0, index, 96, 128, 9, cutouts=bank, cutout_probability=0.6)
        for figure in scene.figures:
            kinds.append(type(figure).__name__)
            if isinstance(figure, CutoutFigure):
                # Half-way through the video the person is 30% to 80% of the frame height (+-5%).
                middle = figure.height * np.exp(figure.motion.growth * 4)
                assert 0.28 * 96 <= middle <= 0.84 * 96
                assert figure.cutout in bank
        frame = scene.render(4)
        assert frame.instance_ids.max() >= 1
    assert {"CutoutFigure", "ArticulatedPerson"} == set(kinds)
    assert 0.3 < kinds.count("CutoutFigure") / len(kinds) < 0.9

    # Without cut-outs a scene is what it was before they existed; with them it is reproducible.
    plain = random_scene(0, 5, 96, 128, 9)
    unused = random_scene(0, 5, 96, 128, 9, cutouts=bank, cutout_probability=0.0)
    np.testing.assert_array_equal(plain.render(2).image, unused.render(2).image)
    again = random_scene(0, 5, 96, 128, 9, cutouts=bank)
    np.testing.assert_array_equal(
        random_scene(0, 5, 96, 128, 9, cutouts=bank).render(2).image, again.render(2).image
    )


TINY = dict(num_train=2, num_val=1, num_frames=4, size=(64, 80), fps=12, seed=0)


def test_sets_with_cutouts_are_deterministic_and_name_their_clips(shared_data, tmp_path):
    cutouts = [davis_spec(shared_data), schoolgirls_spec(shared_data, "6+7")]
    settings = {**TINY, "cutouts": cutouts, "cutout_probability": 1.0, "cutout_every": EVERY}
    meta = generate_dataset(tmp_path / "a", **settings)
    generate_dataset(tmp_path / "b", **settings, workers=2)
    assert files_of(tmp_path / "a") == files_of(tmp_path / "b")
    assert json.loads((tmp_path / "a" / "meta.json").read_text()) == meta
    root = shared_data / "davis_people"
    girls = shared_data / "davis_schoolgirls"
    assert meta["cutouts"] == {
        "clips": ["hike", "schoolgirls"],
        "sources": [
            {
                "clip": "hike",
                "frames": str(root / "JPEGImages" / "480p" / "hike"),
                "masks": str(root / "Annotations" / "480p" / "hike"),
                "groups": None,
            },
            {
                "clip": "schoolgirls",
                "frames": str(girls / "schoolgirls.mp4"),
                "masks": str(girls / "masks"),
                "groups": [[6, 7]],
            },
        ],
        "subjects": {"hike": 4, "schoolgirls:6+7": 4},
        "used": {"hike": [0, 20, 40, 60], "schoolgirls": [0, 20, 40, 78]},
        "weights": {"hike": 1.0, "schoolgirls": 1.0},
        "probability": 1.0,
        "every": EVERY,
        "frames": 1,
        "exact_flow": True,
    }
    # Every person is a real one here: the pasted pixels are the cut-outs' (not procedural colours).
    procedural = generate_dataset(tmp_path / "plain", **TINY)
    assert "cutouts" not in procedural
    frame = "train/JPEGImages/synth_0000/00000.jpg"
    assert (tmp_path / "a" / frame).read_bytes() != (tmp_path / "plain" / frame).read_bytes()


def test_cutout_weights_choose_the_source():
    """A source is drawn by its weight, then a person of it: a source with many people is not favoured."""
    one = replace(smooth_cutout(), source="one", subject="one")
    many = [replace(smooth_cutout(), source="many", subject=f"many:{i}") for i in range(9)]
    bank = [one, *many]

    def share_of_one(weights) -> float:
        rng = np.random.default_rng(0)
        picks = [random_cutout_figure(rng, bank, 1, 0.5, 64, 64, 4, weights).cutout for _ in range(400)]
        return sum(pick is one for pick in picks) / len(picks)

    assert 0.42 < share_of_one(None) < 0.58
    assert 0.69 < share_of_one({"one": 3.0}) < 0.81
    assert 0.2 < share_of_one({"many": 3.0}) < 0.31


def test_coco_people_over_a_video_background_have_exact_flow(shared_data):
    """frame_t(x) == frame_{t-1}(x + flow(x)) on every pasted person, whatever moves behind them."""
    bank = load_cutout_bank(parse_cutout_spec(coco_spec(shared_data)))
    tree = list_backgrounds(shared_data / "backgrounds" / "tree.avi")
    people = 0
    for index in range(4):
        scene = random_scene(0, index, 96, 128, 3, tree, cutouts=bank, cutout_probability=1.0)
        assert all(isinstance(figure, CutoutFigure) for figure in scene.figures)
        previous, current = scene.render(1), scene.render(2)
        before = warp(previous.surface_ids.astype(np.float32), current.flow, cv2.INTER_NEAREST)
        same = erode((before == current.surface_ids) & inside_after_flow(current.flow), 2)
        person = same & (current.surface_ids > 0)
        error = np.abs(warp(previous.image, current.flow) - current.image).mean(-1)[person].mean()
        if person.sum() > 100:
            people += 1
            assert error < 4.0 / 255  # bilinear re-sampling of a real photo, as for DAVIS
            assert np.abs(previous.image - current.image).mean(-1)[person].mean() > 2.5 * error
    assert people >= 3


VIDEO_SET = dict(num_train=2, num_val=0, num_frames=4, size=(64, 64), fps=12, seed=0, cutout_probability=1.0)


def test_sets_of_coco_people_over_a_video_background(shared_data, tmp_path):
    tree = shared_data / "backgrounds" / "tree.avi"
    settings = {**VIDEO_SET, "cutouts": [coco_spec(shared_data)], "backgrounds": [tree]}
    meta = generate_dataset(tmp_path / "a", **settings)
    generate_dataset(tmp_path / "b", **settings, workers=2)
    assert files_of(tmp_path / "a") == files_of(tmp_path / "b")
    generate_dataset(tmp_path / "seed1", **{**settings, "seed": 1})
    frame = "train/JPEGImages/synth_0000/00000.jpg"
    assert (tmp_path / "seed1" / frame).read_bytes() != (tmp_path / "a" / frame).read_bytes()

    source = shared_data / "coco_people"
    usable = usable_coco_people(source, 48, 0.1, 0.0)
    assert meta["cutouts"]["clips"] == ["coco_people"]
    assert meta["cutouts"]["used"] == {"coco_people": sorted({image for image, _ in usable})}
    assert list(meta["cutouts"]["subjects"]) == [f"coco_people:{annotation}" for _, annotation in usable]
    assert meta["backgrounds"] == {
        "files": [str(tree)],
        "exclude": ["0002.png", "tree.avi@53"],
        "per_video": {"synth_0000": str(tree), "synth_0001": str(tree)},
        "camera_only_flow": ["synth_0000", "synth_0001"],
    }
    root = tmp_path / "a" / "train"
    for video in meta["splits"]["train"]:
        for t in range(4):
            alpha = cv2.imread(str(root / "alpha" / video / f"{t:05d}.png"), cv2.IMREAD_UNCHANGED)
            ids = np.array(Image.open(root / "Annotations" / video / f"{t:05d}.png"))
            assert (alpha >= 128).sum() > 50 and (alpha[ids > 0] >= 127).all()
    # On the pasted people the written flow holds; the tree behind them moves by itself (not checked here).
    following, ignoring = written_flow_errors(root, meta["splits"]["train"], 4, people_only=True)
    assert len(following) > 200
    assert following.mean() < 5.0  # grey levels: JPEG noise and re-sampling of a real photo at 64x64
    assert ignoring.mean() > 1.8 * following.mean()


@pytest.fixture(scope="module")
def make_synthetic_main(repo_root):
    return runpy.run_path(str(repo_root / "tools" / "make_synthetic.py"), run_name="make_synthetic")["main"]


def test_cli_writes_cutout_sets(make_synthetic_main, shared_data, tmp_path):
    out = tmp_path / "cli"
    arguments = [
        "--out",
        str(out),
        "--num-train",
        "1",
        "--num-val",
        "0",
        "--frames",
        "2",
        "--size",
        "48",
        "64",
    ]
    backgrounds = [str(shared_data / "backgrounds" / name) for name in ("tree.avi", "plate_0001.png")]
    make_synthetic_main(
        arguments + ["--workers", "1", "--cutouts", davis_spec(shared_data), coco_spec(shared_data)]
        + ["--cutout-every", str(EVERY), "--cutout-probability", "1", "--cutout-frames", "2"]
        + ["--cutout-weights", "coco_people=3", "--backgrounds", *backgrounds]
    )  # fmt: skip
    meta = json.loads((out / "meta.json").read_text())
    assert meta["cutouts"]["clips"] == ["coco_people", "hike"] and meta["cutouts"]["probability"] == 1.0
    assert meta["cutouts"]["frames"] == 2 and meta["cutouts"]["exact_flow"] is False
    assert meta["cutouts"]["weights"] == {"hike": 1.0, "coco_people": 3.0}
    assert meta["backgrounds"]["files"] == backgrounds

    with pytest.raises(SystemExit, match=r"error: cutout_weights: \['girls'\] name no cut-out source"):
        make_synthetic_main(arguments + ["--cutouts", davis_spec(shared_data), "--cutout-weights", "girls=2"])
    with pytest.raises(SystemExit, match="error: cutout_weights: every weight must be > 0"):
        make_synthetic_main(arguments + ["--cutouts", davis_spec(shared_data), "--cutout-weights", "hike=0"])

    bad = davis_spec(shared_data, "hike,no-such-seq")
    with pytest.raises(SystemExit) as error:
        make_synthetic_main(["--out", str(tmp_path / "bad"), "--cutouts", bad])
    assert str(error.value).startswith("make_synthetic: error: ")
    assert "Annotations/480p/no-such-seq: mask folder not found" in str(error.value)
    with pytest.raises(SystemExit, match="make_synthetic: error: cutouts: bad spec 'hike'"):
        make_synthetic_main(["--out", str(tmp_path / "bad"), "--cutouts", "hike"])
    assert not (tmp_path / "bad" / "meta.json").exists()
