"""Real people cut-outs in the synthetic generator: exact flow, soft alpha, bank loading, scenes, CLI."""

from __future__ import annotations

import json
import re
import runpy

import cv2
import numpy as np
import pytest
from PIL import Image

from steadyseg.synthetic import (
    Background,
    Camera,
    Cutout,
    CutoutFigure,
    CutoutSource,
    RigidMotion,
    Scene,
    generate_dataset,
    load_cutout_bank,
    parse_cutout_spec,
    random_scene,
)
from steadyseg.synthetic import geometry as geo
from tests.tools.test_make_synthetic import erode, files_of, inside_after_flow, warp

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
        box=(0, height, 0, width),
        anchor=(cx, rows[-1] + 0.5),
        height=float(rows[-1] - rows[0] + 1),
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
    rgb, mask = np.concatenate([still.rgb, 255 - still.rgb]), np.concatenate([still.mask] * 2)
    two = Cutout(rgb, mask, still.box, still.anchor, still.height, still.subject, still.frame)
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
    make_synthetic_main(
        arguments + ["--workers", "1", "--cutouts", davis_spec(shared_data), "--cutout-every", str(EVERY)]
        + ["--cutout-probability", "1", "--cutout-frames", "2"]
    )  # fmt: skip
    meta = json.loads((out / "meta.json").read_text())
    assert meta["cutouts"]["clips"] == ["hike"] and meta["cutouts"]["probability"] == 1.0
    assert meta["cutouts"]["frames"] == 2 and meta["cutouts"]["exact_flow"] is False

    bad = davis_spec(shared_data, "hike,no-such-seq")
    with pytest.raises(SystemExit) as error:
        make_synthetic_main(["--out", str(tmp_path / "bad"), "--cutouts", bad])
    assert str(error.value).startswith("make_synthetic: error: ")
    assert "Annotations/480p/no-such-seq: mask folder not found" in str(error.value)
    with pytest.raises(SystemExit, match="make_synthetic: error: cutouts: bad spec 'hike'"):
        make_synthetic_main(["--out", str(tmp_path / "bad"), "--cutouts", "hike"])
    assert not (tmp_path / "bad" / "meta.json").exists()
