"""Channel tables: every channel count of a MobileNet backbone as data (``model.channels``).

A paper row fixes its channels through the block table, the width multiplier and RF2.
NetAdapt (``segmnv3 adapt``) changes them layer by layer, so a config may carry its own
table instead::

    model:
      channels:
        stem: 16                      # the 3x3 stride-2 stem
        blocks: [[16, 16], [64, 24], [72, 24], ...]   # per bottleneck: [expanded, out]
        last: 480                     # the last 1x1 conv (null: none, as MobileNetV2)
      head_channels: 96               # the head's F stays its own field

The table changes counts, never the topology: kernels, strides, SE, activations, which
blocks have an expansion conv and which add a residual all stay those of the seed (the
config's ``backbone`` with its ``width_mult`` / ``rf2``). ``apply_channel_table`` checks
that a table keeps them, so an invalid one fails with one message naming the block.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # config.py imports this module: keep it free of torch
    from segmnv3.models.backbone import BlockConfig


@dataclass
class ChannelTable:
    """The channel counts of a backbone, after width multiplier and RF2.

    Attributes:
        stem: output channels of the stem conv.
        blocks: ``(expanded, out)`` per bottleneck, in order.
        last: channels of the last 1x1 conv (None: the backbone has none, MobileNetV2).
    """

    stem: int
    blocks: list[tuple[int, int]]
    last: int | None = None

    def __post_init__(self) -> None:
        counts = [("stem", self.stem)]
        counts += [(f"blocks[{i}]", c) for i, pair in enumerate(self.blocks) for c in pair]
        counts += [("last", self.last)] if self.last is not None else []
        for name, count in counts:
            if isinstance(count, bool) or not isinstance(count, int) or count < 1:
                raise ValueError(
                    f"model.channels.{name}: channel counts must be integers >= 1, got {count!r}"
                )


def table_of(stem: int, blocks: list[BlockConfig], last: int | None) -> ChannelTable:
    """The table of a backbone specification (stem, block rows, last conv)."""
    return ChannelTable(stem, [(b.expanded, b.out) for b in blocks], last)


def apply_channel_table(
    stem: int, blocks: list[BlockConfig], last: int | None, table: ChannelTable
) -> tuple[int, list[BlockConfig], int | None]:
    """The seed specification with ``table``'s counts, checked to keep the seed's topology.

    Args:
        stem / blocks / last: the seed's stem channels, block rows and last conv.
        table: the counts to use.

    Returns:
        ``(stem, blocks, last)`` with the table's counts.

    Raises:
        ValueError: a table of another length, a last conv where the seed has none (or the
            reverse), or counts that add or drop an expansion conv or a residual connection
            (blocks joined by a residual add must share their out channels).
    """
    if len(table.blocks) != len(blocks):
        raise ValueError(
            f"model.channels.blocks has {len(table.blocks)} rows but the "
            f"seed backbone has {len(blocks)} blocks; give one [expanded, out] per block"
        )
    if (table.last is None) != (last is None):
        raise ValueError(
            "model.channels.last must be "
            + ("null: this backbone has no last 1x1 conv" if last is None else "a count >= 1")
        )
    new_blocks = [
        dataclasses.replace(block, expanded=expanded, out=out)
        for block, (expanded, out) in zip(blocks, table.blocks, strict=True)
    ]
    _check_topology(stem, blocks, table.stem, new_blocks)
    return table.stem, new_blocks, table.last


def _check_topology(
    seed_stem: int, seed: list[BlockConfig], stem: int, blocks: list[BlockConfig]
) -> None:
    seed_in, new_in = seed_stem, stem
    for index, (old, new) in enumerate(zip(seed, blocks, strict=True)):
        where = f"model.channels.blocks[{index}] (block {index + 1})"
        if (old.expanded == seed_in) != (new.expanded == new_in):
            raise ValueError(
                f"{where}: expanded {new.expanded} "
                + (
                    f"must equal its input channels {new_in}: this block has no expansion "
                    "conv (its depthwise runs on its input)"
                    if old.expanded == seed_in
                    else f"equals its input channels {new_in}, which would drop the block's "
                    "expansion conv; use another count"
                )
            )
        if old.stride == 1 and (old.out == seed_in) != (new.out == new_in):
            raise ValueError(
                f"{where}: out {new.out} "
                + (
                    f"must equal its input channels {new_in}: a residual add joins them "
                    "(blocks joined by a residual add share their out channels)"
                    if old.out == seed_in
                    else f"equals its input channels {new_in}, which would add a residual "
                    "connection the seed has not; use another count"
                )
            )
        seed_in, new_in = old.out, new.out
