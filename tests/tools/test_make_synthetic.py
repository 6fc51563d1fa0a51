"""The synthetic people-video generator: determinism, layout, exact flow, alpha, backgrounds, CLI."""

from __future__ import annotations

import json
import runpy
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from steadyseg.rle import decode_rle
from steadyseg.synthetic import (
    GENERATOR,
    Background,
    BackgroundFile,
    generate_dataset,
    list_backgrounds,
    random_scene,
)
from steadyseg.synthetic import geometry as geo
from steadyseg.synthetic.backgrounds import load_video
from steadyseg.synthetic.playback import back_and_forth

HEIGHT, WIDTH, FRAMES = 64, 80, 5
TINY = dict(num_train=2, num_val=1, num_frames=FRAMES, size=(HEIGHT, WIDTH), fps=12, seed=0)


def files_of(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def read_rgb(path: Path) -> np.ndarray:
    return cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)


def warp(image: np.ndarray, flow: np.ndarray, interpolation=cv2.INTER_LINEAR) -> np.ndarray:
    """Samples ``image`` (frame t-1) at x + flow(x): frame t as predicted by the backward flow."""
    ys, xs = np.mgrid[0 : flow.shape[1], 0 : flow.shape[2]].astype(np.float32)
    return cv2.remap(image, xs + flow[0], ys + flow[1], interpolation, borderMode=cv2.BORDER_REPLICATE)


def inside_after_flow(flow: np.ndarray, margin: int = 2) -> np.ndarray:
    height, width = flow.shape[1:]
    ys, xs = np.mgrid[0:height, 0:width]
    x, y = xs + flow[0], ys + flow[1]
    return (x >= margin) & (x <= width - 1 - margin) & (y >= margin) & (y <= height - 1 - margin)


def erode(mask: np.ndarray, radius: int) -> np.ndarray:
    kernel = np.ones((2 * radius + 1, 2 * radius + 1), np.uint8)
    return cv2.erode(mask.astype(np.uint8), kernel, borderValue=0).astype(bool)


@pytest.fixture(scope="module")
def tiny_set(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("synthetic") / "set"
    generate_dataset(out, **TINY)
    return out


def test_same_seed_gives_identical_bytes_whatever_the_workers_and_other_seeds_differ(tiny_set, tmp_path):
    generate_dataset(tmp_path / "again", **TINY, workers=2)
    assert files_of(tmp_path / "again") == files_of(tiny_set)

    generate_dataset(tmp_path / "seed1", **{**TINY, "seed": 1})
    first = "train/JPEGImages/synth_0000/00000.jpg"
    assert (tmp_path / "seed1" / first).read_bytes() != (tiny_set / first).read_bytes()

    # A video depends only on (seed, index), not on how many videos the set has.
    generate_dataset(tmp_path / "one", **{**TINY, "num_train": 1, "num_val": 0})
    one, full = files_of(tmp_path / "one" / "train"), files_of(tiny_set / "train")
    videos = [name for name in one if "synth_0000" in name]
    assert len(videos) == 4 * FRAMES + FRAMES - 1
    assert all(one[name] == full[name] for name in videos)


def test_layout_and_meta(tiny_set):
    meta = json.loads((tiny_set / "meta.json").read_text())
    assert meta == {
        "seed": 0,
        "size": [HEIGHT, WIDTH],
        "fps": 12,
        "num_frames": FRAMES,
        "splits": {"train": ["synth_0000", "synth_0001"], "val": ["synth_0002"]},
        "classes": ["background", "person"],
        "format": "frames",
        "generator": GENERATOR,
    }
    for split, videos in meta["splits"].items():
        for video in videos:
            for t in range(FRAMES):
                name = f"{t:05d}"
                assert read_rgb(tiny_set / split / "JPEGImages" / video / f"{name}.jpg").shape == (
                    HEIGHT,
                    WIDTH,
                    3,
                )
                assert read_rgb(tiny_set / split / "fgr" / video / f"{name}.jpg").shape == (HEIGHT, WIDTH, 3)
                annotation = Image.open(tiny_set / split / "Annotations" / video / f"{name}.png")
                assert annotation.mode == "P" and annotation.size == (WIDTH, HEIGHT)
                assert annotation.getpalette()[:6] == [0, 0, 0, 128, 0, 0]  # DAVIS colours of ids 0 and 1
                alpha = cv2.imread(
                    str(tiny_set / split / "alpha" / video / f"{name}.png"), cv2.IMREAD_UNCHANGED
                )
                assert alpha.shape == (HEIGHT, WIDTH) and alpha.dtype == np.uint8
                flow_path = tiny_set / split / "flow" / video / f"{name}.npy"
                if t == 0:
                    assert not flow_path.exists()
                else:
                    flow = np.load(flow_path)
                    assert flow.shape == (2, HEIGHT, WIDTH) and flow.dtype == np.float32
    assert not any(tiny_set.rglob(".*partial"))


def test_instances_json_matches_the_instance_maps(tiny_set):
    for split, expected_videos in (("train", ["synth_0000", "synth_0001"]), ("val", ["synth_0002"])):
        instances = json.loads((tiny_set / split / "instances.json").read_text())
        assert instances["categories"] == [{"id": 1, "name": "person", "supercategory": "person"}]
        videos = {v["id"]: v for v in instances["videos"]}
        assert [v["file_names"][0].split("/")[0] for v in videos.values()] == expected_videos
        found = {}
        for annotation in instances["annotations"]:
            video = videos[annotation["video_id"]]
            assert (video["height"], video["width"], video["length"]) == (HEIGHT, WIDTH, FRAMES)
            assert annotation["category_id"] == 1 and annotation["iscrowd"] == 0
            assert (
                len(annotation["segmentations"])
                == len(annotation["areas"])
                == len(annotation["bboxes"])
                == FRAMES
            )
            for t, file_name in enumerate(video["file_names"]):
                ids = np.array(
                    Image.open(tiny_set / split / "Annotations" / file_name.replace(".jpg", ".png"))
                )
                present = np.unique(ids[ids > 0])
                # The track id is the instance id this annotation's masks have in the Annotations PNGs.
                rle = annotation["segmentations"][t]
                if rle is None:
                    assert annotation["areas"][t] is None and annotation["bboxes"][t] is None
                    continue
                mask = decode_rle(rle)
                track = int(np.unique(ids[mask])[0])
                assert track in present
                np.testing.assert_array_equal(mask, ids == track)
                assert annotation["areas"][t] == mask.sum()
                x, y, w, h = annotation["bboxes"][t]
                ys, xs = np.nonzero(mask)
                assert (x, y, x + w - 1, y + h - 1) == (xs.min(), ys.min(), xs.max(), ys.max())
                found.setdefault((annotation["video_id"], t), set()).add(track)
        # Every instance in every map has its annotation.
        for number, video in videos.items():
            for t, file_name in enumerate(video["file_names"]):
                ids = np.array(
                    Image.open(tiny_set / split / "Annotations" / file_name.replace(".jpg", ".png"))
                )
                assert set(np.unique(ids[ids > 0]).tolist()) == found.get((number, t), set())


def test_backward_flow_of_hand_computed_motions():
    box = (0, 2, 0, 3)
    # Moved by (+3, -2) since the previous frame: each pixel was at x - (3, -2).
    flow = geo.backward_flow(geo.translate(3, -2), geo.translate(0, 0), box)
    np.testing.assert_allclose(flow[0], -3.0)
    np.testing.assert_allclose(flow[1], 2.0)
    # Turned by 90 degrees about the origin: pixel (x, y) was at (y, -x).
    flow = geo.backward_flow(geo.rotate(np.pi / 2), np.eye(3), box)
    ys, xs = np.mgrid[0:2, 0:3]
    np.testing.assert_allclose(flow[0], ys - xs, atol=1e-5)
    np.testing.assert_allclose(flow[1], -xs - ys, atol=1e-5)


@pytest.mark.parametrize("index", [0, 1, 2, 3])
def test_flow_is_exact_on_the_float_render(index):
    """frame_t(x) == frame_{t-1}(x + flow(x)) wherever the same surface is seen at both places."""
    scene = random_scene(seed=0, index=index, height=96, width=128, num_frames=3)
    previous, current = scene.render(1), scene.render(2)
    before = warp(previous.surface_ids.astype(np.float32), current.flow, cv2.INTER_NEAREST)
    same = erode((before == current.surface_ids) & inside_after_flow(current.flow), 2)
    assert same.mean() > 0.4
    error = np.abs(warp(previous.image, current.flow) - current.image).mean(-1)
    static_error = np.abs(previous.image - current.image).mean(-1)
    # Bilinear re-sampling of the textures is the only error left: well below one grey level on average.
    assert error[same].mean() < 1.2 / 255
    # The flow is not trivial: the camera and the people move.
    assert static_error[same].mean() > 3 * error[same].mean()
    background, people = same & (current.surface_ids == 0), same & (current.surface_ids > 0)
    assert np.abs(current.flow[:, people]).max() > 0.5
    if index != 2:  # video 2 of seed 0 has a still camera
        assert np.abs(current.flow[:, background]).max() > 0.5


def written_flow_errors(split_root: Path, videos: list[str], num_frames: int, people_only: bool = False):
    """Grey-level errors of the written frames against the previous ones warped by the written flow, and not
    warped, where a wrong flow would show (``people_only``: on people only)."""
    following, ignoring = [], []
    for video in videos:
        for t in range(1, num_frames):
            flow = np.load(split_root / "flow" / video / f"{t:05d}.npy")
            frame = read_rgb(split_root / "JPEGImages" / video / f"{t:05d}.jpg").astype(np.float32)
            previous = read_rgb(split_root / "JPEGImages" / video / f"{t - 1:05d}.jpg").astype(np.float32)
            ids = np.array(Image.open(split_root / "Annotations" / video / f"{t:05d}.png"))
            previous_ids = np.array(Image.open(split_root / "Annotations" / video / f"{t - 1:05d}.png"))
            same_instance = warp(previous_ids, flow, cv2.INTER_NEAREST) == ids
            if people_only:
                same_instance &= ids > 0
            # Motion boundaries (occlusions, one body part over another) are where the flow jumps.
            jump = sum(
                np.abs(cv2.Sobel(channel, cv2.CV_32F, dx, 1 - dx)) for channel in flow for dx in (0, 1)
            )
            smooth = ~cv2.dilate((jump > 0.5).astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
            valid = erode(same_instance & smooth & inside_after_flow(flow), 1)
            # Only where the picture has detail does a wrong flow show.
            gray = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
            valid &= np.hypot(cv2.Sobel(gray, cv2.CV_32F, 1, 0), cv2.Sobel(gray, cv2.CV_32F, 0, 1)) > 40
            following.append(np.abs(warp(previous, flow) - frame).mean(-1)[valid])
            ignoring.append(np.abs(previous - frame).mean(-1)[valid])
    return np.concatenate(following), np.concatenate(ignoring)


def test_flow_is_exact_on_the_written_files(tmp_path):
    # Larger than the tiny set so that things move by pixels, not fractions of one, between frames.
    meta = generate_dataset(tmp_path, **{**TINY, "num_val": 0, "num_frames": 4, "size": (128, 160)})
    following, ignoring = written_flow_errors(tmp_path / "train", meta["splits"]["train"], 4)
    error = following.mean()
    assert error < 4.0  # grey levels: JPEG noise and re-sampling of edges
    assert ignoring.mean() > 2.5 * error


def test_alpha_is_soft_and_consistent_with_instances_and_foreground():
    scene = random_scene(seed=0, index=1, height=96, width=128, num_frames=2)
    frame = scene.render(1)
    alpha = frame.alpha
    soft = (alpha > 0.02) & (alpha < 0.98)
    assert soft.sum() > 50  # anti-aliased / feathered edges and fuzzy hair
    # Soft pixels lie on person edges, between solid person and background.
    near_solid = cv2.dilate((alpha >= 0.98).astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    assert near_solid[soft].mean() > 0.9
    # Every instance pixel is at least half covered; only overlapping soft edges of two people may pass
    # 0.5 together without either one reaching it.
    assert (alpha[frame.instance_ids > 0] >= 0.5).all()
    unassigned = (alpha >= 0.5) & (frame.instance_ids == 0)
    assert unassigned.sum() <= 0.01 * (alpha >= 0.5).sum()
    composite = alpha[..., None] * frame.fgr + (1 - alpha[..., None]) * frame.background
    np.testing.assert_allclose(composite, frame.image, atol=1e-5)
    assert frame.fgr.min() >= 0 and frame.fgr.max() <= 1


def test_written_alpha_and_foreground_recompose_the_frame(tiny_set):
    root, video, name = tiny_set / "train", "synth_0001", "00003"
    alpha = cv2.imread(str(root / "alpha" / video / f"{name}.png"), cv2.IMREAD_UNCHANGED) / 255.0
    ids = np.array(Image.open(root / "Annotations" / video / f"{name}.png"))
    assert ((alpha > 0) & (alpha < 1)).sum() > 10
    assert (alpha[ids > 0] >= 0.5 - 1 / 255).all()
    frame = read_rgb(root / "JPEGImages" / video / f"{name}.jpg") / 255.0
    fgr = read_rgb(root / "fgr" / video / f"{name}.jpg") / 255.0
    solid = erode(alpha == 1, 1)
    assert np.abs(frame - fgr)[solid].mean() < 3 / 255


def test_mp4_format_is_readable_with_decord_and_deterministic(tmp_path):
    decord = pytest.importorskip("decord")
    settings = {**TINY, "num_train": 1, "num_val": 0, "fmt": "mp4"}
    generate_dataset(tmp_path / "a", **settings)
    generate_dataset(tmp_path / "b", **settings)
    # libx264 does not always give the same bytes for the same frames (seen on the first encode in a process),
    # so the videos are compared decoded; every other file must be identical.
    videos = [tmp_path / run / "train" / "videos" / "synth_0000.mp4" for run in ("a", "b")]
    first, second = (
        {k: v for k, v in files_of(tmp_path / run).items() if not k.endswith(".mp4")} for run in "ab"
    )
    assert first == second
    assert json.loads((tmp_path / "a" / "meta.json").read_text())["format"] == "mp4"
    assert not (tmp_path / "a" / "train" / "JPEGImages").exists()
    decoded = [decord.VideoReader(str(video)) for video in videos]
    assert len(decoded[0]) == len(decoded[1]) == FRAMES
    frames, again = (reader.get_batch(list(range(FRAMES))).asnumpy().astype(np.float32) for reader in decoded)
    assert np.abs(frames - again).mean() < 0.5
    assert frames.shape == (FRAMES, HEIGHT, WIDTH, 3)
    scene = random_scene(0, 0, HEIGHT, WIDTH, FRAMES)
    rendered = np.stack([scene.render(t).image for t in range(FRAMES)]) * 255
    # Compared in luma: yuv420p halves the chroma resolution, which blurs colours of figures this small.
    luma = np.array([0.299, 0.587, 0.114], np.float32)
    assert np.abs((frames - rendered) @ luma).mean() < 3.0
    assert (tmp_path / "a" / "train" / "flow" / "synth_0000" / "00004.npy").exists()


def test_real_backgrounds(shared_data, tmp_path):
    directory = shared_data / "backgrounds"
    # 0002.png has two real people in it, and a hand enters tree.avi at frame 53: left out unless asked for.
    assert list_backgrounds(directory) == [
        BackgroundFile(directory / "0001.png"),
        BackgroundFile(directory / "plate_0001.png"),
        BackgroundFile(directory / "tree.avi", 53),
    ]
    everything = list_backgrounds(directory, exclude=())
    assert [f.path.name for f in everything] == ["0001.png", "0002.png", "plate_0001.png", "tree.avi"]
    assert everything[-1].frames is None
    photo = directory / "0001.png"
    assert list_backgrounds([photo, directory]) == [BackgroundFile(photo), *list_backgrounds(directory)]
    with pytest.raises(ValueError, match="0002.png: background excluded by 0002.png, tree.avi@53"):
        list_backgrounds(directory / "0002.png")
    with pytest.raises(ValueError, match="tree.avi@0: bad background exclusion"):
        list_backgrounds(directory, exclude=("tree.avi@0",))

    images = list_backgrounds([photo, directory / "plate_0001.png"])
    moving = 0
    for index in range(4):
        scene = random_scene(seed=0, index=index, height=96, width=128, num_frames=3, backgrounds=images)
        previous, current = scene.render(1), scene.render(2)
        # Photos have detail that procedural backgrounds lack at this scale.
        assert cv2.Laplacian(current.background, cv2.CV_32F).std() > 0.02
        before = warp(previous.surface_ids.astype(np.float32), current.flow, cv2.INTER_NEAREST)
        background = erode((before == 0) & (current.surface_ids == 0) & inside_after_flow(current.flow), 2)
        if np.abs(current.flow[:, background]).max() < 0.5:
            continue  # a still camera
        moving += 1
        error = np.abs(warp(previous.image, current.flow) - current.image).mean(-1)[background].mean()
        assert error < 4.0 / 255  # bilinear re-sampling of a detailed photo
        assert np.abs(previous.image - current.image).mean(-1)[background].mean() > 2 * error
    assert moving >= 2

    paths = [photo, directory / "plate_0001.png"]
    meta = generate_dataset(tmp_path / "real", **{**TINY, "num_train": 1, "num_val": 0, "backgrounds": paths})
    assert (tmp_path / "real" / "train" / "JPEGImages" / meta["splits"]["train"][0] / "00004.jpg").exists()
    assert meta["backgrounds"] == {
        "files": [str(path) for path in paths],
        "exclude": ["0002.png", "tree.avi@53"],
        "per_video": {"synth_0000": str(random_scene(0, 0, HEIGHT, WIDTH, FRAMES, images).background.source)},
        "camera_only_flow": [],
    }


def test_back_and_forth():
    assert [back_and_forth(t, 3) for t in range(9)] == [0, 1, 2, 1, 0, 1, 2, 1, 0]
    assert [back_and_forth(t, 1) for t in range(3)] == [0, 0, 0]


def test_short_video_background_plays_back_and_forth(tmp_path):
    path = tmp_path / "three.avi"
    colours = np.array([[200, 30, 30], [30, 200, 30], [30, 30, 200]], np.uint8)  # BGR, one per frame
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 15, (64, 48))
    for colour in colours:
        writer.write(np.broadcast_to(colour, (48, 64, 3)).copy())
    writer.release()
    assert len(load_video(str(path))) == 3
    for exclude, count in (((), 3), (("three.*@2",), 2)):
        (background,) = list_backgrounds(path, exclude)
        starts = set()
        for index in range(6):
            scene = random_scene(0, index, 48, 64, 9, backgrounds=[background])
            assert scene.background.moves and scene.background.source == path
            mean_rgb = scene.background.texture.mean(axis=(1, 2)) * 255
            shown = np.abs(mean_rgb[:, None] - colours[None, :, ::-1]).sum(-1).argmin(1).tolist()
            period = 2 * count - 2
            start = next(
                s for s in range(period) if shown == [back_and_forth(s + t, count) for t in range(9)]
            )
            starts.add(start)
        assert len(starts) > 1  # each video starts somewhere else in the background video


def test_video_background_follows_the_camera_but_moves_by_itself(shared_data):
    tree = list_backgrounds(shared_data / "backgrounds" / "tree.avi")
    assert len(load_video(str(tree[0].path))) == 68  # 444 announced; the frames OpenCV decodes are the video
    moving_camera = 0
    for index in range(4):
        scene = random_scene(0, index, 96, 128, 4, backgrounds=tree)
        background = scene.background
        assert background.moves and background.texture.shape[0] == 4
        previous, current = scene.render(1), scene.render(2)
        seen = erode((current.surface_ids == 0) & inside_after_flow(current.flow), 2)
        # Frame 2's picture of the tree, filmed by the camera at frames 1 and 2: the flow is exact for it.
        still = Background(background.texture[2], background.origin)
        (before, _), (now, flow) = still.render(1, scene.camera), still.render(2, scene.camera)
        np.testing.assert_array_equal(current.flow[:, seen], flow[:, seen])
        camera_error = np.abs(warp(before, flow) - now).mean(-1)[seen].mean()
        assert camera_error < 2.5 / 255  # bilinear re-sampling of a detailed picture
        # The tree itself moves from frame to frame, and that motion is not in the flow.
        assert np.abs(np.diff(background.texture, axis=0)).mean() > 2.0 / 255
        video_error = (
            np.abs(warp(previous.background, current.flow) - current.background).mean(-1)[seen].mean()
        )
        assert video_error > camera_error + 1.0 / 255
        moving_camera += bool(np.abs(flow[:, seen]).max() > 0.5)
    assert moving_camera >= 2


@pytest.fixture(scope="module")
def make_synthetic_main(repo_root):
    return runpy.run_path(str(repo_root / "tools" / "make_synthetic.py"), run_name="make_synthetic")["main"]


def test_cli_writes_a_set_and_summarizes(make_synthetic_main, tmp_path, capsys):
    out = tmp_path / "cli"
    make_synthetic_main(
        [
            "--out",
            str(out),
            "--num-train",
            "1",
            "--num-val",
            "1",
            "--frames",
            "3",
            "--size",
            "48",
            "64",
            "--seed",
            "3",
            "--workers",
            "2",
            "--max-people",
            "1",
        ]
    )
    meta = json.loads((out / "meta.json").read_text())
    assert meta["size"] == [48, 64] and meta["num_frames"] == 3 and meta["seed"] == 3
    assert meta["splits"] == {"train": ["synth_0000"], "val": ["synth_0001"]}
    for split in ("train", "val"):
        ids = np.array(Image.open(out / split / "Annotations" / meta["splits"][split][0] / "00000.png"))
        assert set(np.unique(ids)) <= {0, 1}
    assert "wrote 2 videos (1 train, 1 val) x 3 frames at 48x64 (frames)" in capsys.readouterr().out


@pytest.mark.parametrize("content", [None, b"not an image"])
def test_cli_rejects_backgrounds_without_readable_images(make_synthetic_main, tmp_path, content):
    backgrounds = tmp_path / "backgrounds"
    backgrounds.mkdir()
    if content is not None:
        (backgrounds / "broken.png").write_bytes(content)
    with pytest.raises(SystemExit) as error:
        make_synthetic_main(["--out", str(tmp_path / "out"), "--backgrounds", str(backgrounds)])
    assert str(error.value).startswith(f"make_synthetic: error: {backgrounds}: no readable background images")
    assert not (tmp_path / "out" / "meta.json").exists()


def test_interrupted_regeneration_leaves_no_meta_json(tiny_set, tmp_path, monkeypatch):
    from steadyseg.synthetic import writer

    out = tmp_path / "set"
    generate_dataset(out, **{**TINY, "num_train": 1, "num_val": 0})
    assert (out / "meta.json").exists()

    def crash(job):
        raise RuntimeError("disk full")

    monkeypatch.setattr(writer, "write_video", crash)
    with pytest.raises(RuntimeError, match="disk full"):
        generate_dataset(out, **{**TINY, "num_train": 1, "num_val": 0})
    assert not (out / "meta.json").exists()


def test_more_people_than_uint8_ids_can_hold_are_rejected_before_anything_is_written(
    make_synthetic_main, tmp_path
):
    """Person k is instance id k; id 255 reads back as void, so 254 people is the most a set can hold."""
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as error:
        make_synthetic_main(["--out", str(out), "--num-train", "0", "--num-val", "0", "--max-people", "255"])
    assert str(error.value) == (
        "make_synthetic: error: max_people: invalid value 255 (expected 1..254: people are uint8 instance ids, "
        "0 is background and 255 void)"
    )
    assert not out.exists()
    with pytest.raises(ValueError, match=r"^max_people: invalid value 255 \(expected 1\.\.254"):
        random_scene(0, 0, HEIGHT, WIDTH, FRAMES, max_people=255)
    meta = generate_dataset(out, **{**TINY, "num_train": 0, "num_val": 0, "max_people": 254})
    assert meta["splits"] == {"train": [], "val": []}


def test_bad_arguments_name_the_argument(tmp_path):
    with pytest.raises(ValueError, match="^max_people: invalid value 0"):
        generate_dataset(tmp_path, **{**TINY, "max_people": 0})
    with pytest.raises(ValueError, match="^size: format 'mp4'"):
        generate_dataset(tmp_path, **{**TINY, "size": (63, 80), "fmt": "mp4"})
