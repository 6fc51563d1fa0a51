"""``ConcatVideoDataset``: the training mixture of a recipe, to which a derived recipe can add members."""

from __future__ import annotations

from collections.abc import Sequence

from mmengine.dataset import BaseDataset, ConcatDataset

from steadyseg.registry import DATASETS


@DATASETS.register_module()
class ConcatVideoDataset(ConcatDataset):
    """mmengine's ``ConcatDataset`` of ``datasets`` followed by ``extra_datasets``.

    Config inheritance replaces lists whole, so a recipe that only adds data (unlabelled video for distillation)
    would have to repeat every member of its base's list with its pipeline. With the base listing ``datasets``,
    the derived config adds ``extra_datasets`` and inherits the rest.

    Args:
        datasets: member dataset configs (or built datasets).
        extra_datasets: more members, appended after ``datasets``.
        lazy_init, ignore_keys: as mmengine's ``ConcatDataset``.
    """

    def __init__(
        self,
        datasets: Sequence[BaseDataset | dict],
        extra_datasets: Sequence[BaseDataset | dict] = (),
        lazy_init: bool = False,
        ignore_keys: str | list[str] | None = None,
    ):
        super().__init__([*datasets, *extra_datasets], lazy_init=lazy_init, ignore_keys=ignore_keys)
