"""Channel surgery for NetAdapt: the units a proposal may shrink, and shrinking one.

A *unit* is one set of channels that must shrink together (paper section 4.2):

* ``expand``: one block's expansion (expand conv -> depthwise -> SE -> project input);
* ``group``: the bottleneck shared by a residual group (the block that opens it and every
  block that adds a residual to it; the stem when its output feeds such a group);
* ``last``: the backbone's last 1x1 conv (the high branch's input);
* ``head``: the head's F channels (LR-ASPP's 1x1 branch and gate; R-ASPP's three convs).

Torch-Pruning's dependency graph does the surgery: it follows the channels through
depthwise convs, BatchNorm, SE, residual adds, the LR-ASPP skip tap and the next layer.
The filters kept are those of largest L1 norm (summed over every conv that produces the
channels); an SE block's squeeze then shrinks to the builder's rule
(``make_divisible(expanded // 4, 8)``), so a pruned model *is* the model its channel table
describes: ``shrink`` checks that by loading its weights into a fresh build, strictly.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

from segmnv3.core.optional import require
from segmnv3.models.channels import ChannelTable
from segmnv3.models.config import ModelConfig
from segmnv3.models.layers import make_divisible
from segmnv3.models.segmenter import Segmenter, backbone_spec, build_model_from_config

UnitKind = Literal["expand", "group", "last", "head"]
# The graph is traced once per surgery on a small input (channel coupling is size-free).
TRACE_SIZE = (64, 64)


@dataclass(frozen=True)
class Unit:
    """A set of channels that shrink together.

    Attributes:
        kind: ``expand``, ``group``, ``last`` or ``head``.
        blocks: the 0-based blocks it spans (``expand``: one; ``group``: the blocks whose
            output it is, -1 standing for the stem); empty for ``last`` and ``head``.
    """

    kind: UnitKind
    blocks: tuple[int, ...] = ()

    @property
    def name(self) -> str:
        """``block 4 expansion``, ``bottleneck of block 4, block 5``, ``last conv``, ``head``."""
        if self.kind == "expand":
            return f"block {self.blocks[0] + 1} expansion"
        if self.kind == "group":
            members = ["stem" if b < 0 else f"block {b + 1}" for b in self.blocks]
            return "bottleneck of " + ", ".join(members)
        return "last conv" if self.kind == "last" else "head"


def units(config: ModelConfig) -> list[Unit]:
    """Every unit of a model, in network order (preset models have none)."""
    if config.preset is not None:
        return []
    stem, blocks, last = backbone_spec(config)
    found, group, in_channels = [], [-1], stem
    for index, block in enumerate(blocks):
        joins = block.stride == 1 and block.out == in_channels
        if not joins:
            found.append(Unit("group", tuple(group)))
            group = []
        group.append(index)
        if block.expanded != in_channels:
            found.append(Unit("expand", (index,)))
        in_channels = block.out
    found.append(Unit("group", tuple(group)))
    found = sorted(found, key=lambda unit: max(unit.blocks))
    if last is not None:
        found.append(Unit("last"))
    return [*found, Unit("head")]


def unit_channels(config: ModelConfig, unit: Unit) -> int:
    """The unit's current channel count."""
    stem, blocks, last = backbone_spec(config)
    if unit.kind == "expand":
        return blocks[unit.blocks[0]].expanded
    if unit.kind == "group":
        return stem if unit.blocks[-1] < 0 else blocks[unit.blocks[-1]].out
    return last if unit.kind == "last" else config.head_channels


def with_channels(config: ModelConfig, unit: Unit, count: int) -> ModelConfig:
    """``config`` with ``unit`` at ``count`` channels (no weights involved).

    Raises:
        ValueError: a count that breaks the seed's topology (``apply_channel_table``).
    """
    if unit.kind == "head":
        return dataclasses.replace(config, head_channels=count)
    stem, blocks, last = backbone_spec(config)
    table = ChannelTable(stem, [[b.expanded, b.out] for b in blocks], last)
    if unit.kind == "last":
        table.last = count
    elif unit.kind == "expand":
        table.blocks[unit.blocks[0]][0] = count
    else:
        old = unit_channels(config, unit)
        if unit.blocks[0] < 0:
            table.stem = count
        for index, (expanded, _out) in enumerate(table.blocks):
            if index in unit.blocks:
                table.blocks[index][1] = count
            no_expand_conv = expanded == (stem if index == 0 else blocks[index - 1].out)
            feeds_from_unit = (index == 0 and unit.blocks[0] < 0) or index - 1 in unit.blocks
            if no_expand_conv and feeds_from_unit and expanded == old:
                table.blocks[index][0] = count  # a depthwise on the unit's channels
    table = ChannelTable(table.stem, [tuple(pair) for pair in table.blocks], table.last)
    return dataclasses.replace(config, channels=table)  # validates: ValueError


def shrink(
    model: Segmenter, config: ModelConfig, unit: Unit, count: int
) -> tuple[Segmenter, ModelConfig]:
    """A copy of ``model`` with ``unit`` cut to ``count`` channels, weights carried over.

    Keeps the ``count`` channels whose producing filters have the largest L1 norm; ``count``
    equal to the current one returns an identical copy.

    Returns:
        ``(model, config)``: a fresh build of the new config holding the kept weights, in
        eval mode, and the new config (with its channel table).

    Raises:
        ValueError: ``count`` outside [1, current] or breaking the seed's topology.
    """
    current = unit_channels(config, unit)
    if not 1 <= count <= current:
        raise ValueError(f"{unit.name}: cannot cut {current} channels to {count}")
    new_config = with_channels(config, unit, count)
    pruned = copy.deepcopy(model).eval()
    if count < current:
        tp = require("torch_pruning", package="torch-pruning", feature="segmnv3 adapt")
        graph = tp.DependencyGraph().build_dependency(
            pruned, example_inputs=torch.zeros(1, 3, *TRACE_SIZE)
        )
        for root in _roots(pruned, unit):
            _prune_lowest(graph, root, root.out_channels - count, tp)
        _shrink_squeezes(pruned, graph, tp)
    fresh = build_model_from_config(new_config)
    fresh.load_state_dict(pruned.state_dict(), strict=True)  # the table describes it
    return fresh.eval(), new_config


def _roots(model: Segmenter, unit: Unit) -> list[nn.Conv2d]:
    backbone, head = model.backbone, model.head
    if unit.kind == "expand":
        return [backbone.blocks[unit.blocks[0]].expand[0]]
    if unit.kind == "group":
        last = unit.blocks[-1]
        return [backbone.stem[0] if last < 0 else backbone.blocks[last].project[0]]
    if unit.kind == "last":
        return [backbone.last_conv[0]]
    if hasattr(head, "high_branch"):  # LR-ASPP: the gate follows through the multiply
        return [head.high_branch[0]]
    return [head.conv_branch[0], head.pool_branch[0], head.project[0]]  # R-ASPP


def _prune_lowest(graph, root: nn.Conv2d, remove: int, tp) -> None:
    """Remove the ``remove`` channels of ``root``'s output with the smallest summed L1
    norm over every conv that produces them as features (not depthwise convs, whose
    filters follow the channels, nor SE's gate convs)."""
    if remove <= 0:
        return
    everything = graph.get_pruning_group(
        root, tp.prune_conv_out_channels, idxs=list(range(root.out_channels))
    )
    importance = torch.zeros(root.out_channels)
    for dep, idxs in everything:
        layer = dep.target.module
        if (
            isinstance(layer, nn.Conv2d)
            and layer.groups == 1
            and graph.is_out_channel_pruning_fn(dep.handler)
            and (layer is root or ".se." not in graph._module2name.get(layer, ""))
        ):
            norms = layer.weight.detach().abs().sum(dim=(1, 2, 3))  # (out,)
            for index in idxs:  # the root's own item holds plain ints
                importance[getattr(index, "root_idx", index)] += norms[getattr(index, "idx", index)]
    weakest = torch.argsort(importance, stable=True)[:remove].tolist()
    group = graph.get_pruning_group(root, tp.prune_conv_out_channels, idxs=sorted(weakest))
    group.prune()


def _shrink_squeezes(model: Segmenter, graph, tp) -> None:
    """Cut each SE squeeze to ``make_divisible(expanded // 4, 8)`` of its new expansion."""
    for block in model.backbone.blocks:
        if block.se is None:
            continue
        fc1 = block.se.fc1
        target = make_divisible(fc1.in_channels // 4, 8)
        _prune_lowest(graph, fc1, fc1.out_channels - target, tp)


def channel_table(model: Segmenter) -> ChannelTable:
    """The channel table a (pruned) model's modules hold."""
    backbone = model.backbone
    blocks = [(b.depthwise[0].out_channels, b.project[0].out_channels) for b in backbone.blocks]
    last = backbone.last_conv[0].out_channels if backbone.last_conv is not None else None
    return ChannelTable(backbone.stem[0].out_channels, blocks, last)
