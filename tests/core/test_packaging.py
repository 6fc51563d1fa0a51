import subprocess
import sys
import zipfile


def test_wheel_maps_top_level_folders_into_the_steadyseg_namespace(repo_root, tmp_path):
    command = [
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--no-deps",
        "--no-build-isolation",
        "-q",
        "-w",
        str(tmp_path),
    ]
    subprocess.run([*command, str(repo_root)], check=True, capture_output=True)
    (wheel,) = tmp_path.glob("steadyseg-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top_level = {name.split("/")[0] for name in names}
    assert top_level == {"steadyseg", next(n for n in top_level if n.endswith(".dist-info"))}
    for module in (
        "models/segmentors/per_frame_segmentor.py",
        "datasets/davis.py",
        "evaluation/davis_metric.py",
    ):
        assert f"steadyseg/{module}" in names
