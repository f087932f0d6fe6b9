"""Prediction: image in, mask and confidence out, both at the image's size, from a checkpoint or an ONNX file.

The image is resized to the model's input size and normalised as in training; the logits are
upsampled bilinearly to the original size before the argmax, which gives smoother boundaries than
upsampling the argmax with nearest neighbour, at the cost of (C, H, W) floats per image.

One `Predictor` does that for two backends that only compute logits: PyTorch (a checkpoint) and
onnxruntime (a file from `segviewer export`, optional: `pip install segviewer[onnx]`). Resizing,
normalisation and post-processing are shared, so both give the same masks. `load_predictor(path)`
picks the backend from the file; the CLI and the viewer call only that.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from segviewer.core.checkpoint import build_model_from_checkpoint, load_checkpoint, scheme_from_json
from segviewer.core.errors import UserError
from segviewer.core.labels import LabelScheme
from segviewer.core.pipeline import normalize_tf, resize_image

ONNX_INSTALL_HINT = "install it with: pip install 'segviewer[onnx]'"


class Predictor:
    """A model ready to predict, with the label scheme and metadata of its checkpoint or ONNX file.

    `backend` is "torch" or "onnxruntime"; `meta` has the checkpoint's keys (model, num_classes,
    scheme, input_size, normalization, epoch, val_miou, path) for either.
    """

    def __init__(self, logits: Callable[[np.ndarray], torch.Tensor], meta: dict, backend: str) -> None:
        self._logits = logits
        self.meta = meta
        self.backend = backend
        self.scheme: LabelScheme = scheme_from_json(meta["scheme"])
        self.input_size: tuple[int, int] = (int(meta["input_size"][0]), int(meta["input_size"][1]))

    @property
    def model_name(self) -> str:
        return str(self.meta["model"])

    @classmethod
    def from_checkpoint(cls, path: str | Path, device: str = "cpu", threads: int | None = None) -> Predictor:
        from segviewer.core.devices import resolve_device, set_threads

        if threads is not None:
            set_threads(threads)
        torch_device = resolve_device(device)
        meta = load_checkpoint(path)
        _check_normalization(path, meta)
        model = build_model_from_checkpoint(meta, torch_device)
        meta = {k: v for k, v in meta.items() if k not in ("state_dict", "optimizer", "train_state")}
        return cls(TorchLogits(model, torch_device), meta, "torch")

    @classmethod
    def from_onnx(
        cls, path: str | Path, device: str = "cpu", threads: int | None = None, optimization: str = "all"
    ) -> Predictor:
        """An ONNX file written by `segviewer export`; a foreign or corrupt file is a UserError.

        `optimization` is onnxruntime's graph optimisation level (see `onnx_session`).
        """
        session = onnx_session(Path(path), device, threads, optimization)
        meta = onnx_metadata(Path(path), session.get_modelmeta().custom_metadata_map)
        return cls(OnnxLogits(Path(path), session, meta), meta, "onnxruntime")

    def logits(self, resized: np.ndarray) -> torch.Tensor:
        """uint8 (N, h, w, 3) already at `input_size` -> logits (N, C, h, w), normalised as in training.

        What `predict` takes the argmax of; label review (core/review.py) needs every class's score.
        """
        return self._logits(resized)

    def predict(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """RGB uint8 (H, W, 3) -> (mask uint8 (H, W) of training ids, confidence float32 (H, W))."""
        return self.predict_batch([image])[0]

    def predict_batch(
        self, images: list[np.ndarray], batch_size: int = 8
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        """Several images (any sizes) in batches of `batch_size`; results in input order."""
        out: list[tuple[np.ndarray, np.ndarray]] = []
        for start in range(0, len(images), batch_size):
            chunk = [_check_rgb(im) for im in images[start : start + batch_size]]
            out.extend(self._predict_chunk(chunk))
        return out

    def _predict_chunk(self, images: list[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray]]:
        resized = np.stack([resize_image(im, self.input_size) for im in images])
        with torch.inference_mode():
            logits = self._logits(resized).float()
            results = []
            for i, image in enumerate(images):
                h, w = image.shape[:2]
                one = logits[i : i + 1]
                if one.shape[-2:] != (h, w):
                    one = F.interpolate(one, size=(h, w), mode="bilinear", align_corners=False)
                prob = torch.softmax(one[0], dim=0)
                conf, mask = prob.max(dim=0)
                results.append((mask.to("cpu", torch.uint8).numpy(), conf.cpu().numpy().astype(np.float32)))
        return results


class TorchLogits:
    """uint8 (N, H, W, 3) -> logits (N, C, H, W) with a PyTorch model on its device."""

    def __init__(self, model: torch.nn.Module, device: torch.device) -> None:
        self.device = device
        self.channels_last = device.type in ("cuda", "cpu")  # measured faster on both (README)
        self.model = model.eval()
        if self.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)

    def __call__(self, images: np.ndarray) -> torch.Tensor:
        x = normalize_tf(torch.from_numpy(images).to(self.device), self.channels_last)
        return self.model(x)


class OnnxLogits:
    """The same with an onnxruntime session: pads to the model's stride for a dynamic export, runs a
    static one (batch 1) image by image, and returns the logits as a CPU tensor."""

    def __init__(self, path: Path, session: Any, meta: dict) -> None:
        from segviewer.core.models.blocks import pad_to_multiple

        self._pad = pad_to_multiple
        self.session = session
        self.input_name = session.get_inputs()[0].name
        shape = session.get_inputs()[0].shape
        self.multiple = int(meta["multiple"])
        self.static_batch = isinstance(shape[0], int)
        static_hw = [d for d in shape[2:] if isinstance(d, int)]
        if static_hw and tuple(shape[2:]) != tuple(meta["input_size"]):
            raise UserError(
                f"{path}: the model takes {shape[2]}x{shape[3]} images but its metadata says "
                f"{meta['input_size'][0]}x{meta['input_size'][1]}; export it again with segviewer export"
            )
        self.dynamic_hw = not static_hw

    def __call__(self, images: np.ndarray) -> torch.Tensor:
        x = normalize_tf(torch.from_numpy(images))
        h, w = x.shape[-2:]
        if self.dynamic_hw:
            x = self._pad(x, self.multiple)  # exactly what the PyTorch model does inside its forward
        batches = [x[i : i + 1] for i in range(len(x))] if self.static_batch else [x]
        outs = [self.session.run(None, {self.input_name: b.numpy()})[0] for b in batches]
        logits = torch.from_numpy(np.concatenate(outs) if len(outs) > 1 else outs[0])
        return logits[..., :h, :w]


def load_predictor(
    path: str | Path, device: str = "cpu", threads: int | None = None, fastest: bool = False
) -> Predictor:
    """The predictor for a checkpoint, a run folder (its best.pt) or an ONNX file, chosen by content.

    With `fastest`, a checkpoint that has an ONNX twin beside it (`best.onnx` exported from this very
    `best.pt`) is timed on both backends when onnxruntime is installed and the device is the CPU, and
    the faster one is kept: which one wins depends on the model and the machine (README, Measured).
    """
    from segviewer.core.evaluation import resolve_checkpoint

    path = resolve_checkpoint(path)
    if is_onnx_file(path):
        return Predictor.from_onnx(path, device=device, threads=threads)
    if fastest and _cpu_device(device) and onnxruntime_available():
        twin = _onnx_twin(path, threads)
        if twin is not None:
            return faster(Predictor.from_checkpoint(path, device=device, threads=threads), twin)
    return Predictor.from_checkpoint(path, device=device, threads=threads)


def faster(*predictors: Predictor, runs: int = 2) -> Predictor:
    """The predictor with the shortest time for one image of its input size (after a warm-up call)."""

    def seconds(predictor: Predictor) -> float:
        image = np.full((*predictor.input_size, 3), 127, np.uint8)
        predictor.predict(image)  # first calls allocate and plan
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            predictor.predict(image)
            times.append(time.perf_counter() - start)
        return min(times)

    return min(predictors, key=seconds)


def is_onnx_file(path: Path) -> bool:
    """A .onnx name, or protobuf content (ONNX starts with field 1, ir_version); never a torch file."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(4)
    except OSError:
        return path.suffix.lower() == ".onnx"  # the loader reports the missing file
    if head.startswith(b"PK\x03\x04") or head[:1] == b"\x80":  # torch.save's zip, or an old pickle
        return False
    return path.suffix.lower() == ".onnx" or head[:1] == b"\x08"


def _onnx_twin(checkpoint: Path, threads: int | None) -> Predictor | None:
    """The ONNX predictor of `<stem>.onnx` beside the checkpoint if it was exported from this very file."""
    twin = checkpoint.with_suffix(".onnx")
    if not twin.is_file():
        return None
    from segviewer.core.onnx_export import file_sha256

    try:
        predictor = Predictor.from_onnx(twin, device="cpu", threads=threads)
    except UserError:  # a foreign or damaged twin is simply not used
        return None
    return predictor if predictor.meta.get("source_sha256") == file_sha256(checkpoint) else None


def onnxruntime_available() -> bool:
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def onnx_metadata(path: Path, props: dict[str, str]) -> dict:
    """The checkpoint-like metadata of an ONNX file from `segviewer export`, validated."""
    from segviewer.core.onnx_export import FORMAT, VERSION

    if props.get("segviewer.format") != FORMAT:
        raise UserError(
            f"{path}: an ONNX model, but not one written by `segviewer export` (it has no segviewer "
            "metadata: classes, input size, normalisation); export a checkpoint with "
            "`segviewer export CHECKPOINT --out MODEL.onnx`"
        )
    try:
        version = int(props.get("segviewer.version", "0"))
    except ValueError:
        version = VERSION + 1
    if version > VERSION:
        raise UserError(
            f"{path}: written by a newer segviewer (ONNX format version {version}); update segviewer"
        )
    try:
        meta = {
            "model": props["model"],
            "model_options": json.loads(props.get("model_options", "{}")),
            "num_classes": int(props["num_classes"]),
            "scheme": json.loads(props["scheme"]),
            "input_size": [int(v) for v in json.loads(props["input_size"])],
            "normalization": props.get("normalization", "tf"),
            "multiple": int(props.get("multiple", "1")),
            "epoch": int(props["epoch"]) if props.get("epoch", "").isdigit() else None,
            "val_miou": json.loads(props.get("val_miou", "null")),
            "source_sha256": props.get("source_sha256", ""),
            "path": str(path),
        }
        scheme_from_json(meta["scheme"])
    except (KeyError, ValueError, TypeError) as exc:
        raise UserError(
            f"{path}: its segviewer metadata is damaged ({type(exc).__name__}: {exc}); export it again"
        ) from None
    _check_normalization(path, meta)
    return meta


GRAPH_OPTIMIZATIONS = ("disable", "basic", "extended", "all")  # onnxruntime's levels, in its order


def onnx_session(path: Path, device: str, threads: int | None, optimization: str = "all") -> Any:
    """An onnxruntime session that neither spins idle threads nor takes more cores than asked.

    `optimization` "all" (onnxruntime's default) includes the CPU layout transforms (blocked NCHWc
    convolutions) that make it faster than PyTorch on U-Lite and SegNet; the other levels stay closer to
    PyTorch's arithmetic. Measured on SegNet, they change the share of masks equal to PyTorch's by less
    than 0.04 points while "disable" is 1.3-1.6x slower (README, Measured), so the fast one is the default.
    """
    try:
        import onnxruntime as ort
    except ImportError:
        raise UserError(
            f"{path}: predicting with an ONNX model needs onnxruntime; {ONNX_INSTALL_HINT}"
        ) from None
    from segviewer.core import paths

    if not path.is_file():
        raise UserError(f"{path}: ONNX model file not found")
    options = ort.SessionOptions()
    options.intra_op_num_threads = max(1, int(threads)) if threads else paths.usable_cores()
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    # idle worker threads otherwise spin for a while after each run, taking cores from the GUI
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    options.log_severity_level = 3  # errors only; warnings about unused initializers are noise here
    if optimization not in GRAPH_OPTIMIZATIONS:
        raise ValueError(
            f"optimization must be one of {', '.join(GRAPH_OPTIMIZATIONS)}, not {optimization!r}"
        )
    level = "ORT_DISABLE_ALL" if optimization == "disable" else f"ORT_ENABLE_{optimization.upper()}"
    options.graph_optimization_level = getattr(ort.GraphOptimizationLevel, level)
    try:
        return ort.InferenceSession(str(path), options, providers=_providers(ort, device))
    except Exception as exc:  # InvalidProtobuf, Fail, InvalidGraph...: all mean "not a usable model"
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(
            f"{path}: not a readable ONNX model ({first[:200]}); it may be corrupt or truncated, "
            "export it again with segviewer export"
        ) from None


def _providers(ort: Any, device: str) -> list[str]:
    name = (device or "auto").lower()
    available = ort.get_available_providers()
    if name.startswith("cuda") or name == "auto":
        if "CUDAExecutionProvider" in available:
            return ["CUDAExecutionProvider", "CPUExecutionProvider"]
        if name != "auto":
            raise UserError(
                f"--device {name}: this onnxruntime has no CUDA support; install onnxruntime-gpu or use --device cpu"
            )
    elif name not in ("cpu",):
        raise UserError(f"--device {name}: ONNX models run on cpu or cuda here; use --device cpu")
    return ["CPUExecutionProvider"]


def _cpu_device(device: str) -> bool:
    name = (device or "auto").lower()
    if name == "cpu":
        return True
    if name != "auto":
        return False
    from segviewer.core.devices import resolve_device

    return resolve_device("auto").type == "cpu"


def _check_normalization(path: str | Path, meta: dict) -> None:
    if meta.get("normalization", "tf") != "tf":
        raise UserError(f"{path}: unknown input normalisation '{meta['normalization']}'; update segviewer")


def _check_rgb(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    if image.ndim != 3 or image.shape[2] not in (3, 4) or image.dtype != np.uint8:
        raise ValueError(f"expected an RGB uint8 image (H, W, 3), got {image.dtype} {image.shape}")
    return np.ascontiguousarray(image[..., :3])
