"""Lighting and materials: CLEVR's three lamps, matte rubber and shiny metal, in linear RGB.

Radiance is computed in linear light and encoded to sRGB at the end, as Blender does (CLEVR's
colour values are fed to Blender as linear albedos, which is why its colours look lighter
than their RGB numbers). Vectors are tuples of three 1-D arrays (see ``geometry``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_LAMPS = ("key", "fill", "back")


@dataclass(frozen=True)
class Look:
    """Every constant of the look, in one place (intensities are linear, white light)."""

    ground_albedo: float = 0.40
    key: float = 0.95
    fill: float = 0.30
    back: float = 0.25
    sky: float = 0.20  # hemisphere light from above
    bounce: float = 0.07  # light bounced off the ground onto undersides
    key_falloff: float = 0.012  # 1 / (1 + k d^2): the floor darkens away from the key lamp
    rubber_specular: float = 0.06
    rubber_shininess: float = 12.0
    metal_diffuse: float = 0.12
    metal_reflect: float = 1.0
    metal_specular: float = 2.5
    metal_shininess: float = 120.0
    env_horizon: float = 0.07  # CLEVR's dark world: radiance level with the ground ...
    env_zenith: float = 0.025  # ... and straight up, for mirror rays that miss everything
    contact_shadow: float = 0.55  # ambient occlusion strength around object bases ...
    contact_reach: float = 1.75  # ... fading out this many half-sizes from their centres


LOOK = Look()


def dot(a: tuple, b: tuple):
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]


def unit(xp, v: tuple) -> tuple:
    inv = 1.0 / xp.clip(xp.sqrt(dot(v, v)), 1e-9, None)
    return (v[0] * inv, v[1] * inv, v[2] * inv)


def lamp_vectors(xp, lights: dict, p: tuple) -> dict:
    """Unit vectors from points ``p`` to each lamp (``lights``: name -> position per point)."""
    out = {}
    for name in _LAMPS:
        lx, ly, lz = lights[name]
        v = (lx - p[0], ly - p[1], lz - p[2])
        d2 = dot(v, v)
        inv = 1.0 / xp.sqrt(d2)
        out[name] = ((v[0] * inv, v[1] * inv, v[2] * inv), d2)
    return out


def irradiance(xp, look: Look, n: tuple, lamps: dict, key_visible=None):
    """White light arriving at surfaces with normals ``n`` (key lamp optionally shadowed)."""
    ln, d2 = lamps["key"]
    key = xp.clip(dot(n, ln), 0.0, None) * (look.key / (1.0 + look.key_falloff * d2))
    if key_visible is not None:
        key = key * key_visible
    total = key + (0.5 * (look.sky + look.bounce)) + (0.5 * (look.sky - look.bounce)) * n[2]
    for name, strength in (("fill", look.fill), ("back", look.back)):
        total = total + strength * xp.clip(dot(n, lamps[name][0]), 0.0, None)
    return total


def ground_irradiance(xp, look: Look, lights: dict, p: tuple, key_visible):
    """``irradiance`` on the ground (normal (0, 0, 1), z = 0) at points ``p``, cheaply."""
    total = look.sky
    for name, strength in (("key", look.key), ("fill", look.fill), ("back", look.back)):
        lx, ly, lz = lights[name]
        dx, dy = lx - p[0], ly - p[1]
        d2 = dx * dx + dy * dy + lz * lz
        cos = lz / xp.sqrt(d2)  # lamps are above the ground
        if name == "key":
            total = total + cos * key_visible * (strength / (1.0 + look.key_falloff * d2))
        else:
            total = total + strength * cos
    return total


def highlights(xp, n: tuple, view: tuple, lamps: dict, shininess, key_visible):
    """Blinn-Phong highlights of the three lamps (the key's shadowed); shininess per point."""
    out = 0.0
    for name, strength in (("key", 1.0), ("fill", 0.35), ("back", 0.25)):
        ln = lamps[name][0]
        h = unit(xp, (ln[0] + view[0], ln[1] + view[1], ln[2] + view[2]))
        spec = xp.clip(dot(n, h), 0.0, None) ** shininess
        term = strength * xp.where(dot(n, ln) > 0, spec, 0.0)
        out = out + (term * key_visible if name == "key" else term)
    return out


def environment(xp, look: Look, r: tuple):
    """Radiance of the studio around the scene along directions ``r``."""
    return look.env_horizon + (look.env_zenith - look.env_horizon) * xp.clip(r[2], 0.0, 1.0)


def reflect(d: tuple, n: tuple) -> tuple:
    """Mirror directions ``d`` about normals ``n``."""
    k = 2.0 * dot(d, n)
    return (d[0] - k * n[0], d[1] - k * n[1], d[2] - k * n[2])


def surface_colour(xp, look: Look, albedo: tuple, metal, n, view, lamps, key_visible,
                   reflected: tuple) -> tuple:
    """Linear RGB leaving object surfaces toward the camera.

    Rubber: Lambert plus a faint sheen. Metal: a tinted mirror of what its reflected ray
    sees (``reflected``), a little diffuse colour, and strong highlights.
    """
    e = irradiance(xp, look, n, lamps, key_visible)
    shininess = xp.where(metal, look.metal_shininess, look.rubber_shininess)
    spec = highlights(xp, n, view, lamps, shininess, key_visible)
    spec = spec * xp.where(metal, look.metal_specular, look.rubber_specular)
    out = []
    for c in range(3):
        rubber = albedo[c] * e
        shiny = albedo[c] * (look.metal_diffuse * e + look.metal_reflect * reflected[c])
        tint = xp.where(metal, 0.4 + 0.6 * albedo[c], 1.0)  # metal tints its highlights
        out.append(xp.where(metal, shiny, rubber) + spec * tint)
    return tuple(out)


_TABLE_STEPS = 16384  # table entries per unit of linear light; the table spans [0, 4]


def _srgb_table() -> np.ndarray:
    x = np.arange(4 * _TABLE_STEPS + 1) / _TABLE_STEPS
    x = x / (1.0 + 0.12 * x * x)  # roll bright highlights off instead of clipping them
    return np.floor(np.clip(x * 1.06, 0.0, 1.0) ** (1 / 2.2) * 255 + 0.5).astype(np.uint8)


#: Linear light -> sRGB byte, indexed by ``round(linear * 16384)``.
SRGB_TABLE = _srgb_table()


def to_srgb8(xp, linear, table=None):
    """Linear light (any shape) -> sRGB bytes through a lookup table (a power is slow)."""
    if table is None:
        table = xp.asarray(SRGB_TABLE, "uint8")
    idx = xp.clip(linear * float(_TABLE_STEPS) + 0.5, 0.0, float(4 * _TABLE_STEPS))
    return table[xp.cast(idx, "int64")]
