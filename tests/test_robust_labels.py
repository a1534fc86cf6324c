"""Label sets a newcomer writes: one class is refused; names equal up to case copy the
right classifier row when fine-tuning."""

from __future__ import annotations

import pytest

from segmnv3.core.errors import DatasetError
from segmnv3.core.label_file import read_label_file
from segmnv3.core.label_set import ClassSpec, LabelSet
from segmnv3.engine.finetune import same_class_rows


def test_a_label_set_of_one_class_is_refused_with_what_to_add(tmp_path):
    path = tmp_path / "labels.yaml"
    path.write_text("classes:\n  - {name: cat, color: [128, 0, 0]}\n")
    with pytest.raises(DatasetError, match=r"one class \('cat'\) gives nothing to learn"):
        read_label_file(path)


def _labels(*names: str) -> LabelSet:
    return LabelSet(tuple(ClassSpec(n, (i, i, i)) for i, n in enumerate(names)))


def test_names_equal_up_to_case_copy_the_exact_row_or_none():
    source = _labels("road", "Road", "sky")
    target = _labels("Road", "road", "ROAD", "SKY")
    # exact names first; ROAD matches two source classes only up to case: no row copied
    assert same_class_rows(source, target) == {0: 1, 1: 0, 3: 2}
