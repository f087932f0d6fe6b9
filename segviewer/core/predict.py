"""Prediction with a trained checkpoint: image in, mask and confidence out, both at the image's size.

The image is resized to the checkpoint's input size and normalised as in training; the logits are
upsampled bilinearly to the original size before the argmax, which gives smoother boundaries than
upsampling the argmax with nearest neighbour, at the cost of (C, H, W) floats per image.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from segviewer.core.checkpoint import build_model_from_checkpoint, load_checkpoint, scheme_from_json
from segviewer.core.errors import UserError
from segviewer.core.labels import LabelScheme
from segviewer.core.pipeline import normalize_tf, resize_image


class Predictor:
    """A model ready to predict, with the label scheme and metadata of its checkpoint."""

    def __init__(self, model: torch.nn.Module, meta: dict, device: torch.device) -> None:
        self.model = model.eval()
        self.meta = meta
        self.device = device
        self.scheme: LabelScheme = scheme_from_json(meta["scheme"])
        self.input_size: tuple[int, int] = (int(meta["input_size"][0]), int(meta["input_size"][1]))
        self.channels_last = device.type in ("cuda", "cpu")  # measured faster on both (README)
        if self.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)

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
        if meta.get("normalization", "tf") != "tf":
            raise UserError(
                f"{path}: unknown input normalisation '{meta['normalization']}'; update segviewer"
            )
        model = build_model_from_checkpoint(meta, torch_device)
        meta = {k: v for k, v in meta.items() if k not in ("state_dict", "optimizer", "train_state")}
        return cls(model, meta, torch_device)

    def logits(self, resized: np.ndarray) -> torch.Tensor:
        """uint8 (N, h, w, 3) already at `input_size` -> logits (N, C, h, w), normalised as in training.

        What `predict` takes the argmax of; label review (core/review.py) needs every class's score.
        """
        x = normalize_tf(torch.from_numpy(resized).to(self.device), self.channels_last)
        return self.model(x)

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
            x = normalize_tf(torch.from_numpy(resized).to(self.device), self.channels_last)
            logits = self.model(x).float()
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


def _check_rgb(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    if image.ndim != 3 or image.shape[2] not in (3, 4) or image.dtype != np.uint8:
        raise ValueError(f"expected an RGB uint8 image (H, W, 3), got {image.dtype} {image.shape}")
    return np.ascontiguousarray(image[..., :3])
