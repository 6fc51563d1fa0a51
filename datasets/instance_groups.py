"""Groups of instance ids that make one person each, such as a girl and the backpack she carries.

Written ``"1,2+3,4+5,6+7"`` (groups separated by commas, the ids of a group by ``+``) or as nested lists
``[[1], [2, 3], [4, 5], [6, 7]]``. The synthetic generator's instance cut-outs (``--cutouts instances:...``) and
``MergeTracks`` read them.
"""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Integral

MAX_INSTANCE_ID = 255


def parse_instance_groups(groups: str | Sequence[Sequence[int]]) -> tuple[tuple[int, ...], ...]:
    """``groups`` as a tuple of id tuples.

    Raises ``ValueError`` saying what is wrong unless there is at least one group, every group holds at least one
    id, and every id is an integer in 1..255 listed once.
    """
    if isinstance(groups, str):
        try:
            parsed = tuple(tuple(int(i) for i in group.split("+")) for group in groups.split(","))
        except ValueError:
            raise ValueError(f"ids {groups!r} are not integers") from None
    else:
        if not isinstance(groups, Sequence) or not groups:
            raise ValueError(f"groups {groups!r} must be a non-empty list of lists of ids")
        for group in groups:
            if (
                isinstance(group, str)
                or not isinstance(group, Sequence)
                or not group
                or not all(isinstance(i, Integral) and not isinstance(i, bool) for i in group)
            ):
                raise ValueError(f"group {group!r} of {groups!r} is not a non-empty list of integer ids")
        parsed = tuple(tuple(int(i) for i in group) for group in groups)
    ids = [i for group in parsed for i in group]
    outside = sorted({i for i in ids if not 1 <= i <= MAX_INSTANCE_ID})
    if outside:
        raise ValueError(f"ids {outside} are outside 1..{MAX_INSTANCE_ID}")
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        raise ValueError(f"ids {repeated} are listed more than once (each id belongs to one group)")
    return parsed
