"""The object detector: an ultralytics YOLO model built from its yaml, saved as safetensors.

Nothing here unpickles: weights are a safetensors state dict whose metadata carries the
model's yaml (as JSON) and class names, and loading rebuilds the network from that yaml
before filling it (strictly). Prediction letterboxes RGB images the way ultralytics trains
(stride-multiple rectangles, grey padding), runs the network in batches and applies
class-agnostic NMS (a per-class NMS may report one object twice, as cube and cylinder).

>>> det = Detector.build("yolo11n.yaml", ("object",), imgsz=96)  # untrained
>>> det.predict([np.zeros((240, 320, 3), np.uint8)])[0].boxes.shape
(0, 4)
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from clevrlang.atomic import replacing
from clevrlang.language.errors import CheckpointError
from clevrlang.modules.engineered.offline import resolve_device, ultralytics

FORMAT = "clevrlang-yolo/1"
PAD_VALUE = 114  # ultralytics' letterbox grey


@dataclass
class Detections:
    """One image's detections: ``boxes`` (n, 4) ``[x0, y0, x1, y1]`` pixels, class, score."""

    boxes: np.ndarray
    classes: np.ndarray
    scores: np.ndarray

    def __len__(self) -> int:
        return len(self.boxes)

    @classmethod
    def empty(cls) -> Detections:
        return cls(np.zeros((0, 4)), np.zeros(0, int), np.zeros(0))


def build_model(cfg: str | dict, nc: int):
    """A fresh ``DetectionModel`` from a yaml name (``yolo11n.yaml``) or its dict."""
    ultralytics()
    from ultralytics.nn.tasks import DetectionModel

    return DetectionModel(cfg=cfg, nc=nc, verbose=False)


def state_tensors(model, half: bool = False) -> dict:
    """The model's state dict as contiguous CPU tensors (floats optionally in fp16)."""
    out = {}
    for k, v in model.state_dict().items():
        v = v.detach().to("cpu").contiguous().clone()
        out[k] = v.half() if half and v.is_floating_point() else v
    return out


def save_safetensors(path: Path, tensors: dict, metadata: dict) -> None:
    """Write tensors atomically (:func:`clevrlang.atomic.replacing`)."""
    from safetensors.torch import save_file

    with replacing(path) as tmp:
        save_file(tensors, str(tmp), metadata={k: str(v) for k, v in metadata.items()})


def read_safetensors(path: Path, expected_format: str) -> tuple[dict, dict]:
    """Tensors and metadata of a safetensors file; CheckpointError if unreadable or foreign."""
    from safetensors import SafetensorError, safe_open

    path = Path(path)
    if not path.is_file():
        raise CheckpointError("file not found", where=str(path))
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
            if meta.get("format") != expected_format:
                raise CheckpointError(f"not a {expected_format} file (format: "
                                      f"{meta.get('format', 'none')!r})", where=str(path))
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except (SafetensorError, OSError, ValueError, RuntimeError) as e:
        raise CheckpointError(f"corrupt safetensors file: {e}", where=str(path)) from None
    return tensors, meta


class Detector:
    """A YOLO network with its class names and input size, ready to predict."""

    def __init__(self, model, names: tuple[str, ...], imgsz: int, device: str = "auto"):
        self.model = model
        self.names = tuple(names)
        self.imgsz = int(imgsz)
        self.device = resolve_device(device)
        self.model.to(self.device).float().eval()
        self.stride = int(max(getattr(model, "stride", [32]).max().item(), 32))

    @classmethod
    def build(cls, cfg: str = "yolo11n.yaml", names=("object",), imgsz: int = 192,
              device: str = "auto") -> Detector:
        model = build_model(cfg, len(names))
        model.names = dict(enumerate(names))
        return cls(model, names, imgsz, device)

    def save(self, path: Path, half: bool = True) -> None:
        """Weights (fp16 by default: half the bytes, same detections) + yaml + names."""
        if getattr(self, "fused", False):
            raise CheckpointError("a fused detector (conv and batch norm merged for speed) "
                                  "cannot be saved; save before loading", where=str(path))
        meta = {"format": FORMAT, "yaml": json.dumps(self.model.yaml),
                "names": json.dumps(list(self.names)), "imgsz": self.imgsz}
        save_safetensors(path, state_tensors(self.model, half), meta)

    @classmethod
    def load(cls, path: Path, device: str = "auto", fuse: bool = True) -> Detector:
        """Rebuild from the stored yaml and load the weights strictly."""
        tensors, meta = read_safetensors(path, FORMAT)
        try:
            cfg = json.loads(meta["yaml"])
            names = tuple(json.loads(meta["names"]))
            imgsz = int(meta["imgsz"])
            model = build_model(cfg, len(names))
            state = model.state_dict()
            model.load_state_dict({k: v.to(state[k].dtype) if k in state else v
                                   for k, v in tensors.items()}, strict=True)
        except (KeyError, ValueError, TypeError, RuntimeError) as e:
            raise CheckpointError(f"weights do not fit the stored model: "
                                  f"{str(e).splitlines()[0]}", where=str(path)) from None
        model.names = dict(enumerate(names))
        if fuse:  # merge batch norms into convolutions: same outputs, faster inference
            model = model.fuse(verbose=False)
        det = cls(model, names, imgsz, device)
        det.fused = fuse
        return det

    # -- prediction ------------------------------------------------------------------------
    def _letterbox(self, image: np.ndarray, imgsz: int
                   ) -> tuple[np.ndarray, float, tuple[int, int]]:
        import cv2

        h, w = image.shape[:2]
        r = imgsz / max(h, w)
        nw, nh = max(1, round(w * r)), max(1, round(h * r))
        pw = math.ceil(nw / self.stride) * self.stride
        ph = math.ceil(nh / self.stride) * self.stride
        out = np.full((ph, pw, 3), PAD_VALUE, np.uint8)
        left, top = (pw - nw) // 2, (ph - nh) // 2
        out[top:top + nh, left:left + nw] = cv2.resize(image, (nw, nh),
                                                       interpolation=cv2.INTER_LINEAR)
        return out, r, (left, top)

    def predict(self, images, conf: float = 0.25, iou: float = 0.7, batch: int = 32,
                imgsz: int | None = None) -> list[Detections]:
        """Detections for each RGB uint8 image (boxes in the image's own pixels), the longer
        side scaled to ``imgsz`` (default: the size it was trained at)."""
        import torch
        from ultralytics.utils.nms import non_max_suppression

        out: list[Detections | None] = [None] * len(images)
        size = int(imgsz or self.imgsz)
        # Images of one size letterbox to one shape; each batch is letterboxed when it runs,
        # so an evaluation chunk's ~400 images are not held twice.
        groups: dict[tuple, list[int]] = {}
        for i, im in enumerate(images):
            groups.setdefault(np.shape(im)[:2], []).append(i)
        with torch.inference_mode():
            for idx in groups.values():
                for lo in range(0, len(idx), batch):
                    part = idx[lo:lo + batch]
                    boxed = [self._letterbox(np.asarray(images[i])[..., :3], size) for i in part]
                    x = torch.from_numpy(np.stack([b[0] for b in boxed]))
                    x = x.to(self.device).permute(0, 3, 1, 2).float().div_(255)
                    pred = self.model(x)
                    dets = non_max_suppression(pred, conf, iou, agnostic=True, max_det=64)
                    for i, b, d in zip(part, boxed, dets):
                        out[i] = self._unbox(d.float().cpu().numpy(), b, images[i])
        return out

    @staticmethod
    def _unbox(d: np.ndarray, boxed, image) -> Detections:
        _, r, (left, top) = boxed
        h, w = np.asarray(image).shape[:2]
        boxes = (d[:, :4] - np.array([left, top, left, top])) / r
        boxes[:, [0, 2]] = boxes[:, [0, 2]].clip(0, w)
        boxes[:, [1, 3]] = boxes[:, [1, 3]].clip(0, h)
        return Detections(boxes, d[:, 5].astype(int), d[:, 4])
