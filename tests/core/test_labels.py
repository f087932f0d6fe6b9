from __future__ import annotations

import json

import numpy as np
import pytest

from segviewer.core.labels import LabelError, colorblind_palette, get_scheme, load_scheme_json, scheme_names


def test_builtin_schemes_have_expected_sizes():
    assert scheme_names() == ["bdd100k", "bdd100k-full", "cityscapes", "camvid"]
    assert get_scheme("bdd100k").num_classes == 19
    assert get_scheme("bdd100k-full").num_classes == 41
    assert get_scheme("cityscapes").num_classes == 34
    cam = get_scheme("camvid")
    assert cam.num_classes == 11 and cam.ignore_index == 11
    assert cam.names[0] == "Sky" and cam.names[-1] == "Bicyclist"


def test_bdd100k_colours_and_order():
    s = get_scheme("bdd100k")
    assert s.names[:5] == ["road", "sidewalk", "building", "wall", "fence"]
    assert s.classes[3].color == (102, 102, 156)
    assert s.classes[4].color == (190, 153, 153)
    assert s.ignore_index == 255


def test_bdd100k_full_order_matches_paper_table_and_maps_to_train_ids():
    full = get_scheme("bdd100k-full")
    assert full.names[0] == "unlabeled" and full.names[7] == "road" and full.names[40] == "truck"
    train = get_scheme("bdd100k")
    lut = full.train_lut
    # every mapped category lands on the training class of the same name
    for c in full.classes:
        if c.train_id != 255:
            assert train.names[c.train_id] == c.name
    assert lut[7] == 0 and lut[0] == 255 and lut[40] == 14 and lut[33] == 18
    assert sorted({c.train_id for c in full.classes} - {255}) == list(range(19))


def test_cityscapes_maps_label_ids_to_train_ids():
    cs = get_scheme("cityscapes")
    ids = np.array([[7, 8, 26], [0, 33, 4]], np.uint8)
    assert cs.to_train_ids(ids).tolist() == [[0, 1, 13], [255, 18, 255]]
    assert cs.training_scheme().name == "bdd100k"


def test_colorize_decolorize_round_trip():
    s = get_scheme("bdd100k")
    mask = np.array([[0, 1, 2], [18, 255, 10]], np.uint8)
    rgb = s.colorize(mask)
    assert tuple(rgb[0, 0]) == (128, 64, 128)
    assert tuple(rgb[1, 1]) == (0, 0, 0)
    np.testing.assert_array_equal(s.decolorize(rgb), mask)


def test_camvid_void_colour_is_ignore():
    cam = get_scheme("camvid")
    rgb = np.zeros((2, 2, 3), np.uint8)
    rgb[0, 0] = (128, 64, 128)
    assert cam.decolorize(rgb).tolist() == [[3, 11], [11, 11]]


def test_unknown_colour_error_names_colour_and_position():
    s = get_scheme("bdd100k")
    rgb = s.colorize(np.zeros((3, 4), np.uint8))
    rgb[2, 1] = (1, 2, 3)
    with pytest.raises(
        LabelError, match=r"\(1, 2, 3\) at \(x=1, y=2\).*mask\.png|mask\.png.*\(1, 2, 3\) at \(x=1, y=2\)"
    ):
        s.decolorize(rgb, source="mask.png")


def test_invalid_values():
    s = get_scheme("bdd100k")
    assert s.invalid_values(np.array([0, 18, 255, 19, 200], np.uint8)) == [19, 200]
    assert get_scheme("camvid").invalid_values(np.array([0, 11, 12])) == [12]


def test_custom_scheme_json(tmp_path):
    path = tmp_path / "roads.json"
    path.write_text(
        json.dumps(
            {
                "name": "roads",
                "ignore_index": 255,
                "classes": [{"name": "road", "color": [128, 64, 128]}, {"name": "car", "color": "#00008e"}],
            }
        )
    )
    s = get_scheme(path)
    assert s.name == "roads" and s.names == ["road", "car"]
    assert s.classes[1].color == (0, 0, 142)
    assert s.train_lut[1] == 1 and s.train_lut[5] == 255


@pytest.mark.parametrize(
    "content, message",
    [
        ("{not json", "not a readable JSON"),
        (json.dumps({"classes": []}), "non-empty"),
        (json.dumps({"classes": [{"name": "a", "color": [1, 2]}]}), "colour of 'a'"),
        (json.dumps({"classes": [{"id": 2, "name": "a", "color": [1, 2, 3]}]}), "without gaps"),
    ],
)
def test_bad_custom_scheme_messages_name_the_file(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(LabelError, match=message) as info:
        load_scheme_json(path)
    assert "bad.json" in str(info.value)


def test_unknown_scheme_name():
    with pytest.raises(LabelError, match="bdd100k, bdd100k-full, cityscapes, camvid"):
        get_scheme("nope")


def test_colorblind_palette_distinct_for_19_classes():
    pal = colorblind_palette(get_scheme("bdd100k"))
    colours = {tuple(pal[i]) for i in range(19)}
    assert len(colours) == 19
