"""The demo data set: deterministic, varied, labelled with valid ids, written in the BDD100K 10K layout."""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest

from segviewer.core import demo
from segviewer.core.errors import UserError
from segviewer.core.imageio import read_image, read_label
from segviewer.core.labels import get_scheme

SMALL = (36, 64)
SCHEME = get_scheme("bdd100k")
MAJOR = ["road", "sidewalk", "building", "vegetation", "terrain", "sky", "car", "pole", "person"]
MAJOR += ["traffic sign", "traffic light"]


@pytest.fixture(scope="module")
def scenes() -> list[tuple[np.ndarray, np.ndarray]]:
    return [demo.render_scene(seed, (72, 128)) for seed in range(8)]


def test_same_seed_gives_identical_bytes():
    a_img, a_mask = demo.render_scene(7, SMALL)
    b_img, b_mask = demo.render_scene(7, SMALL)
    assert a_img.tobytes() == b_img.tobytes() and a_mask.tobytes() == b_mask.tobytes()


def test_different_seeds_differ():
    (a_img, a_mask), (b_img, b_mask) = demo.render_scene(1, SMALL), demo.render_scene(2, SMALL)
    assert not np.array_equal(a_img, b_img)
    assert not np.array_equal(a_mask, b_mask)


def test_shapes_and_types():
    img, mask = demo.render_scene(0, (40, 70))
    assert img.shape == (40, 70, 3) and img.dtype == np.uint8
    assert mask.shape == (40, 70) and mask.dtype == np.uint8


def test_too_small_size_is_refused():
    with pytest.raises(ValueError, match="too small"):
        demo.render_scene(0, (4, 64))


def test_every_major_class_appears_over_a_handful_of_scenes(scenes):
    seen = set()
    for _, mask in scenes:
        seen.update(SCHEME.name_of(int(v)) for v in np.unique(mask))
    missing = [name for name in MAJOR if name not in seen]
    assert not missing, f"classes never drawn in 8 scenes: {missing}"


def test_masks_hold_only_train_ids_and_are_mostly_labelled(scenes):
    for _, mask in scenes:
        assert SCHEME.invalid_values(mask) == []
        assert (mask == SCHEME.ignore_index).mean() < 0.05
        assert (mask == SCHEME.names.index("road")).any() and (mask == SCHEME.names.index("sky")).any()


def test_class_colours_are_textured_and_vary_between_images(scenes):
    """A model must not find the road by one exact colour: grain inside it, a different grey per image."""
    road = SCHEME.names.index("road")
    identical, means = [], []
    for img, mask in scenes:
        pairs = (mask[:, 1:] == road) & (mask[:, :-1] == road)
        identical.append((img[:, 1:] == img[:, :-1]).all(-1)[pairs].mean())
        means.append(img[mask == road].mean())
    assert np.mean(identical) < 0.25, "neighbouring road pixels are mostly the same colour: no texture"
    assert np.ptp(means) > 10, "the road has the same brightness in every image"


def test_generate_demo_writes_the_bdd100k_10k_layout(tmp_path):
    calls = []
    out = demo.generate_demo(
        tmp_path / "set", count=10, size=SMALL, seed=3, progress=lambda d, t: calls.append((d, t))
    )
    assert out == tmp_path / "set"
    images, masks = out / "images" / "10k", out / "labels" / "sem_seg" / "masks"
    counts = {s: len(list((images / s).glob("demo_*.jpg"))) for s in ("train", "val", "test")}
    assert counts == {"train": 7, "val": 2, "test": 1} == demo.split_counts(10)
    assert sorted(p.name for p in (masks / "train").iterdir()) == [f"demo_{i:04d}.png" for i in range(7)]
    assert sorted(p.name for p in (masks / "val").iterdir()) == ["demo_0007.png", "demo_0008.png"]
    assert not (masks / "test").exists() or not any((masks / "test").iterdir())
    assert calls == [(i, 10) for i in range(1, 11)]
    marker = json.loads((out / demo.MARKER).read_text())
    assert marker == {"count": 10, "size": [36, 64], "seed": 3, "version": demo.DEMO_VERSION}
    assert "BDD100K" in (out / "README.txt").read_text()
    mask, kind = read_label(masks / "val" / "demo_0008.png")
    assert kind == "index" and np.array_equal(mask, demo.render_scene(3 + 8, SMALL)[1])
    assert read_image(images / "test" / "demo_0009.jpg").shape == (36, 64, 3)


def test_generated_set_is_detected_as_bdd100k_10k(tmp_path):
    if importlib.util.find_spec("segviewer.core.layouts") is None:
        pytest.skip("segviewer.core.layouts is not written yet")
    from segviewer.core.datasets import open_dataset

    out = demo.generate_demo(tmp_path / "set", count=6, size=SMALL)
    ds = open_dataset(out)
    assert ds.format == "bdd100k-10k"
    assert len(ds.split("train")) == 4 and len(ds.split("val")) == 1
    sample = ds.split("val")[0]
    assert np.array_equal(ds.load_mask(sample), demo.render_scene(4, SMALL)[1])


def test_stopping_leaves_no_marker(tmp_path):
    done = []
    with pytest.raises(demo.DemoCancelled):
        demo.generate_demo(
            tmp_path / "set",
            10,
            SMALL,
            progress=lambda d, t: done.append(d),
            should_stop=lambda: len(done) >= 3,
        )
    assert done == [1, 2, 3]
    assert demo.read_marker(tmp_path / "set") is None


def test_ensure_demo_generates_once_then_reuses(tmp_path):
    target = tmp_path / "data" / "demo"
    calls = []
    assert demo.ensure_demo(target, count=4, size=SMALL, progress=lambda d, t: calls.append(d)) == target
    assert calls == [1, 2, 3, 4] and demo.read_marker(target)["count"] == 4
    demo.ensure_demo(target, count=4, size=SMALL, progress=lambda d, t: calls.append(d))
    assert calls == [1, 2, 3, 4], "an identical set was generated again"
    demo.ensure_demo(target, count=3, size=SMALL)  # different parameters: replaced
    assert demo.read_marker(target)["count"] == 3
    assert len(list((target / "images" / "10k" / "train").iterdir())) == 2
    assert sorted(p.name for p in target.parent.iterdir()) == ["demo"], "temporary folders left behind"


def test_each_scene_is_browsable_in_the_final_layout_when_reported(tmp_path):
    """The first-start promise: on_scene(0) fires after one scene, and the folder then opens as a set."""
    from segviewer.core.datasets import open_dataset

    out = tmp_path / "demo"
    seen = []

    def on_scene(index, image_path, mask_path):
        assert read_image(image_path).shape == (*SMALL, 3)
        if mask_path is not None:
            assert read_label(mask_path)[0].shape == SMALL
        if index == 0:
            ds = open_dataset(out)  # the unfinished set, as a window would list it now
            assert [s.image for s in ds.split("train")] == [image_path]
        seen.append((index, image_path.parent.name, mask_path is None))

    demo.ensure_demo(out, count=10, size=SMALL, on_scene=on_scene, workers=1)
    assert [i for i, _, _ in seen] == list(range(10))  # in index order, each once
    assert [split for _, split, _ in seen] == ["train"] * 7 + ["val"] * 2 + ["test"]
    assert [no_mask for *_, no_mask in seen] == [False] * 9 + [True]


def test_a_cancelled_set_is_unfinished_and_the_next_start_finishes_it(tmp_path, monkeypatch):
    target = tmp_path / "demo"
    done = []
    with pytest.raises(demo.DemoCancelled):
        demo.ensure_demo(
            target,
            count=6,
            size=SMALL,
            progress=lambda d, t: done.append(d),
            should_stop=lambda: len(done) >= 3,
        )
    assert demo.read_marker(target) is None  # never taken for a finished set
    assert demo.read_unfinished(target) == {
        "count": 6,
        "size": list(SMALL),
        "seed": 0,
        "version": demo.DEMO_VERSION,
    }
    assert len(list(target.rglob("demo_*.jpg"))) == 3
    (target / "images" / "10k" / "train" / ".demo_0003.jpg.x1y2.tmp").write_bytes(
        b"half"
    )  # a crash mid-write
    rendered, reported = [], []
    real = demo.render_scene
    monkeypatch.setattr(demo, "render_scene", lambda seed, size: rendered.append(seed) or real(seed, size))
    demo.ensure_demo(target, count=6, size=SMALL, on_scene=lambda i, *_: reported.append(i), workers=1)
    assert rendered == [3, 4, 5], "scenes already on disk were drawn again"
    assert reported == list(range(6))
    assert demo.read_marker(target)["count"] == 6 and demo.read_unfinished(target) is None
    assert not list(target.rglob("*.tmp"))
    fresh = demo.generate_demo(tmp_path / "fresh", count=6, size=SMALL)
    for path in fresh.rglob("demo_*"):
        assert (target / path.relative_to(fresh)).read_bytes() == path.read_bytes()


def test_replacing_a_demo_set_removes_only_its_own_files(tmp_path):
    target = tmp_path / "demo"
    demo.ensure_demo(target, count=5, size=SMALL)
    (target / "my notes.txt").write_text("mine")
    demo.ensure_demo(target, count=3, size=SMALL, seed=1)  # other parameters: the scenes are replaced
    assert (target / "my notes.txt").read_text() == "mine"
    assert sorted(p.name for p in target.rglob("demo_*.jpg")) == [
        "demo_0000.jpg",
        "demo_0001.jpg",
        "demo_0002.jpg",
    ]
    assert demo.read_marker(target)["seed"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo"]


def test_worker_processes_write_the_same_set_and_report_in_order(tmp_path):
    reported = []
    a = demo.generate_demo(
        tmp_path / "a", 8, SMALL, seed=2, on_scene=lambda i, *_: reported.append(i), workers=2
    )
    b = demo.generate_demo(tmp_path / "b", 8, SMALL, seed=2, workers=1)
    assert reported == list(range(8))
    files = sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert all((a / f).read_bytes() == (b / f).read_bytes() for f in files)
    done = []
    with pytest.raises(demo.DemoCancelled):
        demo.generate_demo(
            tmp_path / "c",
            8,
            SMALL,
            progress=lambda d, t: done.append(d),
            should_stop=lambda: len(done) >= 2,
            workers=2,
        )
    assert done == [1, 2] and demo.read_marker(tmp_path / "c") is None


def test_ensure_demo_refuses_a_folder_with_user_files(tmp_path):
    (tmp_path / "holiday.jpg").write_bytes(b"mine")
    with pytest.raises(UserError, match="not empty"):
        demo.ensure_demo(tmp_path, count=2, size=SMALL)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["holiday.jpg"]
    assert (tmp_path / "holiday.jpg").read_bytes() == b"mine"
