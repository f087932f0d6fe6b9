"""Random training crops: one window for image and mask, reproducible from the sample's seed."""

from __future__ import annotations

import numpy as np
import pytest

from segviewer.core.datasets import open_dataset
from segviewer.core.demo import generate_demo
from segviewer.core.errors import UserError
from segviewer.core.pipeline import EpochSampler, SegmentationSet, random_crop

SIZE = (36, 64)


def positional(size=SIZE) -> np.ndarray:
    """RGB holding each pixel's row and column, the mask a class id that also changes with both."""
    rows, cols = np.indices(size)
    arr = np.zeros((*size, 4), np.uint8)
    arr[..., 0], arr[..., 1], arr[..., 3] = rows, cols, (rows + 2 * cols) % 19
    return arr


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return open_dataset(generate_demo(tmp_path_factory.mktemp("demo") / "demo", count=6, size=SIZE, seed=1))


def cropped_set(dataset, monkeypatch, crop=(16, 24)) -> SegmentationSet:
    monkeypatch.setattr(SegmentationSet, "load_resized", lambda self, sample: positional())
    return SegmentationSet(dataset, dataset.split("train"), SIZE, crop_size=crop)


def test_image_and_mask_are_cut_from_the_same_window(dataset, monkeypatch):
    data = cropped_set(dataset, monkeypatch)
    for key in EpochSampler(len(data), shuffle=True, seed=3):
        image, mask, problem = data[key]
        assert problem is None and tuple(image.shape) == (16, 24, 3) and tuple(mask.shape) == (16, 24)
        rows, cols = image[..., 0].numpy().astype(int), image[..., 1].numpy().astype(int)
        top, left = rows[0, 0], cols[0, 0]
        assert (rows == top + np.arange(16)[:, None]).all() and (cols == left + np.arange(24)).all()
        assert (mask.numpy() == (rows + 2 * cols) % 19).all()


def test_the_window_follows_the_seed_and_covers_the_image(dataset, monkeypatch):
    data = cropped_set(dataset, monkeypatch)
    corner = lambda seed: (int(data[(0, seed)][0][0, 0, 0]), int(data[(0, seed)][0][0, 0, 1]))  # noqa: E731
    assert corner(7) == corner(7)
    corners = {corner(seed) for seed in range(300)}
    assert len(corners) > 100  # many windows, not one
    tops, lefts = {t for t, _ in corners}, {c for _, c in corners}
    assert min(tops) == 0 and max(tops) == SIZE[0] - 16 and min(lefts) == 0 and max(lefts) == SIZE[1] - 24


def test_without_a_crop_or_with_a_full_size_crop_nothing_is_cut(dataset, monkeypatch):
    monkeypatch.setattr(SegmentationSet, "load_resized", lambda self, sample: positional())
    for crop in (None, SIZE):
        image, mask, _ = SegmentationSet(dataset, dataset.split("val"), SIZE, crop_size=crop)[(0, 5)]
        assert (image.numpy() == positional()[..., :3]).all() and (mask.numpy() == positional()[..., 3]).all()


def test_real_samples_crop_to_windows_of_their_resized_pictures(dataset, tmp_path):
    full = SegmentationSet(dataset, dataset.split("train"), SIZE, tmp_path / "cache")
    data = SegmentationSet(dataset, dataset.split("train"), SIZE, tmp_path / "cache", crop_size=(20, 30))
    whole = full.load_resized(full.samples[0])
    image, mask, _ = data[(0, 11)]
    expected_image, expected_mask = random_crop(whole[..., :3], whole[..., 3], (20, 30), 11)
    assert (image.numpy() == expected_image).all() and (mask.numpy() == expected_mask).all()


@pytest.mark.parametrize("crop", [(37, 64), (36, 65), (0, 10)])
def test_a_crop_that_does_not_fit_is_a_user_error(dataset, crop):
    with pytest.raises(UserError, match=f"{crop[0]}x{crop[1]} does not fit in the input size 36x64"):
        SegmentationSet(dataset, dataset.split("train"), SIZE, crop_size=crop)
