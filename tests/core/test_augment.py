"""Joint augmentation: masks move exactly with geometry, never with colour or weather; presets and seeds."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys

import numpy as np
import pytest

from segviewer.core.augment import (
    TRANSFORM_NAMES,
    TRANSFORM_TITLES,
    Augmenter,
    Preset,
    TransformSpec,
    apply_single,
    builtin_presets,
    is_geometric,
    load_preset,
    preview_grid,
    save_preset,
)
from segviewer.core.errors import UserError

PALETTE = np.array([[230, 20, 20], [20, 230, 20], [20, 20, 230], [230, 230, 20]], np.uint8)
NON_GEOMETRIC = [n for n in TRANSFORM_NAMES if not is_geometric(n)]


def scene() -> tuple[np.ndarray, np.ndarray]:
    """48x64 mask of four class blocks and an image whose colour encodes the class of each pixel."""
    mask = np.zeros((48, 64), np.uint8)
    mask[:, 20:] = 1
    mask[24:, 10:40] = 2
    mask[8:30, 44:60] = 3
    return PALETTE[mask], mask


def class_of_colour(image: np.ndarray) -> np.ndarray:
    """Nearest palette entry per pixel: which class the (interpolated) colour belongs to."""
    dist = ((image[:, :, None, :].astype(int) - PALETTE[None, None].astype(int)) ** 2).sum(-1)
    return dist.argmin(-1)


def all_at(p: float, strength: float = 0.5, names=TRANSFORM_NAMES) -> Preset:
    return Preset("test", [TransformSpec(n, p=p, strength=strength) for n in names])


def test_names_titles_and_builtins_agree():
    assert set(TRANSFORM_TITLES) == set(TRANSFORM_NAMES)
    presets = builtin_presets()
    assert {"none", "light", "standard", "weather"} <= set(presets)
    assert presets["none"].transforms == []
    weather = {t.name for t in presets["weather"].transforms}
    assert {"snow", "rain", "fog", "sun_flare", "shadow", "night"} <= weather
    assert is_geometric("rotate") and not is_geometric("snow")


def test_builtin_presets_are_copies():
    builtin_presets()["light"].transforms.clear()
    assert load_preset("light").transforms


def test_preset_round_trips_through_json_and_gives_identical_outputs(tmp_path):
    image, mask = scene()
    preset = all_at(0.5, 0.7)
    path = tmp_path / "mine.json"
    save_preset(preset, path)
    loaded = load_preset(path)
    assert loaded == preset
    assert Preset.from_json(preset.to_json()) == preset
    for seed in range(4):
        a = Augmenter(preset)(image, mask, seed=seed)
        b = Augmenter(loaded)(image, mask, seed=seed)
        assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])


def test_same_seed_same_output_different_seeds_differ():
    image, mask = scene()
    first, second = Augmenter(load_preset("weather")), Augmenter(load_preset("weather"))
    outs = [first(image, mask, seed=s) for s in range(6)]
    for s, (img, msk) in enumerate(outs):
        again = second(image, mask, seed=s)
        assert np.array_equal(img, again[0]) and np.array_equal(msk, again[1])
    assert any(not np.array_equal(outs[0][0], o[0]) for o in outs[1:])


def test_without_seed_each_call_differs():
    image, mask = scene()
    augment = Augmenter(all_at(1.0, names=["noise"]))
    assert not np.array_equal(augment(image, mask)[0], augment(image, mask)[0])


def test_transforms_with_equal_p_draw_independently():
    """With a seed, two transforms at p=0.5 must not always fire together (one shared random stream)."""
    image, mask = scene()
    augment = Augmenter(Preset("pair", [TransformSpec("hflip", 0.5), TransformSpec("night", 0.5)]))
    fired = []
    for seed in range(40):
        out, out_mask = augment(image, mask, seed=seed)
        flipped = not np.array_equal(out_mask, mask)
        night = out.mean() < image.mean() * 0.8
        fired.append((flipped, night))
    assert {(True, False), (False, True)} & set(fired)


@pytest.mark.parametrize("name", NON_GEOMETRIC)
@pytest.mark.parametrize("strength", [0.0, 1.0])
def test_colour_and_weather_never_touch_the_mask(name, strength):
    image, mask = scene()
    out, out_mask = apply_single(name, image, mask, strength=strength, seed=3)
    assert np.array_equal(out_mask, mask)
    assert out.shape == image.shape and out.dtype == np.uint8
    assert not np.array_equal(out, image), f"{name} did nothing at p=1"


def test_hflip_moves_the_mask_with_the_image():
    image, mask = scene()
    out, out_mask = apply_single("hflip", image, mask, seed=0)
    assert np.array_equal(out_mask, np.fliplr(mask))
    assert np.array_equal(out, np.fliplr(image))


@pytest.mark.parametrize("name", ["rotate", "scale_crop"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_geometry_keeps_image_and_mask_aligned(name, seed):
    image, mask = scene()
    out, out_mask = apply_single(name, image, mask, strength=1.0, seed=seed)
    assert set(np.unique(out_mask)) <= set(np.unique(mask)) | {255}, "nearest neighbour only: no new ids"
    labelled = out_mask != 255
    agree = (class_of_colour(out)[labelled] == out_mask[labelled]).mean()
    assert agree >= 0.97
    if name == "scale_crop":
        assert labelled.all(), "zoom-and-crop never pads"


def test_rotation_pads_masks_with_the_ignore_index_and_images_with_black():
    image, mask = scene()
    padded = 0
    for seed in range(6):
        out, out_mask = apply_single("rotate", image, mask, strength=1.0, seed=seed, ignore_index=11)
        assert set(np.unique(out_mask)) <= {0, 1, 2, 3, 11}
        pad = out_mask == 11
        padded += pad.sum()
        if pad.any():
            assert (out[pad].max(axis=1) < 128).mean() > 0.9
    assert padded > 0


def test_mask_may_be_none():
    image, _ = scene()
    out, out_mask = Augmenter(load_preset("standard"))(image, None, seed=1)
    assert out.shape == image.shape and out_mask is None


def test_empty_and_disabled_presets_return_the_input():
    image, mask = scene()
    preset = all_at(1.0)
    for spec in preset.transforms:
        spec.enabled = False
    for p in (load_preset("none"), preset):
        out, out_mask = Augmenter(p)(image, mask, seed=0)
        assert np.array_equal(out, image) and np.array_equal(out_mask, mask)


def test_pickled_augmenter_gives_the_same_results():
    image, mask = scene()
    augment = Augmenter(load_preset("weather"), ignore_index=11)
    expected = augment(image, mask, seed=7)  # pipeline built: pickling must still work
    clone = pickle.loads(pickle.dumps(augment))
    got = clone(image, mask, seed=7)
    assert np.array_equal(got[0], expected[0]) and np.array_equal(got[1], expected[1])


_INHERITED: list[Augmenter] = []


def _augment_inherited(queue) -> None:
    queue.put(_INHERITED[0](*scene())[0].tobytes())


@pytest.mark.skipif(sys.platform != "linux", reason="fork start method")
def test_forked_workers_do_not_share_one_random_stream():
    """Workers forked (not pickled) after the parent used the augmenter must still draw differently."""
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    augment = Augmenter(all_at(1.0, names=["noise"]))
    augment(*scene())
    _INHERITED[:] = [augment]
    queue = ctx.Queue()
    workers = [ctx.Process(target=_augment_inherited, args=(queue,)) for _ in range(2)]
    for w in workers:
        w.start()
    first, second = queue.get(timeout=30), queue.get(timeout=30)
    for w in workers:
        w.join(timeout=30)
    assert first != second


def test_preview_grid_is_deterministic_and_uses_seed_plus_i():
    image, mask = scene()
    preset = load_preset("standard")
    grid = preview_grid(image, mask, preset, count=3, seed=10)
    assert len(grid) == 3
    again = preview_grid(image, mask, preset, count=3, seed=10)
    assert all(np.array_equal(a[0], b[0]) for a, b in zip(grid, again, strict=True))
    third = Augmenter(preset)(image, mask, seed=12)
    assert np.array_equal(grid[2][0], third[0]) and np.array_equal(grid[2][1], third[1])


@pytest.mark.parametrize(
    "content, expected",
    [
        ("{not json", "not valid JSON"),
        (json.dumps({"name": "x", "transforms": [{"name": "snowstorm"}]}), "valid names: hflip"),
        (
            json.dumps({"name": "x", "transforms": [{"name": "rain", "p": 1.5}]}),
            "p must be a number from 0 to 1",
        ),
        (
            json.dumps({"name": "x", "transforms": [{"name": "rain", "probability": 1}]}),
            "unknown key(s) probability",
        ),
        (json.dumps({"name": "x", "transforms": [{"name": "fog"}, {"name": "fog"}]}), "listed twice"),
        (json.dumps([1, 2]), "expected an object"),
    ],
)
def test_invalid_preset_file_names_the_file_and_the_problem(tmp_path, content, expected):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(UserError) as info:
        load_preset(path)
    assert str(path) in str(info.value) and expected in str(info.value)


def test_saving_into_a_missing_folder_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="could not save the preset"):
        save_preset(load_preset("light"), tmp_path / "no-such-folder" / "p.json")


def test_unknown_preset_name_lists_the_builtins():
    with pytest.raises(UserError, match="use one of .*standard"):
        load_preset("stormy")


def test_defaults_fill_missing_spec_fields():
    preset = Preset.from_json('{"transforms": [{"name": "blur"}]}', "my.json")
    assert preset.name == "my" and preset.transforms == [TransformSpec("blur", 0.5, 0.5, True)]


def test_import_does_not_load_albumentations():
    code = "import sys, segviewer.core.augment; print('albumentations' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_real_camvid_pair_keeps_valid_mask_values(shared_data):
    from segviewer.core.imageio import read_image, read_label

    image = read_image(shared_data / "camvid/train/0016E5_01260.png")
    mask, _ = read_label(shared_data / "camvid/trainannot/0016E5_01260.png")
    for seed in range(2):
        out, out_mask = Augmenter(load_preset("weather"), ignore_index=11)(image, mask, seed=seed)
        assert out.shape == image.shape and out_mask.shape == mask.shape
        assert set(np.unique(out_mask)) <= set(np.unique(mask)) | {11}
