"""ONNX export of a checkpoint: the network and everything needed to use it, in one self-contained file.

The checkpoint's metadata (model, classes with their colours, label scheme, input size, normalisation)
goes into the ONNX metadata properties, so `segviewer predict MODEL.onnx` and the viewer need nothing
else. The graph comes from the dynamo exporter (`torch.onnx.export(..., dynamo=True)`): it decomposes
SegNet's index unpooling (`max_unpool2d`, which the TorchScript exporter cannot export; pytorch issues
25088, 43367, 85388) into a ScatterND, so the PyTorch forward stays as it is.

A static export takes one (1, C, H, W) input of the checkpoint's input size, padding included. A
dynamic export takes any batch and any height and width that are multiples of the model's stride
(`multiple` in the metadata); the predictor pads to that multiple itself, as the PyTorch model does.
"""

from __future__ import annotations

import hashlib
import json
import logging
import warnings
from pathlib import Path

import torch

from segviewer import __version__
from segviewer.core.atomic import atomic_write
from segviewer.core.checkpoint import build_model_from_checkpoint, load_checkpoint
from segviewer.core.errors import UserError

FORMAT = "segviewer-onnx"
VERSION = 1
INPUT_NAME = "image"
OUTPUT_NAME = "logits"
NORMALIZATION_FORMULA = "RGB float32 (N, 3, H, W) = uint8 value / 127.5 - 1"


class OnnxExportError(UserError):
    """A checkpoint that cannot be exported, or an output file that cannot be written."""


def export_onnx(
    checkpoint: str | Path,
    out: str | Path,
    input_size: tuple[int, int] | None = None,
    dynamic: bool = False,
) -> Path:
    """Write the checkpoint's model to `out` (.onnx) with its metadata; returns the path written."""
    checkpoint, out = Path(checkpoint), Path(out).expanduser()
    if out.suffix.lower() != ".onnx":
        raise OnnxExportError(
            f"{out}: the output name must end in .onnx, e.g. --out {out.stem or 'model'}.onnx"
        )
    if out.exists() and out.resolve() == checkpoint.resolve():
        raise OnnxExportError(f"{out}: is the checkpoint itself; choose another --out")
    _check_exporter_installed()
    ckpt = load_checkpoint(checkpoint)
    if ckpt.get("normalization", "tf") != "tf":
        raise OnnxExportError(
            f"{checkpoint}: unknown input normalisation '{ckpt['normalization']}'; update segviewer"
        )
    model = build_model_from_checkpoint(ckpt)
    size = tuple(int(v) for v in (input_size or ckpt["input_size"]))
    if min(size) < 1:
        raise OnnxExportError(f"--input-size {size[0]}x{size[1]}: height and width must be positive")
    proto = _export_graph(model, size, dynamic).model_proto
    for key, value in metadata(ckpt, checkpoint, size, dynamic, int(model.multiple)).items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    payload = proto.SerializeToString()
    atomic_write(out, lambda f: f.write(payload), error=OnnxExportError, fix="choose another --out")
    return out


def _check_exporter_installed() -> None:
    try:
        import onnx  # noqa: F401
        import onnxscript  # noqa: F401
    except ImportError as exc:
        raise OnnxExportError(
            f"exporting to ONNX needs the onnx and onnxscript packages ({exc.name} is missing); "
            "install them with: pip install 'segviewer[onnx]'"
        ) from None


def metadata(ckpt: dict, source: Path, size: tuple[int, int], dynamic: bool, multiple: int) -> dict[str, str]:
    """The ONNX metadata properties (all strings; JSON where a value has structure)."""
    scheme = ckpt["scheme"]
    return {
        "segviewer.format": FORMAT,
        "segviewer.version": str(VERSION),
        "exported_by": f"segviewer {__version__}, torch {torch.__version__}",
        "model": str(ckpt["model"]),
        "model_options": json.dumps(ckpt.get("model_options") or {}),
        "num_classes": str(int(ckpt["num_classes"])),
        "scheme": json.dumps(scheme),
        "classes": json.dumps([c["name"] for c in scheme["classes"]]),
        "colors": json.dumps([list(c["color"]) for c in scheme["classes"]]),
        "ignore_index": str(int(scheme.get("ignore_index", 255))),
        "input_size": json.dumps(list(size)),
        "normalization": str(ckpt.get("normalization", "tf")),
        "normalization_formula": NORMALIZATION_FORMULA,
        "dynamic": json.dumps(bool(dynamic)),
        "multiple": str(multiple),
        "epoch": str(ckpt.get("epoch", "")),
        "val_miou": json.dumps(ckpt.get("val_miou")),
        "source_checkpoint": source.name,
        "source_sha256": file_sha256(source),
    }


def file_sha256(path: Path) -> str:
    """Ties an export to the exact checkpoint it came from (the viewer prefers such a twin)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _export_graph(model: torch.nn.Module, size: tuple[int, int], dynamic: bool):
    multiple = int(model.multiple)
    if dynamic:
        # an example of at least two of everything, so that no dimension is specialised to 1
        h, w = (max(2 * multiple, -(-v // multiple) * multiple) for v in size)
        example = torch.zeros(2, model.in_channels, h, w)
        shapes = {
            "x": {
                0: torch.export.Dim("batch", min=1),
                2: multiple * torch.export.Dim("height_steps", min=1),
                3: multiple * torch.export.Dim("width_steps", min=1),
            }
        }
    else:
        example, shapes = torch.zeros(1, model.in_channels, *size), None
    # "torchvision is not installed", "attribute type is ambiguous": notes for exporter developers
    loggers = [logging.getLogger(name) for name in ("torch.onnx", "onnx_ir", "onnxscript")]
    levels = [log.level for log in loggers]
    for log in loggers:
        log.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            return torch.onnx.export(
                model.eval(),
                (example,),
                dynamo=True,  # the TorchScript exporter cannot export max_unpool2d
                external_data=False,  # one file, weights included (SegNet: 118 MB, far below 2 GB)
                input_names=[INPUT_NAME],
                output_names=[OUTPUT_NAME],
                dynamic_shapes=shapes,
                verbose=False,
            )
    except Exception as exc:  # the exporter fails in many ways; all mean "this graph cannot be exported"
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise OnnxExportError(
            f"{getattr(model, 'name', 'model')}: ONNX export failed ({first[:300]}); "
            "try another --input-size or export without --dynamic"
        ) from None
    finally:
        for log, level in zip(loggers, levels, strict=True):
            log.setLevel(level)
