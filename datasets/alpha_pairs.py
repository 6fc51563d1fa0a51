"""Pairing foreground images with their alpha mattes by file name, as matting layouts store them."""

from __future__ import annotations

from pathlib import Path

from .errors import VideoDataError
from .video_io import IMAGE_EXTENSIONS


def _by_stem(paths: list[Path]) -> dict[str, Path]:
    """``{stem: path}``; two files of one name (``a.jpg`` and ``a.png``) make it ambiguous which one is meant."""
    found: dict[str, Path] = {}
    for path in paths:
        if path.stem in found:
            raise VideoDataError(
                f"{path}: two files named {path.stem!r} ({found[path.stem].name} and {path.name})"
            )
        found[path.stem] = path
    return found


def pair_alpha_files(foregrounds: list[str], alpha_folder: str | Path) -> list[str]:
    """The alpha matte of each foreground image: the file of ``alpha_folder`` with the foreground's name, any
    image extension (``fg/0001.jpg`` pairs with ``alpha/0001.png``).

    A foreground without an alpha, an alpha without a foreground and two files of one name in either folder are
    layout errors, each naming the file.
    """
    alpha_folder = Path(alpha_folder)
    if not alpha_folder.is_dir():
        raise VideoDataError(
            f"{alpha_folder}: alpha folder not found (it holds the alpha of {foregrounds[0]})"
        )
    foreground_of = _by_stem([Path(path) for path in foregrounds])
    alpha_of = _by_stem(sorted(p for p in alpha_folder.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS))
    for stem, foreground in foreground_of.items():
        if stem not in alpha_of:
            extensions = "|".join(extension.lstrip(".") for extension in IMAGE_EXTENSIONS)
            raise VideoDataError(f"{alpha_folder / stem}.{extensions}: not found, the alpha of {foreground}")
    extra = sorted(set(alpha_of) - set(foreground_of))
    if extra:
        folder = Path(foregrounds[0]).parent
        raise VideoDataError(f"{alpha_of[extra[0]]}: an alpha without a foreground in {folder}")
    return [str(alpha_of[Path(path).stem]) for path in foregrounds]
