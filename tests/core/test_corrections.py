"""core/corrections.py and open_dataset's labels: corrections are a layer, originals are never written."""

from __future__ import annotations

import hashlib
import os

import numpy as np
import pytest

from segviewer.core import corrections as corr
from segviewer.core import paths
from segviewer.core.corrections import Corrections, apply_corrections
from segviewer.core.datasets import open_dataset
from segviewer.core.errors import UserError
from segviewer.core.imageio import read_label
from tests.core import layout_fixtures as fx


@pytest.fixture(autouse=True)
def data_home(monkeypatch, tmp_path):
    monkeypatch.setenv("SEGVIEWER_DATA_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def _digest(folder):
    return {
        p.relative_to(folder): hashlib.sha1(p.read_bytes()).hexdigest()
        for p in folder.rglob("*")
        if p.is_file()
    }


def test_write_read_delete_in_the_data_set_folder(tmp_path):
    root = fx.write_bdd10k(tmp_path / "bdd")
    store = Corrections(root)
    assert store.folder == root / ".segviewer" / "corrections" and not store.uses_data_home
    assert not store.folder.exists()  # opening a store writes nothing
    fixed = np.full((fx.H, fx.W), 2, np.uint8)
    path = store.write("train", "train000", fixed)
    assert path == root / ".segviewer" / "corrections" / "train" / "train000.png"
    values, kind = read_label(path)
    assert kind == "index" and values.dtype == np.uint8 and (values == 2).all()
    assert np.array_equal(store.read("train", "train000"), fixed)
    assert store.samples("train") == ["train000"] and store.splits() == ["train"]
    assert not list(path.parent.glob(".*.tmp"))  # the atomic writer left no temp file
    assert store.delete("train", "train000") and not store.delete("train", "train000")
    assert store.samples("train") == []


def test_read_only_root_uses_the_data_home_and_says_so(tmp_path, monkeypatch, data_home):
    root = fx.write_bdd10k(tmp_path / "bdd")
    real_access = os.access
    monkeypatch.setattr(
        corr.os, "access", lambda p, mode: False if str(p).startswith(str(root)) else real_access(p, mode)
    )
    store = Corrections(root)
    assert store.uses_data_home
    assert store.folder == data_home / "corrections" / paths.dataset_key(root)
    assert "cannot be written" in store.where() and str(store.folder) in store.where()
    store.write("val", "val000", np.zeros((fx.H, fx.W), np.uint8))
    assert not (root / ".segviewer").exists()
    monkeypatch.setattr(corr.os, "access", real_access)
    assert Corrections(root).folder == store.folder  # found again once the root is writable


def test_names_cannot_escape_the_folder(tmp_path):
    store = Corrections(fx.write_bdd10k(tmp_path / "bdd"))
    for bad in ("../x", "a/../../b", "..", "", "/abs", "a\\b"):
        with pytest.raises(ValueError):
            store.path("train", bad)
    with pytest.raises(ValueError):
        store.write("train", "train000", np.zeros((2, 2, 3), np.uint8))


def test_nested_sample_names_are_subfolders(tmp_path):
    store = Corrections(fx.write_bdd10k(tmp_path / "bdd"))
    path = store.write("all", "street/day/img001", np.ones((fx.H, fx.W), np.uint8))
    assert path == store.folder / "all" / "street" / "day" / "img001.png"
    store.write("all", "top", np.ones((fx.H, fx.W), np.uint8))
    assert store.samples("all") == ["street/day/img001", "top"]
    assert (store.read("all", "street/day/img001") == 1).all()


def test_reviewed_marks_are_remembered(tmp_path):
    root = fx.write_bdd10k(tmp_path / "bdd")
    store = Corrections(root)
    assert store.reviewed("val") == set()
    store.set_reviewed("val", "val001")
    store.set_reviewed("val", "val000")
    assert Corrections(root).reviewed("val") == {"val000", "val001"}
    store.set_reviewed("val", "val001", False)
    assert Corrections(root).reviewed("val") == {"val000"}
    assert store.samples("val") == []  # marks are not corrections


def test_open_dataset_applies_corrections_without_touching_originals(tmp_path):
    root = fx.write_bdd10k(tmp_path / "bdd")
    before = _digest(root)
    original = open_dataset(root)
    assert original.labels == "original"
    sample = original.splits["train"][1]
    original_mask = original.load_mask(sample)
    fixed = np.full((fx.H, fx.W), 5, np.uint8)
    Corrections(root).write("train", sample.name, fixed)
    # an unlabelled test image labelled from scratch becomes a labelled sample
    Corrections(root).write("test", "test000", np.ones((fx.H, fx.W), np.uint8))

    ds = open_dataset(root)
    assert ds.labels == "corrected"
    got = ds.splits["train"][1]
    assert got.corrected and got.original_mask == sample.mask
    assert np.array_equal(ds.load_mask(got), fixed)
    assert np.array_equal(ds.load_original_mask(got), original_mask)
    assert [s.name for s in ds.labelled("test")] == ["test000"]
    assert sum(s.corrected for split in ds.splits.values() for s in split) == 2

    plain = open_dataset(root, labels="original")
    assert plain.labels == "original" and not any(s.corrected for s in plain.splits["train"])
    assert np.array_equal(plain.load_mask(plain.splits["train"][1]), original_mask)
    after = _digest(root)
    assert {k: v for k, v in after.items() if k.parts[0] != ".segviewer"} == before


def test_corrections_of_an_ids_data_set_are_training_ids(tmp_path):
    root = fx.write_cityscapes(tmp_path / "city", train_ids=False)
    ds = open_dataset(root)
    assert ds.mask_kind == "ids"
    sample = ds.splits["val"][0]
    Corrections(ds.root).write("val", sample.name, np.full((fx.H, fx.W), 7, np.uint8))
    fixed = open_dataset(root).splits["val"][0]
    assert (open_dataset(root).load_mask(fixed) == 7).all()  # not mapped again as a label id


def test_corrected_without_corrections_is_an_error_and_orphans_are_problems(tmp_path):
    root = fx.write_bdd10k(tmp_path / "bdd")
    with pytest.raises(UserError, match="has no corrections"):
        open_dataset(root, labels="corrected")
    with pytest.raises(UserError, match="labels must be one of"):
        open_dataset(root, labels="mine")
    Corrections(root).write("train", "gone", np.zeros((fx.H, fx.W), np.uint8))
    ds = open_dataset(root)
    assert ds.labels == "original"
    assert any("gone.png: correction of no image" in p for p in ds.problems)


def test_summary_changes_with_the_contents(tmp_path):
    root = fx.write_bdd10k(tmp_path / "bdd")
    store = Corrections(root)
    store.write("train", "train000", np.zeros((fx.H, fx.W), np.uint8))
    first = store.summary()
    assert first["folder"] == str(store.folder) and first["splits"]["train"]["samples"] == 1
    store.write("train", "train000", np.ones((fx.H, fx.W), np.uint8))
    assert store.summary()["splits"]["train"]["sha1"] != first["splits"]["train"]["sha1"]
    assert corr.resolve_labels(root, "auto") == "corrected"
    assert apply_corrections(open_dataset(root, labels="original"), "auto").labels == "corrected"
