"""``AlternatingBatchSampler``: batches drawn from one group of datasets at a time, groups in a fixed pattern."""

from __future__ import annotations

import bisect
from collections.abc import Iterator, Mapping, Sequence

from mmengine.dataset import InfiniteSampler
from mmengine.dist import get_dist_info
from torch.utils.data import ConcatDataset, Sampler

from steadyseg.registry import DATA_SAMPLERS


@DATA_SAMPLERS.register_module()
class AlternatingBatchSampler(Sampler):
    """Every batch comes from one group of the members of a ``ConcatVideoDataset``; batch ``n`` from group
    ``pattern[n % len(pattern)]``.

    Robust Video Matting alternates matting batches with segmentation batches, and a
    ``VideoMattingModel`` refuses a batch that mixes clips with and without ``gt_alpha``: name the members'
    groups (``dataset_groups``, one per member, in order) and the order in which groups take turns
    (``pattern``: ``("matting", "segmentation")`` is 1:1, ``("matting", "matting", "segmentation")`` 2:1;
    RVM's ``("matting", "video_seg", "matting", "image_seg")`` keeps video and image segmentation clips, which
    differ in length, apart). Groups are names only; which loss a batch gets is the model's decision from its
    ground truth.

    Each group draws its indices from its own pass over the wrapped ``sampler`` (mmengine builds it, shuffled and
    split among ranks; this sampler keeps the indices of the group's members), restarting the pass when it runs
    out: a group's share of the batches is ``pattern``'s whatever the sizes of the datasets, and small groups
    repeat sooner.

    Distributed training: the pattern, not the data, decides the group, so at every iteration all ranks train on
    the same group (their own indices of it) and the same parameters go unused on every rank (a matting batch
    leaves the segmentation projection without gradient, and the reverse). DDP with ``find_unused_parameters=True``
    (which the matting model needs anyway) then sees one consistent set; were the kinds mixed across ranks at one
    iteration, the all-reduce would average one rank's gradient of a part with another's zeros.

    Length: with mmengine's ``InfiniteSampler`` (iteration-based training) batches never run out, as the sampler's;
    with a finite sampler an epoch is ``len(dataset) // (world_size * batch_size)`` batches (at least 1), the same
    on every rank (a per-rank count could differ by one and leave a rank waiting in DDP), each pass restarting
    with the sampler's epoch.

    Args:
        sampler: the index sampler over a ``ConcatDataset`` (``ConcatVideoDataset``); mmengine passes the
            dataloader's ``sampler``.
        batch_size: clips per batch; mmengine passes the dataloader's ``batch_size``.
        dataset_groups: the group of each member dataset, in order.
        pattern: groups in the order batches take them, repeated.
        group_batch_sizes: batch sizes of some groups instead of ``batch_size`` (RVM's one-frame image
            segmentation batches are ``T`` times larger than its ``T``-frame clip batches).
    """

    def __init__(
        self,
        sampler: Sampler,
        batch_size: int,
        dataset_groups: Sequence[str],
        pattern: Sequence[str] = ("matting", "segmentation"),
        group_batch_sizes: Mapping[str, int] | None = None,
    ):
        dataset = getattr(sampler, "dataset", None)
        if not isinstance(dataset, ConcatDataset):
            raise TypeError(
                f"AlternatingBatchSampler: needs a sampler over a ConcatVideoDataset (got {type(sampler).__name__} "
                f"over {type(dataset).__name__})"
            )
        total = len(dataset)  # also completes a lazily initialized concatenation
        if len(dataset_groups) != len(dataset.datasets):
            raise ValueError(
                f"AlternatingBatchSampler: dataset_groups {list(dataset_groups)} name {len(dataset_groups)} groups "
                f"for the {len(dataset.datasets)} member datasets"
            )
        groups = set(dataset_groups)
        if not pattern or set(pattern) != groups:
            raise ValueError(
                f"AlternatingBatchSampler: pattern {list(pattern)} must use every group of dataset_groups "
                f"{sorted(groups)} and no other"
            )
        sizes = {group: batch_size for group in groups} | dict(group_batch_sizes or {})
        if set(sizes) != groups or min(sizes.values()) < 1:
            raise ValueError(
                f"AlternatingBatchSampler: batch sizes {sizes} must be >= 1, group_batch_sizes keys among {sorted(groups)}"
            )
        empty = [
            group
            for group in sorted(groups)
            if not any(len(member) for member, name in zip(dataset.datasets, dataset_groups) if name == group)
        ]
        if empty:
            raise ValueError(f"AlternatingBatchSampler: groups {empty} have no items in their datasets")
        self.sampler = sampler
        self.batch_size = batch_size
        self.batch_sizes = sizes
        self.dataset_groups = list(dataset_groups)
        self.pattern = list(pattern)
        self.ends = list(dataset.cumulative_sizes)
        _, world_size = get_dist_info()
        self.num_batches = max(total // (world_size * batch_size), 1)
        self.endless = isinstance(sampler, InfiniteSampler)

    def group_of(self, index: int) -> str:
        """The group of the member dataset that holds item ``index`` of the concatenation."""
        return self.dataset_groups[bisect.bisect_right(self.ends, index)]

    def _indices(self, group: str) -> Iterator[int]:
        """The sampler's indices of ``group``, pass after pass."""
        while True:
            found = False
            for index in self.sampler:
                if self.group_of(index) == group:
                    found = True
                    yield index
            if not found:
                rank, _ = get_dist_info()
                raise ValueError(
                    f"AlternatingBatchSampler: a whole pass of the sampler gives rank {rank} no item of group "
                    f"{group!r}; give it more data than ranks"
                )

    def __iter__(self) -> Iterator[list[int]]:
        streams = {group: self._indices(group) for group in self.batch_sizes}
        number = 0
        while self.endless or number < self.num_batches:
            group = self.pattern[number % len(self.pattern)]
            yield [next(streams[group]) for _ in range(self.batch_sizes[group])]
            number += 1

    def __len__(self) -> int:
        return self.num_batches
