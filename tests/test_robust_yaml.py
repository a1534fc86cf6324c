"""A key written twice in any YAML we read is an error naming the key and both lines."""

import pytest

from segmnv3.core.errors import ConfigError, DatasetError
from segmnv3.core.label_file import read_label_file
from segmnv3.core.schema import load_yaml
from segmnv3.engine.config import load_config


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "model:\n  backbone: mobilenet_v3_small\n  backbone: mobilenet_v3_large\n",
            r"duplicate key 'backbone' on lines 2 and 3",
        ),
        (
            "train:\n  batch_size: 4\neval:\n  split: val\ntrain:\n  iterations: 10\n",
            r"duplicate key 'train' on lines 1 and 5",
        ),
    ],
)
def test_a_config_with_a_key_twice_is_refused(tmp_path, text, message):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message) as caught:
        load_config(path)
    assert str(path) in str(caught.value)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "classes:\n  - {name: a, color: [1, 2, 3], name: b}\n  - {name: c, color: [4, 5, 6]}\n",
            r"line 2 is not valid YAML \(duplicate key 'name' on lines 2 and 2",
        ),
        (
            "classes:\n  - {name: a, color: [1, 2, 3]}\nmask_format: index\n"
            "classes:\n  - {name: b, color: [4, 5, 6]}\n",
            r"line 4 is not valid YAML \(duplicate key 'classes' on lines 1 and 4",
        ),
    ],
)
def test_a_labels_file_with_a_key_twice_is_refused(tmp_path, text, message):
    path = tmp_path / "labels.yaml"
    path.write_text(text)
    with pytest.raises(DatasetError, match=message):
        read_label_file(path)


def test_merge_keys_and_distinct_keys_still_load():
    text = "base: &b {x: 1, y: 2}\nother:\n  <<: *b\n  y: 3\n"
    assert load_yaml(text) == {"base": {"x": 1, "y": 2}, "other": {"x": 1, "y": 3}}
