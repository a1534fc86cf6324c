"""Fold zero ``Pad`` nodes into the ``Conv`` that reads them (ONNX graph rewrite).

The authors' TF ``SAME`` padding (``model.padding: tf_same``) pads stride-2 convolutions
asymmetrically, which PyTorch expresses as ``F.pad`` + an unpadded convolution. Exported
as is, each becomes a ``Pad`` node that ONNX Runtime does not merge into the convolution
(row 8 at 512x1024: ~+25 ms). ONNX ``Conv`` takes asymmetric ``pads`` itself, so the pair
is one node with identical values.
"""

from __future__ import annotations

from collections import Counter

import numpy as np


def fold_pads_into_convs(model) -> int:
    """Rewrite ``model`` (an ``onnx.ModelProto``) in place; returns the number of Pads folded.

    A ``Pad`` is folded when its mode is constant with value 0, it pads only H and W, its
    pads are computable from constants, and only ``Conv`` nodes (as data input, without
    ``auto_pad``) read its output.
    """
    graph = model.graph
    readers: dict[str, list] = {}
    for node in graph.node:
        for name in node.input:
            readers.setdefault(name, []).append(node)
    folded = []
    for pad in [n for n in graph.node if n.op_type == "Pad"]:
        amounts = _foldable_pads(model, pad, readers.get(pad.output[0], []))
        if amounts is None:
            continue
        for conv in readers[pad.output[0]]:
            _add_conv_pads(conv, amounts)
            conv.input[0] = pad.input[0]
        folded.append(pad)
    for pad in folded:
        graph.node.remove(pad)
    _remove_dead_nodes(graph)
    return len(folded)


def _foldable_pads(model, pad, consumers: list) -> list[int] | None:
    """[top, left, bottom, right] when ``pad`` can be folded into ``consumers``, else None."""

    mode = next((a.s for a in pad.attribute if a.name == "mode"), b"constant")
    if mode != b"constant" or not consumers:
        return None
    if any(c.op_type != "Conv" or c.input[0] != pad.output[0] for c in consumers):
        return None
    if any(
        a.name == "auto_pad" and a.s not in (b"", b"NOTSET") for c in consumers for a in c.attribute
    ):
        return None
    if len(pad.input) > 3 and pad.input[3]:  # axes input: keep the general case as it is
        return None
    value = _constant(model, pad.input[2]) if len(pad.input) > 2 and pad.input[2] else 0.0
    amounts = _constant(model, pad.input[1])
    if amounts is None or value is None or np.any(np.asarray(value) != 0):
        return None
    amounts = [int(a) for a in np.asarray(amounts).reshape(-1)]
    if len(amounts) != 8 or any(amounts[i] for i in (0, 1, 4, 5)) or min(amounts) < 0:
        return None
    return [amounts[2], amounts[3], amounts[6], amounts[7]]


def _add_conv_pads(conv, amounts: list[int]) -> None:
    import onnx

    current = next((list(a.ints) for a in conv.attribute if a.name == "pads"), [0, 0, 0, 0])
    merged = [a + b for a, b in zip(current, amounts, strict=True)]
    for attribute in [a for a in conv.attribute if a.name in ("pads", "auto_pad")]:
        conv.attribute.remove(attribute)
    conv.attribute.append(onnx.helper.make_attribute("pads", merged))


def _constant(model, name: str):
    """The value of ``name`` if it depends on constants only (evaluated), else None."""
    import onnx
    from onnx.reference import ReferenceEvaluator

    graph = model.graph
    initializers = {i.name: i for i in graph.initializer}
    if name in initializers:
        return onnx.numpy_helper.to_array(initializers[name])
    producers = {out: node for node in graph.node for out in node.output}
    needed, stack, seen = [], [name], set()
    while stack:
        current = stack.pop()
        if current in seen or current in initializers or not current:
            continue
        seen.add(current)
        node = producers.get(current)
        if node is None:  # a graph input: not a constant
            return None
        needed.append(node)
        stack.extend(node.input)
    order = [n for n in graph.node if n in needed]
    used = {i for n in order for i in n.input}
    sub = onnx.helper.make_graph(
        order,
        "constant",
        [],
        [onnx.helper.make_tensor_value_info(name, 0, None)],
        [i for i in graph.initializer if i.name in used],
    )
    sub_model = onnx.helper.make_model(sub, opset_imports=model.opset_import)
    return ReferenceEvaluator(sub_model).run(None, {})[0]


def _remove_dead_nodes(graph) -> None:
    """Drop nodes whose outputs nobody reads (the folded Pads' constant subgraphs)."""
    outputs = {o.name for o in graph.output}
    while True:
        read = Counter(name for node in graph.node for name in node.input)
        dead = [n for n in graph.node if not any(o in outputs or read[o] for o in n.output)]
        if not dead:
            return
        for node in dead:
            graph.node.remove(node)
