"""What a network of your own is checked for before training: the data its `load_data` returns against its
declaration (one array per input node, shapes, finite values, labels, no empty split), and, when `load_data`
itself fails, the line of the user's file that failed."""
from __future__ import annotations

import traceback
from collections.abc import Mapping, Sequence

import numpy as np

from resilinet.core.splits import Data

SPLITS = ("train", "val", "test")
SPLIT_NAMES = {"train": "training", "val": "validation", "test": "test"}


def data_problem(data: object, inputs: Sequence[str], input_shapes: Mapping[str, Sequence[int]]) -> str:
    """What is wrong with `data` for a network with these input nodes (in `split_arrays` order) and shapes, in
    one line naming the split, input node or array; '' when nothing is."""
    if not isinstance(data, Data):
        return f"load_data returned {type(data).__name__}, not the Data that split_arrays makes"
    for split_name in SPLITS:
        split, name = getattr(data, split_name), SPLIT_NAMES[split_name]
        if split.is_streamed:
            continue
        labels = np.asarray(split.y)
        if len(labels) == 0:
            return (f"the {name} split has no rows: too few samples for split_arrays' fractions "
                    f"(give more rows, or other val_fraction and test_fraction)")
        arrays = list(split.x) if isinstance(split.x, (list, tuple)) else [split.x]
        if len(arrays) != len(inputs):
            return (f"the {name} split has {len(arrays)} input array(s) for {len(inputs)} input node(s): split_arrays "
                    f"takes one array per input node, in the order {', '.join(inputs)}")
        for node, array in zip(inputs, arrays):
            array = np.asarray(array)
            if array.shape[1:] != tuple(input_shapes[node]):
                return (f"the array of input node {node} has rows of shape {array.shape[1:]}; input_shapes says "
                        f"{tuple(input_shapes[node])} (arrays go in the order {', '.join(inputs)})")
            if len(array) != len(labels):
                return (f"the array of input node {node} has {len(array)} rows in the {name} split, "
                        f"the labels {len(labels)}")
            if not np.issubdtype(array.dtype, np.number):
                return f"the array of input node {node} holds {array.dtype} values, not numbers"
            bad = ~np.isfinite(array.reshape(len(array), -1)).all(axis=1)
            if bad.any():
                return (f"the array of input node {node} holds NaN or infinite values in {int(bad.sum())} row(s) "
                        f"of the {name} split (the first at row {int(np.argmax(bad))} of that split): "
                        "clean or drop them")
        if not np.issubdtype(labels.dtype, np.integer):
            return f"the labels of the {name} split are {labels.dtype}, not class indices (integers)"
        outside = labels[(labels < 0) | (labels >= data.num_classes)]
        if outside.size:
            return (f"the labels of the {name} split hold {int(outside[0])}, outside 0..{data.num_classes - 1} "
                    f"(num_classes {data.num_classes}): labels are class indices from 0")
    return ""


def failing_line(error: BaseException, file: str) -> str:
    """`file:line` of the last frame of `error`'s traceback in `file` (the user's code), or ''."""
    frames = [frame for frame in traceback.extract_tb(error.__traceback__) if frame.filename == file]
    return f"{frames[-1].filename}:{frames[-1].lineno}" if frames else ""
