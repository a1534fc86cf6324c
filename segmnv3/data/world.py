"""The synthetic street's world objects, in metres (sampled by ``scene``, drawn by ``render``).

World frame: ``x`` metres to the right, ``y`` up, ``z`` forward along the street; the
camera sits at ``(camera_x, camera_height, camera_z)`` looking down +z. A scene holds
only geometry and colours, so the same scene renders consistently from any camera
position (the video clip drives the camera forward through one scene).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from segmnv3.data.sprites import Part

FAR = 250.0  # metres; the street ends in a skyline there


@dataclass
class Ground:
    """A flat rectangle on the ground, ``x0..x1`` by ``z0..z1``."""

    x0: float
    x1: float
    z0: float
    z1: float
    label_id: int
    color: tuple[float, float, float]


@dataclass
class Block:
    """A building: a box whose street-facing side is at ``x_face``."""

    x_face: float
    x_back: float
    z0: float
    z1: float
    height: float
    color: tuple[float, float, float]
    window_seed: int
    storey: float = 3.2


@dataclass
class Panel:
    """A vertical strip along the street (wall, fence, hedge) at lateral position ``x``."""

    x: float
    z0: float
    z1: float
    height: float
    label_id: int
    color: tuple[float, float, float]


@dataclass
class Sprite:
    """An upright object facing the camera at ``(x, z)``; ``speed`` in m/s along z."""

    x: float
    z: float
    parts: list[Part]
    speed: float = 0.0
    shadow: bool = True
    behind_panels: bool = False  # stands beyond the sidewalk (park trees)


@dataclass
class Scene:
    focal: float  # focal length in image widths
    horizon: float  # horizon row in image heights
    camera_x: float
    camera_height: float
    sky_top: tuple[float, float, float]
    sky_bottom: tuple[float, float, float]
    cloudiness: float
    ground: list[Ground] = field(default_factory=list)
    blocks: list[Block] = field(default_factory=list)
    panels: list[Panel] = field(default_factory=list)
    sprites: list[Sprite] = field(default_factory=list)
    ego_vehicle: float = 0.0  # hood height in image heights (0 = none)
    light_gain: float = 1.0
    tint: tuple[float, float, float] = (1.0, 1.0, 1.0)
    light_slope: float = 0.0  # brightness change from the left to the right edge
    blur: float = 0.0  # Gaussian blur sigma in pixels at 1024 px width (0 = sharp)
