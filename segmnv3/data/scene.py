"""Random street layouts for the synthetic Cityscapes generator (objects in ``world``).

A street runs along +z: road with markings, sidewalks, verges or parks, building rows,
walls/fences/hedges, street furniture, pedestrians, parked and moving traffic, sometimes
a tram on its track or a cross street.
"""

from __future__ import annotations

import numpy as np

from segmnv3.data import sprites
from segmnv3.data.sprites import ID
from segmnv3.data.world import FAR, Block, Ground, Panel, Scene, Sprite


def _gray(rng, low, high, jitter=8.0):
    v = rng.uniform(low, high)
    return tuple(float(v + rng.uniform(-jitter, jitter)) for _ in range(3))


def _sky(rng: np.random.Generator) -> tuple:
    if rng.random() < 0.6:  # blue
        top = (rng.uniform(170, 230), rng.uniform(120, 160), rng.uniform(60, 100))
        return (
            top,
            (rng.uniform(220, 250), rng.uniform(200, 230), rng.uniform(170, 210)),
            rng.uniform(0, 0.5),
        )
    v = rng.uniform(150, 215)  # overcast
    return (v + 10, v + 5, v), (v + 25, v + 25, v + 22), rng.uniform(0.2, 0.8)


def sample_scene(rng: np.random.Generator, travel: float = 0.0) -> Scene:
    """A random street; ``travel`` metres of extra street ahead for a moving camera."""
    road_half = rng.uniform(3.5, 7.5)
    sky_top, sky_bottom, clouds = _sky(rng)
    scene = Scene(
        focal=rng.uniform(0.95, 1.2),
        horizon=rng.uniform(0.38, 0.48),
        camera_x=rng.uniform(-0.3, 0.6) * road_half,
        camera_height=rng.uniform(1.2, 1.8),
        sky_top=sky_top,
        sky_bottom=sky_bottom,
        cloudiness=clouds,
        ego_vehicle=rng.uniform(0.05, 0.12) if rng.random() < 0.5 else 0.0,
        light_gain=rng.uniform(0.7, 1.2),
        tint=tuple(rng.uniform(0.9, 1.1, 3)),
        light_slope=rng.uniform(-0.2, 0.2),
        blur=rng.uniform(0.4, 1.0) if rng.random() < 0.5 else 0.0,
    )
    z_end = FAR + travel
    asphalt = _gray(rng, 60, 115, 5)
    scene.ground.append(Ground(-road_half, road_half, -10, z_end, ID["road"], asphalt))
    _markings(rng, scene, road_half, z_end)
    faces = [_street_side(rng, scene, side, road_half, z_end) for side in (-1, 1)]
    _traffic(rng, scene, road_half, z_end)
    if rng.random() < 0.4:
        _cross_street(rng, scene, road_half, faces, asphalt)
    return scene


def _markings(rng, scene: Scene, road_half: float, z_end: float) -> None:
    white = _gray(rng, 190, 235, 5)
    dash, gap = rng.uniform(2, 4), rng.uniform(3, 9)
    for x in [0.0] if road_half < 5 else [-road_half / 2, road_half / 2]:
        for z in np.arange(rng.uniform(-5, 0), z_end, dash + gap):
            scene.ground.append(Ground(x - 0.07, x + 0.07, z, z + dash, ID["road"], white))
    for sign in (-1, 1):
        x = sign * (road_half - 0.3)
        scene.ground.append(Ground(x - 0.06, x + 0.06, -10, z_end, ID["road"], white))
    if rng.random() < 0.4:  # zebra crossing
        z = rng.uniform(8, 40)
        for x in np.arange(-road_half + 0.5, road_half - 0.5, 1.0):
            scene.ground.append(Ground(x, x + 0.5, z, z + 4, ID["road"], white))
    if rng.random() < 0.3:  # parking strip (void "parking")
        sign = rng.choice([-1, 1])
        z = rng.uniform(0, 60)
        x0, x1 = sorted((sign * road_half, sign * (road_half - 2.2)))
        scene.ground.append(
            Ground(x0, x1, z, z + rng.uniform(10, 40), ID["parking"], _gray(rng, 90, 140))
        )


def _street_side(rng, scene: Scene, side: int, road_half: float, z_end: float) -> float:
    """Sidewalk, verge, buildings, barriers and furniture on one side; returns the building line."""
    walk = rng.uniform(1.8, 5.0)
    paving = (
        _gray(rng, 120, 190, 12)
        if rng.random() < 0.7
        else (rng.uniform(90, 130), rng.uniform(100, 140), rng.uniform(150, 190))
    )
    edge = road_half + walk
    _add_ground(scene, side, road_half, edge, z_end, ID["sidewalk"], paving)
    park = rng.random() < 0.4
    setback = rng.uniform(6, 25) if park else rng.uniform(0, 1.5)
    if setback > 0.5:
        grass = (rng.uniform(40, 80), rng.uniform(120, 170), rng.uniform(90, 140))
        _add_ground(scene, side, edge, edge + setback + 30, z_end, ID["terrain"], grass)
    _buildings(rng, scene, side, edge + setback, z_end)
    if park:
        for z in np.arange(rng.uniform(-5, 10), z_end * 0.5, rng.uniform(6, 15)):
            x = side * (edge + rng.uniform(1.5, setback))
            scene.sprites.append(Sprite(x, z, sprites.tree(rng), behind_panels=True))
    _barriers(rng, scene, side, edge, z_end, park)
    _street_furniture(rng, scene, side, road_half, edge, z_end)
    return edge + setback


def _add_ground(scene, side, inner, outer, z_end, label_id, color) -> None:
    x0, x1 = sorted((side * inner, side * outer))
    scene.ground.append(Ground(x0, x1, -10, z_end, label_id, color))


def _buildings(rng, scene: Scene, side: int, face: float, z_end: float) -> None:
    z = rng.uniform(-15, 0)
    while z < z_end:
        length = rng.uniform(8, 30)
        if rng.random() < 0.15:  # gap between houses
            z += rng.uniform(4, 15)
            continue
        x_face = side * (face + rng.uniform(0, 2.0))
        color = (
            _gray(rng, 110, 220, 25)
            if rng.random() < 0.6
            else (rng.uniform(50, 110), rng.uniform(70, 120), rng.uniform(120, 190))
        )
        height = rng.uniform(7, 28)
        scene.blocks.append(
            Block(
                x_face, x_face + side * 20, z, z + length, height, color, int(rng.integers(1 << 31))
            )
        )
        z += length


def _barriers(rng, scene: Scene, side: int, edge: float, z_end: float, park: bool) -> None:
    z = rng.uniform(-5, 20)
    while z < z_end * 0.6:
        length = rng.uniform(5, 40)
        kind = rng.choice(
            ["wall", "fence", "vegetation", "none"],
            p=[0.3, 0.3, 0.15, 0.25] if park else [0.12, 0.12, 0.06, 0.7],
        )
        if kind != "none":
            height = rng.uniform(0.8, 2.2)
            color = {
                "wall": _gray(rng, 100, 200, 15),
                "fence": (rng.uniform(60, 140), rng.uniform(80, 150), rng.uniform(100, 170)),
                "vegetation": (rng.uniform(20, 60), rng.uniform(80, 140), rng.uniform(30, 80)),
            }[kind]
            scene.panels.append(Panel(side * (edge + 0.2), z, z + length, height, ID[kind], color))
        z += length + rng.uniform(0, 15)


def _street_furniture(
    rng, scene: Scene, side: int, road_half: float, edge: float, z_end: float
) -> None:
    for z in np.arange(rng.uniform(-3, 10), z_end * 0.5, rng.uniform(10, 30)):
        scene.sprites.append(Sprite(side * (road_half + 0.4), z, sprites.pole(rng), shadow=False))
    if rng.random() < 0.5:
        for z in np.arange(rng.uniform(0, 10), z_end * 0.4, rng.uniform(12, 25)):
            scene.sprites.append(
                Sprite(
                    side * (road_half + rng.uniform(0.8, 1.6)), z, sprites.tree(rng), shadow=False
                )
            )
    for _ in range(int(rng.poisson(4))):
        x, z = side * rng.uniform(road_half + 0.8, edge - 0.3), rng.uniform(3, 50)
        scene.sprites.append(Sprite(x, z, sprites.person(rng), speed=rng.uniform(-1.5, 1.5)))
    for _ in range(int(rng.poisson(1.0))):
        x, z = side * rng.uniform(road_half + 0.6, edge - 0.3), rng.uniform(4, 40)
        motor = rng.random() < 0.4
        scene.sprites.append(Sprite(x, z, sprites.two_wheeler(rng, motor, ridden=False)))


def _traffic(rng, scene: Scene, road_half: float, z_end: float) -> None:
    lanes = [-road_half / 2, road_half / 2]
    for lane in lanes:
        oncoming = lane < 0
        z = rng.uniform(7, 25)
        while z < 120:
            _vehicle(rng, scene, lane + rng.normal(0, 0.2), z, oncoming)
            z += rng.uniform(8, 35)
    for sign in (-1, 1):  # parked cars
        for z in np.arange(rng.uniform(0, 20), 100, rng.uniform(6, 20)):
            if rng.random() < 0.5:
                scene.sprites.append(
                    Sprite(sign * (road_half - 1.1), z, sprites.car(rng, front=False))
                )
    if rng.random() < 0.25:
        _tram(rng, scene, z_end)
    for _ in range(int(rng.poisson(1.5))):  # riders in the traffic
        motor = rng.random() < 0.5
        x, z = rng.choice([-1, 1]) * (road_half - 0.8), rng.uniform(5, 50)
        scene.sprites.append(
            Sprite(x, z, sprites.two_wheeler(rng, motor, ridden=True), speed=rng.uniform(3, 8))
        )


def _vehicle(rng, scene: Scene, x: float, z: float, oncoming: bool) -> None:
    kind = rng.choice(["car", "truck", "bus"], p=[0.76, 0.12, 0.12])
    builder = {"car": sprites.car, "truck": sprites.truck, "bus": sprites.bus}[kind]
    speed = -rng.uniform(5, 12) if oncoming else rng.uniform(4, 10)
    scene.sprites.append(Sprite(x, z, builder(rng, front=oncoming), speed=speed))


def _tram(rng, scene: Scene, z_end: float) -> None:
    """A tram (Cityscapes "train") on its track; the track is void ("rail track")."""
    x = rng.uniform(-1, 1)
    steel = _gray(rng, 120, 170, 5)
    scene.ground.append(
        Ground(x - 0.9, x + 0.9, -10, z_end, ID["rail track"], _gray(rng, 70, 100, 5))
    )
    for rail in (x - 0.72, x + 0.72):
        scene.ground.append(Ground(rail - 0.04, rail + 0.04, -10, z_end, ID["rail track"], steel))
    tram = sprites.tram(rng, front=rng.random() < 0.5)
    scene.sprites.append(Sprite(x, rng.uniform(15, 80), tram, speed=rng.uniform(-6, 6)))


def _cross_street(rng, scene: Scene, road_half: float, faces: list[float], asphalt) -> None:
    """An intersection: a road across the view, with the corner buildings beyond it."""
    z0 = rng.uniform(12, 60)
    z1 = z0 + rng.uniform(8, 14)
    scene.ground.append(Ground(-150, 150, z0, z1, ID["road"], asphalt))
    scene.blocks = [b for b in scene.blocks if b.z1 <= z0 or b.z0 >= z1]
    scene.panels = [p for p in scene.panels if p.z1 <= z0 or p.z0 >= z1]
    parked_or_kerbside = [
        s for s in scene.sprites if z0 - 1 < s.z < z1 + 1 and (s.speed == 0 or abs(s.x) > road_half)
    ]
    scene.sprites = [s for s in scene.sprites if s not in parked_or_kerbside]
    for side, face in zip((-1, 1), faces, strict=True):
        color = _gray(rng, 110, 220, 25)
        far = Block(
            side * face,
            side * (face + 80),
            z1 + 0.5,
            z1 + rng.uniform(12, 30),
            rng.uniform(8, 25),
            color,
            int(rng.integers(1 << 31)),
        )
        scene.blocks.append(far)
        scene.sprites.append(
            Sprite(side * (road_half + 0.4), z0 - 1.0, sprites.pole(rng), shadow=False)
        )
