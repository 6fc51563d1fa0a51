"""Installs steadyseg with the top-level folders mapped into the ``steadyseg`` namespace.

``models/``, ``datasets/`` and ``evaluation/`` live at the repository root because users asked for that
layout; ``package_dir`` makes them ``steadyseg.models`` etc. so nothing named ``models`` or ``datasets``
lands at the top level of site-packages.
"""

import re
from pathlib import Path

from setuptools import find_packages, setup

ROOT = Path(__file__).parent
MAPPED_FOLDERS = ("models", "datasets", "evaluation")
# tools/discover.py --ray (Ray Data actors, Parquet through pyarrow); the tests run it, so dev has it too.
RAY_DATA = "ray[data]==2.60.0"
# tools/make_pseudo_alpha.py (closed-form matting of real people masks); its tests run in dev.
PYMATTING = "pymatting>=1.1.16"


def mapped_packages():
    packages = find_packages(include=["steadyseg", "steadyseg.*"])
    package_dir = {"steadyseg": "steadyseg"}
    for folder in MAPPED_FOLDERS:
        package_dir[f"steadyseg.{folder}"] = folder
        packages.append(f"steadyseg.{folder}")
        for sub in find_packages(where=folder):
            packages.append(f"steadyseg.{folder}.{sub}")
    return packages, package_dir


def read_version():
    text = (ROOT / "steadyseg" / "__init__.py").read_text()
    return re.search(r'__version__ = "([^"]+)"', text).group(1)


packages, package_dir = mapped_packages()

setup(
    name="steadyseg",
    version=read_version(),
    description="Video people segmentation, instance segmentation and matting that does not flicker",
    long_description=(ROOT / "README.md").read_text(),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=packages,
    package_dir=package_dir,
    install_requires=[
        "torch>=2.4",
        "mmengine>=0.10.7,<0.11",
        "mmcv-lite>=2.0.0rc4,<2.2.0",
        "mmsegmentation==1.2.2",
        "ftfy",
        "regex",
        "setuptools<81",
        "numpy",
        "opencv-python-headless",
        "decord>=0.6.0",
        "av",
        "albumentations==2.0.8",
        "scipy",
        "pycocotools",
        # HOTA, CLEAR MOT and IDF1 of people tracks (evaluation/tracking_metric.py).
        "trackeval",
        "faiss-cpu",
        # tools/discover.py's report and the profiler's plots.
        "matplotlib",
        "tqdm",
        "wandb",
    ],
    extras_require={
        "dev": ["pytest", "pytest-xdist", "ruff", "nbclient", "nbformat", "ipykernel", RAY_DATA, PYMATTING],
        "deploy": ["onnx", "onnxruntime", "onnxscript", "coremltools", "ai-edge-litert"],
        "ray": [RAY_DATA],
        "matting": [PYMATTING],
    },
)
