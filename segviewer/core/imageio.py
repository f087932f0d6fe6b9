"""Reading and writing images and label PNGs, with errors that name the file.

Images are returned as RGB uint8 (H, W, 3). Label files come back as raw values: palette PNGs give
their palette *indices* (never the colours), grayscale PNGs their values, colour PNGs an RGB array
that the caller maps through a scheme's palette.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from segviewer.core.atomic import atomic_write
from segviewer.core.errors import UserError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")


class ImageReadError(UserError):
    """An image or label file that is missing, unreadable or corrupt."""


def read_image(path: str | Path) -> np.ndarray:
    """RGB uint8 (H, W, 3)."""
    path = Path(path)
    data = _read_bytes(path)
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if img is None:
        raise ImageReadError(
            f"{path}: not a readable image (corrupt or unsupported format); replace or remove it"
        )
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def read_label(path: str | Path) -> tuple[np.ndarray, str]:
    """(array, kind): kind 'index' -> (H, W) values; kind 'color' -> (H, W, 3) RGB uint8.

    8-bit and 16-bit grayscale and RGB PNGs decode with OpenCV, which is about twice as fast as PIL and
    releases the GIL (so threads decode in parallel); palette, gray+alpha, low-bit and non-PNG files go
    through PIL, which keeps palette indices instead of expanding them to colours.
    """
    path = Path(path)
    if not path.is_file():
        raise ImageReadError(f"{path}: mask file not found")
    data = _read_bytes(path)
    if _png_decodes_with_opencv(data):
        arr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
        if arr is None:
            raise ImageReadError(f"{path}: not a readable mask PNG (corrupt data); replace or remove it")
        if arr.ndim == 2:
            return arr, "index"
        return cv2.cvtColor(arr, cv2.COLOR_BGRA2RGB if arr.shape[2] == 4 else cv2.COLOR_BGR2RGB), "color"
    return _read_label_pil(path)


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _png_decodes_with_opencv(data: bytes) -> bool:
    """True for PNGs whose IHDR says 8/16-bit gray, RGB or RGBA (colour types 0, 2, 6)."""
    if len(data) < 26 or not data.startswith(_PNG_SIGNATURE) or data[12:16] != b"IHDR":
        return False
    bit_depth, colour_type = data[24], data[25]
    return bit_depth in (8, 16) and colour_type in (0, 2, 6)


def _read_label_pil(path: Path) -> tuple[np.ndarray, str]:
    from PIL import Image, UnidentifiedImageError  # imported when needed: keeps command start-up short

    try:
        with Image.open(path) as im:
            mode = im.mode
            if mode == "P":
                arr = np.asarray(im)  # palette indices
                return arr.astype(np.uint8, copy=False), "index"
            if mode in ("L", "1"):
                return np.asarray(im.convert("L")), "index"
            if mode in ("I", "I;16", "I;16B", "I;16L"):
                arr = np.asarray(im).astype(np.int64)
                return arr, "index"
            if mode in ("LA",):
                return np.asarray(im)[..., 0], "index"
            return np.asarray(im.convert("RGB")), "color"
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ImageReadError(f"{path}: not a readable mask PNG ({exc}); replace or remove it") from None


def image_size(path: str | Path) -> tuple[int, int]:
    """(width, height) from the file header without decoding the pixels."""
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    try:
        with Image.open(path) as im:
            return im.size
    except FileNotFoundError:
        raise ImageReadError(f"{path}: file not found") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ImageReadError(f"{path}: not a readable image ({exc}); replace or remove it") from None


def write_png(path: str | Path, array: np.ndarray, palette: np.ndarray | None = None) -> None:
    """Write an 8-bit (H, W) or RGB (H, W, 3) PNG atomically; with `palette` (256, 3) a palette PNG."""
    from PIL import Image

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    arr = np.ascontiguousarray(array)
    if palette is not None:
        im = Image.fromarray(arr.astype(np.uint8), mode="P")
        im.putpalette(np.asarray(palette, np.uint8).reshape(-1).tolist())
    elif arr.ndim == 2:
        im = Image.fromarray(arr.astype(np.uint8), mode="L")
    else:
        im = Image.fromarray(arr.astype(np.uint8), mode="RGB")
    _atomic_write(path, lambda f: im.save(f, format="PNG", compress_level=1))


def write_jpeg(path: str | Path, rgb: np.ndarray, quality: int = 92) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ImageReadError(f"{path}: could not encode JPEG")
    _atomic_write(path, lambda f: f.write(buf.tobytes()))


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise ImageReadError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise ImageReadError(f"{path}: is a folder, not an image") from None
    except OSError as exc:
        raise ImageReadError(f"{path}: cannot be read ({exc.strerror})") from None


def _atomic_write(path: Path, write) -> None:
    atomic_write(path, write, kept="nothing else was changed")
