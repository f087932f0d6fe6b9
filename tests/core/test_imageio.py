"""read_label: OpenCV for 8/16-bit gray and RGB(A) PNGs, PIL for palette and gray+alpha, same results."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image

from segviewer.core.imageio import ImageReadError, read_label


@pytest.mark.parametrize(
    ("mode", "array", "kind"),
    [
        ("L", np.arange(12, dtype=np.uint8).reshape(3, 4), "index"),
        ("I;16", (np.arange(12, dtype=np.uint16) * 300).reshape(3, 4), "index"),
        ("RGB", np.arange(36, dtype=np.uint8).reshape(3, 4, 3), "color"),
        ("RGBA", np.arange(48, dtype=np.uint8).reshape(3, 4, 4), "color"),
    ],
)
def test_opencv_path_returns_what_pil_would(tmp_path, mode, array, kind):
    path = tmp_path / "m.png"
    if mode == "I;16":
        cv2.imwrite(str(path), array)  # a 16-bit grayscale PNG
    else:
        Image.fromarray(array, mode).save(path)
    values, got_kind = read_label(path)
    assert got_kind == kind
    expected = array[..., :3] if kind == "color" else array
    assert values.shape == expected.shape and (values.astype(np.int64) == expected).all()


def test_palette_png_gives_indices_not_colours(tmp_path):
    path = tmp_path / "p.png"
    im = Image.fromarray(np.array([[0, 1], [2, 13]], np.uint8), "P")
    im.putpalette([255, 0, 0, 0, 255, 0, 0, 0, 255] + [9] * (253 * 3))
    im.save(path)
    values, kind = read_label(path)
    assert kind == "index" and values.tolist() == [[0, 1], [2, 13]]


def test_corrupt_png_names_the_file(tmp_path):
    path = tmp_path / "bad.png"
    Image.fromarray(np.zeros((8, 8), np.uint8), "L").save(path)
    data = path.read_bytes()
    path.write_bytes(data[:40] + b"\x00" * 20)
    with pytest.raises(ImageReadError, match="bad.png"):
        read_label(path)
