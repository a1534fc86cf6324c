"""Rasterise a synthetic street scene into an image, a label-id map and an instance-id map.

Everything is drawn back to front (painter's algorithm) with the same polygons into the
image and the label maps, so labels are exact. Appearance comes from per-object colours,
facade windows, per-class noise textures, clouds, cast shadows and a global light/tint,
so that a model has to use shape and context, not a colour lookup.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from segmnv3.data.labels import NAME_TO_LABEL
from segmnv3.data.sprites import ID
from segmnv3.data.world import FAR, Block, Ground, Panel, Scene, Sprite

NEAR = 0.6  # metres; geometry closer than this to the camera plane is clipped
_SHIFT = 4  # fixed-point bits for sub-pixel polygon vertices
_INSTANCE_IDS = {label.id for label in NAME_TO_LABEL.values() if 24 <= label.id <= 33}

# Texture strength per label id: (fine grain, coarse blotches), in grey levels.
_GRAIN = np.full(256, 4.0, dtype=np.float32)
_BLOTCH = np.full(256, 4.0, dtype=np.float32)
for _name, (_fine, _coarse) in {
    "road": (7, 10),
    "sidewalk": (6, 8),
    "building": (5, 10),
    "wall": (8, 12),
    "fence": (10, 6),
    "vegetation": (22, 25),
    "terrain": (14, 20),
    "sky": (1.5, 0),
    "parking": (6, 6),
}.items():
    _GRAIN[ID[_name]], _BLOTCH[ID[_name]] = _fine, _coarse


@dataclass
class Camera:
    """Pinhole camera looking down +z; ``u = cx + f x / z``, ``v = cy + f (h - y) / z``."""

    width: int
    height: int
    focal: float  # pixels
    cy: float
    x: float
    y: float
    z: float

    def project(self, x, y, z) -> np.ndarray:
        depth = np.asarray(z, float) - self.z
        u = self.width / 2 + self.focal * (np.asarray(x, float) - self.x) / depth
        v = self.cy + self.focal * (self.y - np.asarray(y, float)) / depth
        return np.stack(np.broadcast_arrays(u, v), axis=-1)


class Canvas:
    """An image plus label-id, instance-id and shading layers drawn with the same polygons."""

    def __init__(self, height: int, width: int) -> None:
        self.image = np.zeros((height, width, 3), dtype=np.uint8)  # BGR
        self.labels = np.zeros((height, width), dtype=np.uint8)
        self.instances = np.zeros((height, width), dtype=np.uint16)  # 0 = no instance
        self.shade = np.ones((height, width), dtype=np.float32)

    def fill(
        self, polygons: list[np.ndarray], label_id: int | None, color, instance: int = 0
    ) -> None:
        """Fill pixel-space polygons (even-odd); ``label_id=None`` paints the image only."""
        points = [np.round(p * (1 << _SHIFT)).astype(np.int32) for p in polygons]
        cv2.fillPoly(self.image, points, color, cv2.LINE_AA, _SHIFT)
        # Cityscapes' json2labelImg skips polygons with a negative id (license plate, -1):
        # a plate keeps its vehicle's label and instance, and no labelIds PNG holds 255.
        if label_id is not None and label_id != ID["license plate"]:
            cv2.fillPoly(self.labels, points, int(label_id), cv2.LINE_8, _SHIFT)
            cv2.fillPoly(self.instances, points, int(instance), cv2.LINE_8, _SHIFT)

    def darken(self, polygons: list[np.ndarray], factor: float) -> None:
        points = [np.round(p * (1 << _SHIFT)).astype(np.int32) for p in polygons]
        cv2.fillPoly(self.shade, points, float(factor), cv2.LINE_8, _SHIFT)


def render(
    scene: Scene,
    size: tuple[int, int],
    rng: np.random.Generator,
    camera_z: float = 0.0,
    time: float = 0.0,
):
    """Draw ``scene`` seen from ``camera_z`` at ``time`` seconds (moving sprites advance).

    Returns:
        (image (H, W, 3) uint8 BGR, label ids (H, W) uint8, instance ids (H, W) uint16).
    """
    height, width = size
    camera = Camera(
        width,
        height,
        scene.focal * width,
        scene.horizon * height,
        scene.camera_x,
        scene.camera_height,
        camera_z,
    )
    canvas = Canvas(height, width)
    _sky_and_horizon(canvas, scene, camera, rng)
    for ground in scene.ground:
        _draw_ground(canvas, camera, ground)
    placed = [(sprite, sprite.z + sprite.speed * time) for sprite in scene.sprites]
    for sprite, z in placed:
        if sprite.shadow and z - camera.z > NEAR:
            _cast_shadow(canvas, camera, sprite, z)
    for block in sorted(scene.blocks, key=lambda b: -b.z0):
        _draw_block(canvas, camera, block)
    back = sorted((p for p in placed if p[0].behind_panels), key=lambda p: -p[1])
    front = sorted((p for p in placed if not p[0].behind_panels), key=lambda p: -p[1])
    counters: dict[int, int] = {}
    for sprite, z in back:
        _draw_sprite(canvas, camera, sprite, z, counters)
    for panel in scene.panels:
        _draw_panel(canvas, camera, panel)
    for sprite, z in front:
        _draw_sprite(canvas, camera, sprite, z, counters)
    if scene.ego_vehicle > 0:
        _draw_ego_vehicle(canvas, scene.ego_vehicle)
    image = _finish(canvas, scene, rng)
    instances = np.where(canvas.instances > 0, canvas.instances, canvas.labels).astype(np.uint16)
    return image, canvas.labels, instances


def _sky_and_horizon(canvas: Canvas, scene: Scene, camera: Camera, rng) -> None:
    height, width = canvas.labels.shape
    horizon = int(np.clip(camera.cy, 1, height - 1))
    ramp = np.linspace(0, 1, horizon, dtype=np.float32)[:, None, None]
    top, bottom = np.array(scene.sky_top, np.float32), np.array(scene.sky_bottom, np.float32)
    canvas.image[:horizon] = (top * (1 - ramp) + bottom * ramp).astype(np.uint8)
    canvas.labels[:horizon] = ID["sky"]
    if scene.cloudiness > 0:
        clouds = cv2.resize(
            rng.random((6, 12), dtype=np.float32), (width, horizon), interpolation=cv2.INTER_CUBIC
        )
        alpha = np.clip((clouds - (1 - scene.cloudiness)) * 2.5, 0, 0.85)[..., None]
        canvas.image[:horizon] = (canvas.image[:horizon] * (1 - alpha) + 235 * alpha).astype(
            np.uint8
        )
    canvas.image[horizon:] = (90, 120, 110)
    canvas.labels[horizon:] = ID["terrain"]
    _skyline(canvas, camera, rng)


def _skyline(canvas: Canvas, camera: Camera, rng) -> None:
    """Distant blocks and trees where the street meets the horizon."""
    for _ in range(int(rng.integers(6, 14))):
        x0 = rng.uniform(-120, 120)
        top = rng.uniform(10, 45)
        is_tree = rng.random() < 0.3
        corners = camera.project([x0, x0 + rng.uniform(10, 40)], [0, top], FAR + 60)
        (u0, v0), (u1, v1) = corners
        poly = np.array([[u0, v0], [u1, v0], [u1, v1], [u0, v1]])
        color = (60, 110, 70) if is_tree else tuple(float(c) for c in rng.uniform(120, 190, 3))
        canvas.fill([poly], ID["vegetation" if is_tree else "building"], color)


def _ground_quad(camera: Camera, x0, x1, z0, z1) -> np.ndarray | None:
    z0 = max(z0, camera.z + NEAR)
    if z1 <= z0:
        return None
    return camera.project([x0, x1, x1, x0], 0.0, [z0, z0, z1, z1])


def _draw_ground(canvas: Canvas, camera: Camera, ground: Ground) -> None:
    quad = _ground_quad(camera, ground.x0, ground.x1, ground.z0, ground.z1)
    if quad is not None:
        canvas.fill([quad], ground.label_id, ground.color)


def _cast_shadow(canvas: Canvas, camera: Camera, sprite: Sprite, z: float) -> None:
    xs = np.concatenate([p[:, 0] for part in sprite.parts for p in part.polygons])
    angle = np.linspace(0, 2 * np.pi, 12, endpoint=False)
    half = (xs.max() - xs.min()) / 2 * 1.05
    xc = sprite.x + (xs.max() + xs.min()) / 2
    ring = camera.project(xc + half * np.cos(angle), 0.0, z + 0.5 + 1.2 * np.sin(angle))
    canvas.darken([ring], 0.55)


def _draw_block(canvas: Canvas, camera: Camera, block: Block) -> None:
    z0 = max(block.z0, camera.z + NEAR)
    if block.z1 <= z0:
        return
    if block.z0 > camera.z + NEAR:  # the end wall facing the camera
        front = camera.project(
            [block.x_face, block.x_back, block.x_back, block.x_face],
            [0, 0, block.height, block.height],
            block.z0,
        )
        canvas.fill([front], ID["building"], tuple(c * 0.8 for c in block.color))
    side = camera.project(
        block.x_face, [0, 0, block.height, block.height], [z0, block.z1, block.z1, z0]
    )
    canvas.fill([side], ID["building"], block.color)
    _draw_windows(canvas, camera, block, z0)


def _draw_windows(canvas: Canvas, camera: Camera, block: Block, z_start: float) -> None:
    rng = np.random.default_rng(block.window_seed)  # same windows from every camera position
    spacing = rng.uniform(2.2, 4.0)
    width, tall = spacing * rng.uniform(0.35, 0.6), block.storey * rng.uniform(0.35, 0.55)
    floors = np.arange(
        block.storey * 0.3 + (1.0 if rng.random() < 0.5 else 0), block.height - tall, block.storey
    )
    columns = np.arange(block.z0 + 0.8, block.z1 - width, spacing)
    glass = np.array([rng.uniform(60, 120), rng.uniform(50, 90), rng.uniform(30, 70)])
    lit = rng.random((len(floors), len(columns))) < 0.15
    visible = columns >= z_start
    if not visible.any() or len(floors) == 0:
        return
    columns, lit = columns[visible], lit[:, visible]
    y = np.repeat(floors, len(columns))
    z = np.tile(columns, len(floors))
    quads = camera.project(
        block.x_face,
        np.stack([y, y, y + tall, y + tall], 1),
        np.stack([z, z + width, z + width, z], 1),
    )
    keep = (quads[:, 2, 1] - quads[:, 1, 1]) < -1.0  # skip windows under a pixel tall
    for quad, is_lit in zip(quads[keep], lit.reshape(-1)[keep], strict=True):
        canvas.fill([quad], None, tuple(glass * (2.2 if is_lit else 1.0)))


def _draw_panel(canvas: Canvas, camera: Camera, panel: Panel) -> None:
    z0 = max(panel.z0, camera.z + NEAR)
    if panel.z1 <= z0:
        return
    quad = camera.project(panel.x, [0, 0, panel.height, panel.height], [z0, panel.z1, panel.z1, z0])
    canvas.fill([quad], panel.label_id, panel.color)
    if panel.label_id == ID["fence"]:  # posts and rails, image only
        dark = tuple(c * 0.55 for c in panel.color)
        for z in np.arange(np.ceil(z0 / 2.5) * 2.5, panel.z1, 2.5):
            post = camera.project(
                panel.x, [0, 0, panel.height, panel.height], [z, z + 0.12, z + 0.12, z]
            )
            canvas.fill([post], None, dark)
        for y in (panel.height * 0.3, panel.height * 0.9):
            canvas.fill(
                [camera.project(panel.x, [y, y, y + 0.06, y + 0.06], [z0, panel.z1, panel.z1, z0])],
                None,
                dark,
            )


def _draw_sprite(
    canvas: Canvas, camera: Camera, sprite: Sprite, z: float, counters: dict[int, int]
) -> None:
    depth = z - camera.z
    if depth <= NEAR:
        return
    scale = camera.focal / depth
    anchor = camera.project(sprite.x, 0.0, z)
    height, width = canvas.labels.shape
    if scale < 0.3 or anchor[0] < -20 * scale or anchor[0] > width + 20 * scale:
        return  # sub-pixel or off-screen
    instance_of: dict[int, int] = {}
    for part in sprite.parts:
        polygons = [anchor + poly * [scale, -scale] for poly in part.polygons]
        instance = 0
        if part.label_id in _INSTANCE_IDS:
            if part.label_id not in instance_of:
                instance_of[part.label_id] = part.label_id * 1000 + counters.get(part.label_id, 0)
                counters[part.label_id] = counters.get(part.label_id, 0) + 1
            instance = instance_of[part.label_id]
        canvas.fill(polygons, part.label_id, part.color, instance)


def _draw_ego_vehicle(canvas: Canvas, fraction: float) -> None:
    height, width = canvas.labels.shape
    u = np.linspace(0, width, 24)
    top = height * (1 - fraction * (1 - 0.6 * ((u / width - 0.5) * 2) ** 2))
    hood = np.concatenate([np.stack([u, top], 1), [[width, height], [0, height]]])
    canvas.fill([hood], ID["ego vehicle"], (35, 30, 30))


def _finish(canvas: Canvas, scene: Scene, rng) -> np.ndarray:
    """Textures, shadows, light and sensor noise on top of the flat-coloured drawing."""
    height, width = canvas.labels.shape
    texture = rng.random((height, width), dtype=np.float32)  # fine grain (uniform: 3x cheaper)
    texture -= 0.5
    texture *= _GRAIN[canvas.labels] * 3.46  # unit variance times the class's strength
    blotch = rng.standard_normal((height // 16 + 1, width // 16 + 1), dtype=np.float32)
    texture += cv2.resize(blotch, (width, height)) * _BLOTCH[canvas.labels]
    texture += float(rng.normal(0, 2.0))
    light = canvas.shade  # (H, W), reused in place: the canvas is finished
    light *= scene.light_gain
    light *= np.linspace(
        1 - scene.light_slope / 2, 1 + scene.light_slope / 2, width, dtype=np.float32
    )[None]
    gain = cv2.merge([light * float(t) for t in scene.tint])  # (H, W, 3)
    image = cv2.add(canvas.image, cv2.merge([texture] * 3), dtype=cv2.CV_32F)
    image = cv2.multiply(image, gain)
    if scene.blur * width / 1024 > 0.3:
        image = cv2.GaussianBlur(image, (0, 0), scene.blur * width / 1024)
    return cv2.convertScaleAbs(image)  # saturating cast to uint8 (values are >= 0 here)
