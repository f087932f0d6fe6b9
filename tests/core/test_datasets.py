"""Layout detection, pairing, splitting, mask decoding and dataset checks, on tiny generated data sets."""

from __future__ import annotations

import numpy as np
import pytest

from segviewer.core import check
from segviewer.core.check import Problem, check_dataset
from segviewer.core.datasets import DatasetError, decode_mask, open_dataset
from segviewer.core.imageio import write_jpeg, write_png
from segviewer.core.labels import get_scheme
from segviewer.core.layouts import LAYOUTS, split_counts
from tests.core import layout_fixtures as fx


def counts(ds) -> dict[str, tuple[int, int]]:
    return {name: (len(s), sum(x.mask is not None for x in s)) for name, s in ds.splits.items()}


def stripes(values) -> np.ndarray:
    return fx.mask(values)


# --- detection of every layout -----------------------------------------------------------------


def test_bdd10k_masks(tmp_path):
    ds = open_dataset(fx.write_bdd10k(tmp_path))
    assert (ds.format, ds.mask_kind, ds.scheme.name) == ("bdd100k-10k", "train_ids", "bdd100k")
    assert counts(ds) == {"train": (3, 3), "val": (2, 2), "test": (2, 0)}
    sample = ds.split("val")[1]
    assert sample.name == "val001" and sample.mask.name == "val001.png" and "masks" in sample.mask.parts
    assert np.array_equal(ds.load_mask(sample), stripes((0, 13, 255)))
    assert ds.load_image(sample).shape == (fx.H, fx.W, 3)
    assert ds.problems == []


def test_bdd10k_from_parent_folder(tmp_path):
    fx.write_bdd10k(tmp_path / "bdd100k")
    ds = open_dataset(tmp_path)
    assert ds.format == "bdd100k-10k" and ds.root == tmp_path / "bdd100k"


def test_bdd10k_colormaps_read_the_palette_index_not_the_colour(tmp_path):
    fx.write_bdd10k(tmp_path, colormaps=True)
    # Overwrite one colormap with a scrambled palette: colours no longer match the classes, indices do.
    scrambled = np.roll(get_scheme("bdd100k").palette, 7, axis=0)
    sample_mask = tmp_path / "labels/sem_seg/colormaps/train/train000.png"
    write_png(sample_mask, stripes((2, 11, 255)), scrambled)
    ds = open_dataset(tmp_path)
    assert ds.mask_kind == "palette" and counts(ds)["train"] == (3, 3)
    assert np.array_equal(ds.load_mask(ds.split("train")[0]), stripes((2, 11, 255)))
    assert np.array_equal(ds.load_mask(ds.split("train")[1]), stripes((0, 13, 255)))


def test_bdd10k_prefers_masks_over_colormaps(tmp_path):
    fx.write_bdd10k(tmp_path)
    fx.write_bdd10k(tmp_path, colormaps=True, values=(1, 2, 3))
    ds = open_dataset(tmp_path)
    assert ds.mask_kind == "train_ids" and "masks" in ds.split("train")[0].mask.parts


def test_bdd2018(tmp_path):
    ds = open_dataset(fx.write_bdd2018(tmp_path))
    assert ds.format == "bdd100k-2018" and ds.root == tmp_path / "seg"
    assert counts(ds) == {"train": (3, 3), "val": (2, 2), "test": (1, 0)}
    assert ds.split("train")[2].mask.name == "train002_train_id.png"
    assert open_dataset(tmp_path / "seg").format == "bdd100k-2018"


def test_cityscapes_prefers_label_train_ids(tmp_path):
    ds = open_dataset(fx.write_cityscapes(tmp_path))
    assert (ds.format, ds.mask_kind, ds.file_scheme.name) == ("cityscapes", "train_ids", "bdd100k")
    assert counts(ds) == {"train": (3, 3), "val": (2, 2)}
    sample = ds.split("train")[2]
    assert sample.name == "bochum_000000_000019"
    assert sample.mask.name == "bochum_000000_000019_gtFine_labelTrainIds.png"
    assert np.array_equal(ds.load_mask(sample), stripes((0, 13, 255)))
    assert ds.problems == []


def test_cityscapes_label_ids_mapped_to_training_ids(tmp_path):
    ds = open_dataset(fx.write_cityscapes(tmp_path, train_ids=False))
    assert (ds.mask_kind, ds.file_scheme.name, ds.scheme.name) == ("ids", "cityscapes", "bdd100k")
    sample = ds.split("val")[0]
    assert sample.mask.name.endswith("_gtFine_labelIds.png")
    # labelIds road 7 -> 0, car 26 -> 13, unlabeled 0 -> ignore 255
    assert np.array_equal(ds.load_mask(sample), stripes((0, 13, 255)))


def test_camvid(tmp_path):
    ds = open_dataset(fx.write_camvid(tmp_path))
    assert (ds.format, ds.scheme.name, ds.scheme.ignore_index) == ("camvid", "camvid", 11)
    assert counts(ds) == {"train": (3, 3), "val": (2, 2), "test": (2, 2)}
    assert np.array_equal(ds.load_mask(ds.split("test")[0]), stripes((0, 3, 11)))


def test_folder_grayscale_ids_with_named_scheme(tmp_path):
    fx.write_folder(tmp_path, count=6, values=(7, 35, 0))
    ds = open_dataset(tmp_path, "bdd100k-full")
    assert (ds.format, ds.mask_kind, ds.scheme.name) == ("folder", "ids", "bdd100k")
    sample = ds.splits["train"][0]
    assert np.array_equal(ds.load_mask(sample), stripes((0, 13, 255)))  # road, car, unlabeled


def test_folder_colour_masks_and_custom_json_scheme(tmp_path):
    fx.write_folder(tmp_path, count=4, values=(0, 13, 255), color_scheme="bdd100k")
    ds = open_dataset(tmp_path)
    assert ds.scheme.name == "bdd100k"
    assert np.array_equal(ds.load_mask(ds.splits["train"][0]), stripes((0, 13, 255)))

    scheme = tmp_path / "two.json"
    scheme.write_text(
        '{"name": "two", "classes": [{"name": "a", "color": [1, 2, 3]}, {"name": "b", "color": "#0a0b0c"}]}'
    )
    write_png(tmp_path / "masks" / "img000.png", stripes((1, 0, 255)))
    ds = open_dataset(tmp_path, str(scheme))
    assert ds.scheme.name == "two"
    assert np.array_equal(
        ds.load_mask(next(s for v in ds.splits.values() for s in v if s.name == "img000")),
        stripes((1, 0, 255)),
    )


def test_folder_with_split_subfolders(tmp_path):
    ds = open_dataset(fx.write_folder(tmp_path, splits=True))
    assert counts(ds) == {"train": (4, 4), "val": (2, 2), "test": (2, 2)}


# --- splitting ---------------------------------------------------------------------------------


def test_unsplit_folder_is_split_70_15_15_and_stable(tmp_path):
    fx.write_folder(tmp_path, count=20)
    first = open_dataset(tmp_path)
    assert {k: len(v) for k, v in first.splits.items()} == {"train": 14, "val": 3, "test": 3}
    again = open_dataset(tmp_path)
    assert first.splits == again.splits
    all_names = sorted(s.name for v in first.splits.values() for s in v)
    assert all_names == fx.names(20, "img")
    # Pinned: the split depends only on the names (sha1), the same on every machine and Python.
    assert [s.name for s in first.splits["val"]] == ["img001", "img014", "img015"]
    assert [s.name for s in first.splits["test"]] == ["img008", "img010", "img018"]


@pytest.mark.parametrize(
    "n, expected",
    [
        (0, (0, 0, 0)),
        (1, (1, 0, 0)),
        (3, (1, 1, 1)),
        (4, (2, 1, 1)),
        (10, (7, 2, 1)),
        (20, (14, 3, 3)),
        (100, (70, 15, 15)),
    ],
)
def test_split_counts(n, expected):
    assert split_counts(n) == expected and sum(expected) == n


# --- problems ----------------------------------------------------------------------------------


def test_pairing_problems_are_reported_not_paired_wrong(tmp_path):
    fx.write_bdd10k(tmp_path)
    mask_dir = tmp_path / "labels/sem_seg/masks/train"
    (mask_dir / "train001.png").rename(mask_dir / "orphan.png")
    ds = open_dataset(tmp_path)
    by_name = {s.name: s for s in ds.split("train")}
    assert by_name["train001"].mask is None and "orphan" not in by_name
    assert len(ds.problems) == 2
    assert any("train001.jpg: image has no mask" in p for p in ds.problems)
    assert any("orphan.png: mask has no image" in p for p in ds.problems)
    assert [s.name for s in ds.labelled("train")] == ["train000", "train002"]
    kinds = {(p.path.rsplit("/", 1)[-1], p.kind) for p in check_dataset(ds)}
    assert kinds == {("train001.jpg", check.PAIRING), ("orphan.png", check.PAIRING)}


def test_check_finds_corrupt_truncated_mismatched_and_invalid_files(tmp_path):
    fx.write_bdd10k(tmp_path, counts=(5, 1, 0))
    train = tmp_path / "images/10k/train"
    masks = tmp_path / "labels/sem_seg/masks/train"
    (train / "train000.jpg").write_bytes(b"not a jpeg at all")
    data = (train / "train001.jpg").read_bytes()
    (train / "train001.jpg").write_bytes(data[: len(data) // 2])
    write_png(masks / "train002.png", np.zeros((fx.H + 2, fx.W), np.uint8))
    write_png(masks / "train003.png", stripes((0, 19, 254, 255)))
    (masks / "train004.png").write_bytes(b"\x89PNG broken")
    seen = []
    problems = check_dataset(open_dataset(tmp_path), progress=lambda done, total: seen.append((done, total)))
    found = {(p.path.rsplit("/", 1)[-1], p.kind) for p in problems}
    assert found == {
        ("train000.jpg", check.UNREADABLE_IMAGE),
        ("train001.jpg", check.UNREADABLE_IMAGE),
        ("train002.png", check.SIZE_MISMATCH),
        ("train003.png", check.INVALID_VALUES),
        ("train004.png", check.UNREADABLE_MASK),
    }
    invalid = next(p for p in problems if p.kind == check.INVALID_VALUES)
    assert "19, 254" in invalid.message and "bdd100k" in invalid.message
    mismatch = next(p for p in problems if p.kind == check.SIZE_MISMATCH)
    assert "48x34" in mismatch.message and "48x32" in mismatch.message
    assert seen[-1] == (6, 6) and len(seen) == 6
    assert invalid.to_json() == {"path": invalid.path, "kind": "invalid-values", "message": invalid.message}


def test_check_clean_dataset_and_colour_mask_problems(tmp_path):
    fx.write_folder(tmp_path, count=3, color_scheme="bdd100k")
    ds = open_dataset(tmp_path)
    assert check_dataset(ds) == []
    bad = np.zeros((fx.H, fx.W, 3), np.uint8)
    bad[0, 0] = (1, 2, 3)
    write_png(tmp_path / "masks" / "img001.png", bad)
    problems = check_dataset(ds)
    assert [(p.kind, "(1, 2, 3)" in p.message) for p in problems] == [(check.INVALID_VALUES, True)]


def test_check_stops_when_asked(tmp_path):
    ds = open_dataset(fx.write_camvid(tmp_path))
    seen = []
    check_dataset(ds, progress=lambda d, t: seen.append(d), should_stop=lambda: len(seen) >= 2)
    assert seen == [1, 2]


def test_problem_str_names_the_file():
    assert str(Problem("/a/b.png", "pairing", "mask has no image")) == "/a/b.png: mask has no image"


# --- folders that are not data sets ------------------------------------------------------------


def test_unknown_folder_lists_the_expected_layouts(tmp_path):
    (tmp_path / "pictures").mkdir()
    (tmp_path / "notes.txt").write_text("no images here")
    with pytest.raises(DatasetError) as err:
        open_dataset(tmp_path)
    message = str(err.value)
    assert str(tmp_path) in message and "pictures/" in message and "notes.txt" in message
    for fmt, pattern in LAYOUTS.items():
        assert fmt in message and pattern in message


def test_empty_layout_and_missing_folder_are_user_errors(tmp_path):
    (tmp_path / "images" / "10k" / "train").mkdir(parents=True)
    with pytest.raises(DatasetError, match="holds no images"):
        open_dataset(tmp_path)
    with pytest.raises(DatasetError, match="folder not found"):
        open_dataset(tmp_path / "nope")


# --- the real sample data ----------------------------------------------------------------------


def test_shared_camvid(shared_data):
    ds = open_dataset(shared_data / "camvid")
    assert ds.format == "camvid" and ds.scheme.name == "camvid"
    assert counts(ds) == {"train": (62, 62), "val": (101, 101)}
    assert ds.problems == []
    m = ds.load_mask(ds.split("val")[0])
    assert m.shape == (360, 480) and m.max() <= 11


def test_shared_cityscapes_label_ids_match_train_ids(shared_data):
    ds = open_dataset(shared_data / "cityscapes-sample")
    assert ds.format == "cityscapes" and ds.mask_kind == "train_ids"
    (sample,) = ds.split("val")
    assert sample.name == "frankfurt_000000_000294"
    shipped = ds.load_mask(sample)
    label_ids = sample.mask.with_name(f"{sample.name}_gtFine_labelIds.png")
    mapped = decode_mask(label_ids, get_scheme("cityscapes"), "ids")
    assert mapped.shape == shipped.shape == (128, 256)
    differ = int((mapped != shipped).sum())
    assert differ <= 0.01 * shipped.size
    assert len(np.unique(shipped)) > 5


# --- unlabelled images and videos --------------------------------------------------------------


def test_folder_of_nested_images_opens_unlabelled_in_file_order(tmp_path):
    import cv2

    write_jpeg(tmp_path / "b.jpg", fx.image(1))
    write_png(tmp_path / "a.png", fx.image(2))
    (tmp_path / "seq").mkdir()
    cv2.imwrite(str(tmp_path / "seq" / "0002.webp"), cv2.cvtColor(fx.image(3), cv2.COLOR_RGB2BGR))
    write_png(tmp_path / "seq" / "0001.png", fx.image(4))
    write_png(tmp_path / ".hidden" / "x.png", fx.image(5))
    ds = open_dataset(tmp_path)
    assert ds.format == "images"
    samples = [s for split in ds.splits.values() for s in split]
    assert [s.name for s in samples] == ["a", "b", "seq/0001", "seq/0002"]
    assert all(s.mask is None for s in samples)
    assert ds.load_image(samples[3]).shape == fx.image(3).shape


def test_single_image_file_opens_as_one_unlabelled_sample(tmp_path):
    write_jpeg(tmp_path / "street.jpg", fx.image())
    ds = open_dataset(tmp_path / "street.jpg")
    (sample,) = [s for split in ds.splits.values() for s in split]
    assert ds.format == "images" and sample.name == "street" and sample.mask is None
    assert ds.load_image(sample).shape == fx.image().shape


def test_video_file_opens_as_frames_without_extracting(tmp_path):
    from segviewer.core.video import VideoWriter

    frames = [np.full((48, 64, 3), 20 * i, np.uint8) for i in range(6)]
    with VideoWriter(tmp_path / "drive.avi", 10, (64, 48)) as writer:
        for frame in frames:
            writer.write(frame)
    ds = open_dataset(tmp_path / "drive.avi")
    samples = [s for split in ds.splits.values() for s in split]
    assert ds.format == "video" and len(samples) == 6 and all(s.mask is None for s in samples)
    assert abs(float(ds.load_image(samples[4]).mean()) - 80) < 4  # MJPG is lossy
    assert sorted(p.name for p in tmp_path.iterdir()) == ["drive.avi"]  # nothing extracted


def test_corrupt_video_and_unknown_file_name_the_file_and_the_fix(tmp_path):
    from segviewer.core.errors import UserError

    (tmp_path / "broken.mp4").write_bytes(b"not a video" * 50)
    with pytest.raises(UserError) as err:
        open_dataset(tmp_path / "broken.mp4")
    assert "broken.mp4" in str(err.value) and "ffmpeg" in str(err.value)
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(DatasetError, match=r"notes\.txt.*\.mp4"):
        open_dataset(tmp_path / "notes.txt")
