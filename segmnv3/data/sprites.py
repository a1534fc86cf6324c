"""Shapes of the synthetic scene's objects, in metres, in the object's own upright plane.

Every builder returns a list of ``Part(label_id, polygons, color)``: ``x`` runs right,
``y`` up, ``(0, 0)`` is the object's ground contact point. A part with several polygons
is filled even-odd, so a ring is ``[outer, inner]``. Parts are drawn in list order, so
later parts cover earlier ones. Colours are BGR (OpenCV order).
"""

from __future__ import annotations

from typing import NamedTuple

import cv2
import numpy as np

from segmnv3.data.labels import NAME_TO_LABEL

ID = {name: label.id % 256 for name, label in NAME_TO_LABEL.items()}  # uint8 values


class Part(NamedTuple):
    label_id: int  # as stored in a uint8 labelIds PNG (license plate -1 -> 255)
    polygons: list[np.ndarray]  # each (N, 2) float, metres
    color: tuple[float, float, float]  # BGR


def rect(x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.float64)


def ellipse(cx: float, cy: float, rx: float, ry: float, n: int = 16) -> np.ndarray:
    angle = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return np.stack([cx + rx * np.cos(angle), cy + ry * np.sin(angle)], axis=1)


def segment(p: tuple[float, float], q: tuple[float, float], width: float) -> np.ndarray:
    """A straight bar of ``width`` metres from p to q (bicycle frames, arms, legs)."""
    p_arr, q_arr = np.asarray(p, float), np.asarray(q, float)
    d = q_arr - p_arr
    n = np.array([-d[1], d[0]]) / (np.hypot(*d) + 1e-9) * width / 2
    return np.stack([p_arr + n, q_arr + n, q_arr - n, p_arr - n])


def shade(color, factor: float) -> tuple[float, float, float]:
    return tuple(float(np.clip(c * factor, 0, 255)) for c in color)


def random_paint(rng: np.random.Generator) -> tuple[float, float, float]:
    """A car paint: mostly white/black/grey/silver, sometimes a saturated colour."""
    if rng.random() < 0.6:
        v = rng.choice([25, 45, 90, 150, 190, 230]) + rng.uniform(-15, 15)
        return (v * rng.uniform(0.95, 1.08), v, v * rng.uniform(0.95, 1.05))
    hue = rng.uniform(0, 180)
    hsv = np.uint8([[[hue, rng.uniform(120, 240), rng.uniform(90, 220)]]])
    return tuple(float(c) for c in cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0, 0])


def _wheels_and_plate(width, rng, label) -> tuple[list[Part], list[Part]]:
    tyre = (22, 22, 24)
    wheels = [Part(label, [rect(-width / 2 + 0.05, 0, -width / 2 + 0.32, 0.5)], tyre)]
    wheels.append(Part(label, [rect(width / 2 - 0.32, 0, width / 2 - 0.05, 0.5)], tyre))
    plate_color = (235, 235, 235) if rng.random() < 0.8 else (40, 200, 230)
    plate = [Part(ID["license plate"], [rect(-0.26, 0.42, 0.26, 0.55)], plate_color)]
    return wheels, plate


def car(rng: np.random.Generator, front: bool) -> list[Part]:
    """Rear view (or front view for oncoming traffic) of a car."""
    w, h = rng.uniform(1.65, 1.95), rng.uniform(1.35, 1.75)
    paint, label = random_paint(rng), ID["car"]
    wheels, plate = _wheels_and_plate(w, rng, label)
    belt = h * rng.uniform(0.55, 0.65)
    body = np.array([[-w / 2, 0.3], [w / 2, 0.3], [w / 2, belt - 0.1], [w / 2 - 0.08, belt],
                     [-w / 2 + 0.08, belt], [-w / 2, belt - 0.1]])  # fmt: skip
    cabin = np.array([[-w / 2 + 0.08, belt], [w / 2 - 0.08, belt], [w / 2 - 0.3, h],
                      [-w / 2 + 0.3, h]])  # fmt: skip
    glass = np.array([[-w / 2 + 0.2, belt + 0.05], [w / 2 - 0.2, belt + 0.05],
                      [w / 2 - 0.36, h - 0.07], [-w / 2 + 0.36, h - 0.07]])  # fmt: skip
    lamp = (200, 220, 235) if front else (35, 35, 190)
    parts = [*wheels, Part(label, [body], paint), Part(label, [cabin], shade(paint, 0.92))]
    parts.append(Part(label, [glass], (rng.uniform(40, 80), rng.uniform(35, 60), 35)))
    parts.append(Part(label, [rect(-w / 2, 0.28, w / 2, 0.42)], shade(paint, 0.45)))  # bumper
    for sign in (-1, 1):
        x0 = sign * (w / 2 - 0.06)
        parts.append(Part(label, [rect(x0, belt - 0.28, x0 - sign * 0.3, belt - 0.12)], lamp))
    return parts + plate


def truck(rng: np.random.Generator, front: bool) -> list[Part]:
    """A box truck: tall cargo box from behind, cab with windscreen from the front."""
    w, h = rng.uniform(2.3, 2.55), rng.uniform(2.9, 3.8)
    paint, label = random_paint(rng), ID["truck"]
    wheels, plate = _wheels_and_plate(w, rng, label)
    parts = [*wheels, Part(label, [rect(-w / 2 + 0.1, 0.35, w / 2 - 0.1, 0.95)], (40, 40, 45))]
    if front:
        parts.append(Part(label, [rect(-w / 2, 0.7, w / 2, h)], paint))
        parts.append(
            Part(label, [rect(-w / 2 + 0.15, h * 0.55, w / 2 - 0.15, h - 0.2)], (70, 55, 45))
        )
        parts.append(Part(label, [rect(-w / 2 + 0.2, 0.75, w / 2 - 0.2, 1.15)], (60, 60, 60)))
    else:
        parts.append(Part(label, [rect(-w / 2, 0.95, w / 2, h)], paint))
        parts.append(Part(label, [rect(-0.03, 1.0, 0.03, h - 0.05)], shade(paint, 0.6)))
        for x in (-w / 2 + 0.1, w / 2 - 0.3):
            parts.append(Part(label, [rect(x, 0.6, x + 0.2, 0.8)], (35, 35, 190)))
    return parts + plate


def bus(rng: np.random.Generator, front: bool) -> list[Part]:
    """A city bus: rounded box with a wide window band."""
    w, h = rng.uniform(2.45, 2.6), rng.uniform(2.9, 3.3)
    paint = (
        random_paint(rng)
        if rng.random() < 0.3
        else [(30, 200, 240), (230, 230, 230), (40, 40, 200)][rng.integers(3)]
    )
    label = ID["bus"]
    wheels, plate = _wheels_and_plate(w, rng, label)
    body = np.array([[-w / 2, 0.3], [w / 2, 0.3], [w / 2, h - 0.2], [w / 2 - 0.2, h],
                     [-w / 2 + 0.2, h], [-w / 2, h - 0.2]])  # fmt: skip
    glass_low = 1.0 if front else 1.7
    parts = [*wheels, Part(label, [body], paint)]
    parts.append(
        Part(label, [rect(-w / 2 + 0.12, glass_low, w / 2 - 0.12, h - 0.45)], (65, 50, 40))
    )
    parts.append(
        Part(label, [rect(-w / 2 + 0.3, h - 0.4, w / 2 - 0.3, h - 0.12)], (20, 120, 230))
    )  # destination
    for x in (-w / 2 + 0.1, w / 2 - 0.35):
        parts.append(
            Part(label, [rect(x, 0.55, x + 0.25, 0.8)], (200, 220, 235) if front else (35, 35, 190))
        )
    return parts + plate


def tram(rng: np.random.Generator, front: bool) -> list[Part]:
    """A tram (Cityscapes "train"): tall, narrow-topped, huge windscreen, pantograph."""
    w, h = 2.4, rng.uniform(3.3, 3.6)
    paint = [(230, 230, 230), (40, 40, 180), (40, 170, 230)][rng.integers(3)]
    label = ID["train"]
    body = np.array([[-w / 2, 0.15], [w / 2, 0.15], [w / 2 - 0.1, h - 0.4], [w / 2 - 0.5, h],
                     [-w / 2 + 0.5, h], [-w / 2 + 0.1, h - 0.4]])  # fmt: skip
    parts = [Part(label, [body], paint)]
    parts.append(Part(label, [rect(-w / 2 + 0.25, 1.3, w / 2 - 0.25, h - 0.45)], (60, 45, 35)))
    parts.append(Part(label, [rect(-w / 2, 0.15, w / 2, 0.6)], shade(paint, 0.5)))
    parts.append(
        Part(
            label,
            [segment((-0.5, h), (0.2, h + 0.7), 0.06), segment((0.2, h + 0.7), (0.6, h), 0.06)],
            (40, 40, 40),
        )
    )
    return parts


def person(rng: np.random.Generator, label: int | None = None, sitting: bool = False) -> list[Part]:
    """A pedestrian (or, with ``sitting``, a rider's body; feet at y=0, seat at ~0.95 m)."""
    label = ID["person"] if label is None else label
    h = rng.uniform(1.55, 1.9)
    skin = [(180, 200, 235), (120, 150, 200), (60, 80, 120)][rng.integers(3)]
    top, pants = tuple(rng.uniform(20, 230, 3)), tuple(rng.uniform(20, 140, 3))
    hip_y = 0.95 if sitting else 0.48 * h
    torso_base = hip_y
    shoulder = torso_base + 0.33 * h
    lean = 0.12 if sitting else 0.0
    step = rng.uniform(-0.12, 0.12)
    parts = [
        Part(label, [segment((-0.08, hip_y), (-0.1 + step, 0.02), 0.14)], pants),
        Part(label, [segment((0.08, hip_y), (0.1 - step, 0.02), 0.14)], shade(pants, 0.85)),
        Part(
            label,
            [
                np.array(
                    [
                        [-0.16, torso_base],
                        [0.16, torso_base],
                        [0.2 + lean, shoulder],
                        [-0.2 + lean, shoulder],
                    ]
                )
            ],
            top,
        ),  # fmt: skip
        Part(
            label,
            [segment((-0.22 + lean, shoulder - 0.02), (-0.25, torso_base + 0.02), 0.09)],
            shade(top, 0.8),
        ),
        Part(
            label,
            [segment((0.22 + lean, shoulder - 0.02), (0.25, torso_base + 0.02), 0.09)],
            shade(top, 0.8),
        ),
        Part(label, [ellipse(lean, shoulder + 0.12, 0.1, 0.12, 10)], skin),
    ]
    if sitting and rng.random() < 0.7:  # helmet
        parts.append(
            Part(
                label,
                [ellipse(lean, shoulder + 0.17, 0.12, 0.09, 10)],
                tuple(rng.uniform(20, 230, 3)),
            )
        )
    elif rng.random() < 0.6:  # hair
        parts.append(Part(label, [ellipse(lean, shoulder + 0.18, 0.1, 0.06, 10)], (20, 30, 45)))
    return parts


def two_wheeler(rng: np.random.Generator, motor: bool, ridden: bool) -> list[Part]:
    """A bicycle or motorcycle in side view, optionally with its rider."""
    label = ID["motorcycle"] if motor else ID["bicycle"]
    radius = 0.32 if motor else 0.34
    base = 1.35 if motor else 1.05
    frame_color = random_paint(rng)
    wheels = []
    for cx in (-base / 2, base / 2):
        outer = ellipse(cx, radius, radius, radius, 20)
        inner = ellipse(
            cx, radius, radius * (0.55 if motor else 0.85), radius * (0.55 if motor else 0.85), 20
        )
        wheels.append(Part(label, [outer, inner], (25, 25, 25)))
    rear, front = (-base / 2, radius), (base / 2, radius)
    seat, bar = (-0.15, radius + 0.5), (base / 2 - 0.1, radius + 0.6)
    if motor:
        body = np.array([[-0.45, radius], [0.35, radius - 0.05], [0.5, radius + 0.35], [0.1, radius + 0.55],
                         [-0.5, radius + 0.45]])  # fmt: skip
        frame = [
            Part(label, [body], frame_color),
            Part(label, [segment(front, bar, 0.07)], (60, 60, 60)),
        ]
    else:
        bars = [segment(rear, seat, 0.05), segment(seat, bar, 0.05), segment(rear, (0.0, radius), 0.05),
                segment((0.0, radius), seat, 0.05), segment((0.0, radius), bar, 0.05), segment(front, bar, 0.05)]  # fmt: skip
        frame = [Part(label, bars, frame_color)]
    parts = wheels + frame
    if ridden:
        rider = person(rng, label=ID["rider"], sitting=True)
        parts += [
            Part(
                p.label_id,
                [poly + np.array([-0.1, radius + 0.05 - 0.3]) for poly in p.polygons],
                p.color,
            )
            for p in rider
        ]
    return parts


def pole(rng: np.random.Generator) -> list[Part]:
    """A street pole, bare or carrying a traffic sign, a traffic light or a lamp."""
    height, width = rng.uniform(3.0, 7.0), rng.uniform(0.1, 0.22)
    metal = (rng.uniform(70, 150),) * 3 if rng.random() < 0.7 else (60, 90, 50)
    parts = [Part(ID["pole"], [rect(-width / 2, 0, width / 2, height)], metal)]
    kind = rng.choice(["sign", "light", "lamp", "bare"], p=[0.4, 0.3, 0.2, 0.1])
    if kind == "sign":
        y, size = rng.uniform(2.0, min(height, 3.2)), rng.uniform(0.5, 0.8)
        shape = rng.integers(3)
        outline = [ellipse(0, y, size / 2, size / 2, 16), rect(-size / 2, y - size / 3, size / 2, y + size / 3),
                   np.array([[-size / 2, y - size / 3], [size / 2, y - size / 3], [0, y + size / 2]])][shape]  # fmt: skip
        colors = [(40, 40, 210), (170, 90, 20), (30, 200, 230), (150, 150, 150)]
        color = colors[rng.integers(len(colors))]
        parts.append(Part(ID["traffic sign"], [outline], color))
        parts.append(Part(ID["traffic sign"], [(outline - [0, y]) * 0.7 + [0, y]], (235, 235, 235)))
    elif kind == "light":
        y = height - rng.uniform(0.0, 0.5)
        parts.append(Part(ID["traffic light"], [rect(-0.18, y - 0.95, 0.18, y)], (30, 32, 30)))
        lit = rng.integers(3)
        for i, color in enumerate([(40, 40, 230), (30, 180, 240), (90, 220, 60)]):
            c = color if i == lit else shade(color, 0.25)
            parts.append(
                Part(ID["traffic light"], [ellipse(0, y - 0.17 - 0.3 * i, 0.11, 0.11, 10)], c)
            )
    elif kind == "lamp":
        arm = rng.choice([-1, 1]) * rng.uniform(0.8, 1.8)
        parts.append(
            Part(ID["pole"], [segment((0, height - 0.1), (arm, height + 0.2), 0.1)], metal)
        )
        parts.append(
            Part(ID["pole"], [ellipse(arm, height + 0.15, 0.35, 0.12, 10)], (200, 210, 210))
        )
    return parts


def tree(rng: np.random.Generator) -> list[Part]:
    """A tree: trunk and a crown of overlapping blobs (all "vegetation", as in Cityscapes)."""
    trunk_h, trunk_w = rng.uniform(1.8, 4.0), rng.uniform(0.2, 0.45)
    crown_r = rng.uniform(1.2, 3.0)
    green = np.array([rng.uniform(20, 60), rng.uniform(90, 150), rng.uniform(40, 90)])
    parts = [
        Part(
            ID["vegetation"], [rect(-trunk_w / 2, 0, trunk_w / 2, trunk_h + crown_r)], (40, 60, 80)
        )
    ]
    for _ in range(int(rng.integers(6, 12))):
        cx, cy = rng.normal(0, crown_r * 0.45), trunk_h + crown_r + rng.normal(0, crown_r * 0.35)
        r = crown_r * rng.uniform(0.45, 0.8)
        parts.append(
            Part(
                ID["vegetation"],
                [ellipse(cx, cy, r, r * rng.uniform(0.8, 1.1), 14)],
                tuple(green * rng.uniform(0.6, 1.3)),
            )
        )
    return parts
