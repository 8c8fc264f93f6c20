"""CLEVR's camera: a Blender perspective camera that tracks the origin.

The numbers come from CLEVR's ``base_scene.blend`` (read as data): the camera sits at
:data:`BASE_CAMERA_LOCATION` with a *Track To* constraint on the empty at the origin (so it
always looks at the origin with no roll, even after jitter), a 35 mm lens on a 32 mm sensor
fitted to the larger image side (49.1 degrees across a landscape image). The ground is the
plane z = 0; world z points up.

Pixel coordinates are continuous, with (0, 0) the top-left corner of the top-left pixel, so
pixel (i, j) covers ``[j, j + 1) x [i, i + 1)``. CLEVR's ``pixel_coords`` are
``[round(u), round(v), depth]`` with depth the distance along the viewing axis.

>>> cam = Camera((7.5, -6.5, 5.3), width=320, height=240)
>>> [round(float(c), 2) for c in cam.project([[0.0, 0.0, 0.0]])[0]]
[160.0, 120.0, 11.25]
>>> cam.pixel_coords((0.0, 0.0, 0.0))[:2]
[160, 120]
>>> [round(c, 4) for c in Camera().directions()["behind"]]  # CLEVR's published values
[-0.7545, 0.6563, 0.0]
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from clevrlang.language.errors import DataError

#: Camera and lamp positions in CLEVR's base scene (lamps are jittered per image).
BASE_CAMERA_LOCATION = (7.4811, -6.5076, 5.3437)
BASE_LIGHTS = {
    "key": (6.4467, -2.9052, 4.2584),
    "fill": (-4.6711, -4.0136, 3.0112),
    "back": (-1.1685, 2.6460, 5.8157),
}
LENS_MM = 35.0
SENSOR_MM = 32.0
WORLD_UP = np.array([0.0, 0.0, 1.0])


def _unit(v: np.ndarray) -> np.ndarray:
    n = float(np.linalg.norm(v))
    if n < 1e-12:
        raise DataError(f"camera: degenerate direction {v.tolist()}")
    return v / n


@dataclass(frozen=True)
class Camera:
    """A pinhole camera looking from ``location`` at ``look_at`` with world z up."""

    location: tuple[float, float, float] = BASE_CAMERA_LOCATION
    look_at: tuple[float, float, float] = (0.0, 0.0, 0.0)
    width: int = 480
    height: int = 320
    lens_mm: float = LENS_MM
    sensor_mm: float = SENSOR_MM

    # -- frame ---------------------------------------------------------------------------
    @property
    def forward(self) -> np.ndarray:
        """Unit viewing direction (the camera's -z in Blender terms)."""
        return _unit(np.asarray(self.look_at, float) - np.asarray(self.location, float))

    @property
    def right(self) -> np.ndarray:
        return _unit(np.cross(self.forward, WORLD_UP))

    @property
    def up(self) -> np.ndarray:
        return np.cross(self.right, self.forward)

    @property
    def focal_px(self) -> float:
        """Focal length in pixels (Blender's AUTO sensor fit: the sensor spans the longer side)."""
        return self.lens_mm / self.sensor_mm * max(self.width, self.height)

    @property
    def hfov_deg(self) -> float:
        return math.degrees(2 * math.atan(self.width / 2 / self.focal_px))

    def with_size(self, width: int, height: int) -> Camera:
        """The same camera rendering at another resolution."""
        return replace(self, width=int(width), height=int(height))

    # -- matrices (OpenCV convention: x right, y down, z forward) ---------------------------
    def intrinsic(self) -> np.ndarray:
        f = self.focal_px
        return np.array([[f, 0.0, self.width / 2], [0.0, f, self.height / 2], [0.0, 0.0, 1.0]])

    def rotation(self) -> np.ndarray:
        """World -> camera rotation (rows: right, down, forward)."""
        return np.stack([self.right, -self.up, self.forward])

    def extrinsic(self) -> np.ndarray:
        """3x4 world -> camera matrix ``[R | t]``."""
        r = self.rotation()
        t = -r @ np.asarray(self.location, float)
        return np.concatenate([r, t[:, None]], axis=1)

    # -- projection ----------------------------------------------------------------------
    def project(self, points) -> np.ndarray:
        """(N, 3) world points -> (N, 3) ``[u, v, depth]`` (continuous pixels, view depth)."""
        p = np.asarray(points, float).reshape(-1, 3) - np.asarray(self.location, float)
        x, y, z = p @ self.right, p @ self.up, p @ self.forward
        f = self.focal_px
        with np.errstate(divide="ignore", invalid="ignore"):
            u = self.width / 2 + f * x / z
            v = self.height / 2 - f * y / z
        return np.stack([u, v, z], axis=1)

    def pixel_coords(self, point) -> list:
        """CLEVR's ``pixel_coords`` of a 3D point: ``[int px, int py, float depth]``."""
        u, v, z = self.project([point])[0]
        return [int(round(u)), int(round(v)), float(z)]

    # -- CLEVR's ground-plane directions -----------------------------------------------------
    def directions(self) -> dict[str, list[float]]:
        """The six unit directions CLEVR records, from this camera's orientation.

        ``behind`` is the viewing direction flattened onto the ground, ``left`` the camera's
        left flattened onto the ground, ``above`` the ground normal; the others are opposites.
        """
        behind = _unit(self.forward * np.array([1.0, 1.0, 0.0]))
        left = _unit(-self.right * np.array([1.0, 1.0, 0.0]))
        above = WORLD_UP
        out = {}
        for name, v in (("behind", behind), ("front", -behind), ("left", left),
                        ("right", -left), ("above", above), ("below", -above)):
            out[name] = [float(c) + 0.0 for c in v]  # + 0.0 turns -0.0 into 0.0
        return out

    # -- (de)serialisation ---------------------------------------------------------------
    def to_dict(self) -> dict:
        """What a scene stores under ``"camera"`` (matrices for this resolution)."""
        return {
            "location": [float(c) for c in self.location],
            "look_at": [float(c) for c in self.look_at],
            "up": [0.0, 0.0, 1.0],
            "lens_mm": self.lens_mm,
            "sensor_width_mm": self.sensor_mm,
            "width": self.width,
            "height": self.height,
            "intrinsic": self.intrinsic().tolist(),
            "extrinsic": self.extrinsic().tolist(),
        }

    @classmethod
    def from_dict(cls, d: dict | None, width: int | None = None,
                  height: int | None = None) -> Camera:
        """The camera a scene stores (CLEVR's unjittered base camera when it stores none)."""
        d = d or {}
        try:
            cam = cls(
                location=tuple(float(c) for c in d.get("location", BASE_CAMERA_LOCATION)),
                look_at=tuple(float(c) for c in d.get("look_at", (0.0, 0.0, 0.0))),
                width=int(d.get("width", 480)),
                height=int(d.get("height", 320)),
                lens_mm=float(d.get("lens_mm", LENS_MM)),
                sensor_mm=float(d.get("sensor_width_mm", SENSOR_MM)),
            )
        except (TypeError, ValueError) as e:
            raise DataError(f"scene 'camera' entry is malformed: {e}") from None
        if width is not None and height is not None:
            cam = cam.with_size(width, height)
        return cam
