"""The discovery scan on Ray Data (a local Ray instance of 2 CPUs) against the single-process scan: the same
records in the RecordStore and in Parquet, resume, unreadable videos, and tools/discover.py --ray."""

import json
import shutil
import subprocess
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from steadyseg.datasets import VideoDataError
from steadyseg.datasets.video_folder import list_video_sources
from steadyseg.discovery import DiscoveryError, RecordStore, VideoRecords, scan_corpus, video_key
from steadyseg.discovery import ray_scan as ray_scan_module
from steadyseg.discovery.pipeline import load_models
from steadyseg.discovery.ray_scan import ray_session, scan_corpus_ray
from tests.discovery.helpers import REPO_ROOT, TINY_CONFIG, discover, run

SETTINGS = {"model": "tiny", "segment_length": 4}


@pytest.fixture(scope="module")
def ray_cluster():
    # One local instance for the module: starting Ray costs seconds, and the tool reuses a running session.
    with ray_session(num_cpus=2):
        yield


def assert_same_records(actual: VideoRecords, expected: VideoRecords) -> None:
    assert actual.header == expected.header
    for got, want in ((actual.frames, expected.frames), (actual.segments, expected.segments)):
        assert len(got) == len(want)
        for got_row, want_row in zip(got, want):
            assert got_row.keys() == want_row.keys() and got_row == pytest.approx(want_row, abs=1e-6)
    np.testing.assert_allclose(actual.frame_embeddings, expected.frame_embeddings, atol=1e-6)
    np.testing.assert_allclose(actual.segment_embeddings, expected.segment_embeddings, atol=1e-6)


def parquet_rows(folder, key: str, order: str) -> list[dict]:
    rows = [row for row in pq.read_table(folder).to_pylist() if row["key"] == key]
    return sorted(rows, key=lambda row: row[order])


def assert_parquet_holds(root, key: str, expected: VideoRecords) -> None:
    """``root/parquet``'s rows of video ``key`` are ``expected``'s records and embeddings."""
    videos = parquet_rows(root / "parquet" / "videos", key, "key")
    assert videos == [{"key": key, **expected.header}]
    for folder, order, records, embeddings in (
        ("frames", "frame", expected.frames, expected.frame_embeddings),
        ("segments", "segment", expected.segments, expected.segment_embeddings),
    ):
        rows = parquet_rows(root / "parquet" / folder, key, order)
        assert len(rows) == len(records)
        for row, record in zip(rows, records):
            assert {name: row[name] for name in record} == pytest.approx(record, abs=1e-6)
        np.testing.assert_allclose(np.array([row["embedding"] for row in rows]), embeddings, atol=1e-6)


def test_ray_records_equal_the_single_process_ones_and_a_rerun_skips_done_videos(
    checkpoint, corpus, tmp_path, ray_cluster, monkeypatch
):
    sources = list_video_sources("", corpus)
    single = RecordStore(tmp_path / "single", SETTINGS)
    models = load_models((str(TINY_CONFIG), str(checkpoint)))
    scan_corpus(sources, single, models, segment_length=4, progress=False, threads=1)
    broken = corpus / "broken.mp4"
    broken.write_bytes(b"not a video")

    store = RecordStore(tmp_path / "ray", SETTINGS)
    model = (str(TINY_CONFIG), str(checkpoint))
    # The unreadable video fails the run only after the two good ones are written, and the error names it.
    with pytest.raises(VideoDataError, match="broken.mp4"):
        scan_corpus_ray([*sources, broken], store, model, segment_length=4, num_actors=2, progress=False)
    keys = [video_key(source) for source in sources]
    assert store.video_keys() == sorted(keys) == single.video_keys()
    for key in keys:
        # Equal flicker on every frame also shows each video ran whole on one actor: a split would restart
        # the frame-to-frame signals (null flicker) at the split.
        assert_same_records(store.read(key), single.read(key))
        assert_parquet_holds(store.root, key, single.read(key))
    frames = pq.read_table(store.root / "parquet" / "frames")
    # Without a teacher the disagreement is null everywhere, and still a float column.
    assert frames.num_rows == 10 + 7 and frames.schema.field("disagreement").type == pa.float64()
    assert frames.column("disagreement").null_count == frames.num_rows
    assert frames.schema.field("embedding").type == pa.list_(pa.float32())

    written = sorted((path, path.stat().st_mtime_ns) for path in store.root.rglob("*.*") if path.is_file())
    monkeypatch.setattr(ray_scan_module, "scanned_videos", lambda *args: pytest.fail("nothing to scan"))
    done = scan_corpus_ray(sources, store, model, segment_length=4, progress=False)
    assert done == {"scanned": [], "resumed": keys}
    assert (
        sorted((path, path.stat().st_mtime_ns) for path in store.root.rglob("*.*") if path.is_file())
        == written
    )


def test_the_tools_ray_path_writes_the_same_collections(checkpoint, corpus, tmp_path, ray_cluster):
    single = run(checkpoint, corpus, tmp_path / "single", "--no-report", "--top-k", "5")
    assert (single["scanned"], single["segments"]) == (2, 5)
    # An interrupted run: the frame folder is done (without Ray), the video file is not.
    out = tmp_path / "ray"
    (out / "videos").mkdir(parents=True)
    shutil.copy(tmp_path / "single" / "discovery.json", out)
    still = video_key(corpus / "still")
    for suffix in (".jsonl", ".npz"):
        shutil.copy(tmp_path / "single" / "videos" / f"{still}{suffix}", out / "videos")

    summary = run(checkpoint, corpus, out, "--no-report", "--top-k", "5", "--ray", "--ray-actors", "2")
    assert (summary["scanned"], summary["resumed"], summary["segments"]) == (1, 1, 5)
    expected = json.loads((tmp_path / "single" / "collections" / "failures.json").read_text())["segments"]
    actual = json.loads((out / "collections" / "failures.json").read_text())["segments"]
    assert [(s["video"], s["start"], s["end"]) for s in actual] == [
        (s["video"], s["start"], s["end"]) for s in expected
    ]
    assert [s["scores"] for s in actual] == [pytest.approx(s["scores"], abs=1e-6) for s in expected]
    # The Parquet folder covers the whole corpus: the resumed video's files come from the store.
    assert_parquet_holds(out, still, RecordStore(out).read(still))
    assert pq.read_table(out / "parquet" / "frames").num_rows == 10 + 7


def test_the_default_path_never_imports_ray(checkpoint, corpus, tmp_path):
    code = (
        "import sys; from tests.discovery.helpers import run; "
        f"run({str(checkpoint)!r}, {str(corpus)!r}, {str(tmp_path / 'out')!r}, '--no-report'); "
        "print('ray' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "False"
    assert len(RecordStore(tmp_path / "out").video_keys()) == 2


def test_ray_without_ray_installed_is_one_error_naming_the_extra(checkpoint, corpus, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)
    monkeypatch.delitem(sys.modules, "steadyseg.discovery.ray_scan", raising=False)
    argv = [str(TINY_CONFIG), str(checkpoint), str(corpus), "--out", str(tmp_path / "out"), "--ray"]
    with pytest.raises(SystemExit) as exit_info:
        discover.run(argv)
    message = str(exit_info.value.code)
    assert message.startswith("error: --ray: scanning with Ray needs Ray Data") and "\n" not in message
    assert message.endswith("pip install 'steadyseg[ray]'")
    # It stops before anything is loaded or written.
    assert not (tmp_path / "out").exists()
    with pytest.raises(DiscoveryError):
        discover.main(argv)


@pytest.mark.parametrize(
    "options, message",
    [
        (["--ray-actors", "2"], "--ray-actors needs --ray"),
        (["--ray-address", "auto"], "--ray-address needs --ray"),
        (["--ray", "--ray-actors", "0"], "argument --ray-actors: must be at least 1, got 0"),
    ],
)
def test_bad_ray_options_are_usage_errors_naming_the_option(
    checkpoint, corpus, tmp_path, capsys, options, message
):
    with pytest.raises(SystemExit) as exit_info:
        run(checkpoint, corpus, tmp_path / "out", *options)
    assert exit_info.value.code == 2 and message in capsys.readouterr().err
