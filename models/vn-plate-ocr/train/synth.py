"""Synthetic licence-plate crops for the vn-plate-ocr recogniser, deterministic by seed.

Every sample is drawn from its own generator seeded by (seed, index), so sample i is the same image
whatever the order, the batch or the process that makes it. A sample is a plate rendered with a
Debian font (condensed bold sans, the nearest to the official Vietnamese plate typeface), put on a
background, warped in perspective, cropped loosely as a plate localiser would, degraded (blur, motion
blur, low resolution, noise, JPEG, glare, night) and finally resized and turned to grey exactly as
the detector does at run time (detector/plates/image.ts: resizeRgb, then BT.601 luma).

Labels are the compact plate (A-Z, 0-9, Đ) with '|' between the rows of a two-row plate.

Vietnamese formats and province codes mirror detector/plates/plate-grammar.ts.
"""

from __future__ import annotations

import io
import math
import os
import random

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

INPUT_H = 48
INPUT_W = 144
ROW_BREAK = '|'
# Classes: 0 = CTC blank, then these characters in order.
CHARSET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZĐ' + ROW_BREAK

# --- Vietnamese plate grammar (mirror of detector/plates/plate-grammar.ts) ---------------------------

PROVINCES_2025 = (
    '11 12 14 15 16 34 17 89 18 35 90 19 28 88 20 97 21 24 22 23 25 26 27 29 30 31 32 33 40 36 37 38 '
    '39 60 93 43 92 47 78 48 49 86 41 50 51 52 53 54 55 56 57 58 59 61 72 62 70 63 66 64 71 84 65 83 95 '
    '67 68 69 94 73 74 75 76 82 77 81 79 85 98 99 80'
).split()
RETIRED_PROVINCES = '13 42 44 45 46 87 91 96'.split()
SERIES_LETTERS = 'ABCDEFGHKLMNPRSTUVXYZ'
SPECIAL_SERIES = ['LD', 'DA', 'KT', 'MK', 'TĐ', 'HC']
DIPLOMATIC_SERIES = ['NG', 'QT', 'CV', 'NN']
ALNUM = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ'

FONT_DIRS = ['/usr/share/fonts/truetype/dejavu', '/usr/share/fonts/truetype/liberation']
# (file, weight): condensed bold sans first (closest to the official plate typeface).
VN_FONTS = [
    ('DejaVuSansCondensed-Bold.ttf', 2),
    ('LiberationSansNarrow-Bold.ttf', 2),
    ('DejaVuSansCondensed.ttf', 4),
    ('LiberationSansNarrow-Regular.ttf', 4),
    ('DejaVuSans-Bold.ttf', 1),
    ('LiberationSans-Bold.ttf', 1),
    ('LiberationSans-Regular.ttf', 1),
]
INTL_FONTS = VN_FONTS + [
    ('DejaVuSansMono-Bold.ttf', 2),
    ('LiberationMono-Bold.ttf', 1),
    ('DejaVuSans.ttf', 1),
    ('DejaVuSerifCondensed-Bold.ttf', 1),
]


def find_font(name: str) -> str:
    for d in FONT_DIRS:
        p = os.path.join(d, name)
        if os.path.exists(p):
            return p
    raise FileNotFoundError(
        f'font {name} not found under {FONT_DIRS}: install fonts-dejavu-core fonts-dejavu-extra fonts-liberation'
    )


_font_cache: dict[tuple[str, int], ImageFont.FreeTypeFont] = {}


def font(name: str, size: int) -> ImageFont.FreeTypeFont:
    key = (name, size)
    if key not in _font_cache:
        _font_cache[key] = ImageFont.truetype(find_font(name), size)
    return _font_cache[key]


def weighted(rng: random.Random, items):
    total = sum(w for _, w in items)
    x = rng.random() * total
    for v, w in items:
        x -= w
        if x < 0:
            return v
    return items[-1][0]


def digits(rng: random.Random, n: int) -> str:
    return ''.join(rng.choice('0123456789') for _ in range(n))


def province(rng: random.Random) -> str:
    return rng.choice(RETIRED_PROVINCES) if rng.random() < 0.05 else rng.choice(PROVINCES_2025)


def group5(d: str) -> str:
    return f'{d[:3]}.{d[3:]}' if len(d) == 5 else d


def vn_plate(rng: random.Random) -> dict:
    """A Vietnamese plate: printed rows and the compact label (rows joined by '|')."""
    p = province(rng)
    kind = weighted(
        rng,
        [
            ('car', 22),
            ('car-4', 4),
            ('car-special', 6),
            ('car-square', 7),
            ('car-special-square', 2),
            ('motorbike', 40),
            ('motorbike-4', 14),
            ('motorbike-2-letter', 5),
            ('electric', 5),
            ('diplomatic', 3),
            ('diplomatic-2', 2),
        ],
    )
    sep = rng.choice(['-', '-', '-', ' '])
    # The top row of a two-row plate ('59-F1', '30-MĐ1') is printed with a dash almost always.
    top_sep = '-' if rng.random() < 0.9 else rng.choice([' ', ''])
    if kind in ('car', 'car-4', 'car-square'):
        s = rng.choice(SERIES_LETTERS)
        d = digits(rng, 4 if kind == 'car-4' else 5)
        if kind == 'car-square':
            rows = [f'{p}{s}', group5(d)]
        else:
            rows = [f'{p}{s}{sep}{group5(d)}']
    elif kind in ('car-special', 'car-special-square'):
        s = rng.choice(SPECIAL_SERIES)
        d = digits(rng, 5 if rng.random() < 0.85 else 4)
        rows = [f'{p}{s}', group5(d)] if kind == 'car-special-square' else [f'{p}{s}{sep}{group5(d)}']
    elif kind in ('motorbike', 'motorbike-4'):
        s = rng.choice(SERIES_LETTERS) + rng.choice('0123456789')
        d = digits(rng, 5 if kind == 'motorbike' else 4)
        rows = [f'{p}{top_sep}{s}', group5(d)]
    elif kind == 'motorbike-2-letter':
        s = rng.choice(SERIES_LETTERS) + rng.choice(SERIES_LETTERS)
        d = digits(rng, 5 if rng.random() < 0.8 else 4)
        rows = [f'{p}{top_sep}{s}', group5(d)]
    elif kind == 'electric':
        rows = [f'{p}{top_sep}MĐ{rng.choice("0123456789")}', group5(digits(rng, 5))]
    else:
        s = rng.choice(DIPLOMATIC_SERIES)
        a, b = digits(rng, 3), digits(rng, 2)
        rows = [f'{p}-{a}-{s}-{b}'] if kind == 'diplomatic' else [f'{p}-{a}', f'{s}-{b}']
    # Rare: a one-row motorbike plate (long plates on some motorbikes).
    if kind.startswith('motorbike') and rng.random() < 0.06:
        rows = [f'{rows[0]} {rows[1]}']
    colour = weighted(rng, [('white', 62), ('yellow', 20), ('blue', 9), ('red', 5), ('white-red', 4)])
    if kind.startswith('diplomatic'):
        colour = 'white-red' if rng.random() < 0.7 else 'white'
    return {'rows': rows, 'colour': colour, 'region': 'vn', 'kind': kind}


def intl_plate(rng: random.Random) -> dict:
    """An international-style one-row plate: random A-Z0-9 groups, various colours, optional EU band."""
    n = weighted(rng, [(5, 6), (6, 18), (7, 36), (8, 22), (9, 8), (10, 3), (4, 4)])
    text = ''.join(rng.choice(ALNUM) if rng.random() < 0.5 else rng.choice(
        '0123456789' if rng.random() < 0.5 else 'ABCDEFGHIJKLMNOPQRSTUVWXYZ') for _ in range(n))
    # Group with separators.
    groups = []
    i = 0
    while i < n:
        g = rng.randint(1, 4)
        groups.append(text[i:i + g])
        i += g
    sep = rng.choice([' ', '-', '·', ' ', ''])
    printed = sep.join(groups) if sep != '·' else ' · '.join(groups)
    colour = weighted(rng, [('white', 55), ('yellow', 22), ('red', 4), ('blue', 4), ('black', 6), ('green', 3),
                            ('white-red', 3), ('white-blue', 3)])
    return {'rows': [printed], 'colour': colour, 'region': 'intl', 'eu': rng.random() < 0.45}


def label_of(plate: dict) -> str:
    keep = set(CHARSET) - {ROW_BREAK}
    rows = [''.join(c for c in r.upper() if c in keep) for r in plate['rows']]
    return ROW_BREAK.join(rows)


# --- Rendering -------------------------------------------------------------------------------------

COLOURS = {
    # background, text
    'white': ((235, 235, 230), (20, 20, 20)),
    'yellow': ((235, 190, 40), (20, 20, 20)),
    'blue': ((30, 70, 170), (240, 240, 240)),
    'red': ((190, 30, 30), (240, 240, 240)),
    'white-red': ((235, 235, 230), (190, 25, 25)),
    'white-blue': ((235, 235, 230), (25, 50, 160)),
    'black': ((25, 25, 25), (235, 235, 235)),
    'green': ((30, 120, 60), (240, 240, 240)),
}


def jitter_colour(rng: random.Random, c, amount=25):
    return tuple(max(0, min(255, int(v + rng.uniform(-amount, amount)))) for v in c)


def render_text(rng: random.Random, text: str, font_name: str, box_w: int, box_h: int, colour, bg) -> Image.Image:
    """The text drawn tight, then stretched to box_w x box_h (condensed plate lettering)."""
    f = font(font_name, 64)
    l, t, r, b = f.getbbox(text)
    w, h = r - l + 8, b - t + 8
    im = Image.new('RGB', (w, h), bg)
    d = ImageDraw.Draw(im)
    stroke = rng.choice([0, 0, 0, 1, 2]) if 'Bold' not in font_name else rng.choice([0, 0, 1])
    d.text((4 - l, 4 - t), text, font=f, fill=colour, stroke_width=stroke, stroke_fill=colour)
    return im.resize((max(1, box_w), max(1, box_h)), Image.BILINEAR)


def drawn_glyph(rng: random.Random, ch: str, h: int, colour, bg) -> Image.Image:
    """The plate typeface's own 1 (a bare stem with a long flag, no foot) and open 4, drawn here:
    the Debian fonts draw them differently (DejaVu's 1 has a foot, both close the 4)."""
    H = 64
    W = int(H * rng.uniform(0.42, 0.55))
    t = max(3, int(H * rng.uniform(0.08, 0.14)))
    im = Image.new('RGB', (W, H), bg)
    d = ImageDraw.Draw(im)
    if ch == '1':
        x = W * rng.uniform(0.55, 0.7)
        d.line([(x, 0), (x, H)], fill=colour, width=t)
        d.line([(x, t / 2), (W * rng.uniform(0.05, 0.25), H * rng.uniform(0.2, 0.35))], fill=colour, width=t)
    else:
        xs = W * rng.uniform(0.62, 0.75)
        yb = H * rng.uniform(0.62, 0.72)
        d.line([(W * rng.uniform(0.3, 0.45), 0), (t / 2, yb)], fill=colour, width=t)
        d.line([(0, yb), (W, yb)], fill=colour, width=t)
        d.line([(xs, H * rng.uniform(0.25, 0.4)), (xs, H)], fill=colour, width=t)
    w = max(2, int(W * h / H * rng.uniform(0.85, 1.05)))
    return im.resize((w, h), Image.BILINEAR)


def glyph(rng: random.Random, ch: str, font_name: str, h: int, colour, bg, thin: bool,
          drawn: float = 0.0) -> Image.Image:
    """One character drawn tight and scaled to height h (plates space their characters evenly)."""
    if ch in '14' and rng.random() < drawn:
        return drawn_glyph(rng, ch, h, colour, bg)
    f = font(font_name, 64)
    if ch in '-.·':
        # Separators: a short bar at mid height, a dot on the baseline.
        w = max(2, int(h * (0.3 if ch == '-' else 0.16)))
        im = Image.new('RGB', (w, h), bg)
        d = ImageDraw.Draw(im)
        t = max(1, int(h * 0.09))
        if ch == '-':
            d.rectangle([0, h // 2 - t // 2, w - 1, h // 2 + t - t // 2], fill=colour)
        else:
            d.rectangle([w // 2 - t, h - 2 * t, w // 2 + t, h - 1], fill=colour)
        return im
    l, t, r, b = f.getbbox(ch)
    im = Image.new('RGB', (r - l + 4, b - t + 4), bg)
    ImageDraw.Draw(im).text((2 - l, 2 - t), ch, font=f, fill=colour)
    if thin:  # thinner strokes than the font's: grow the background by a pixel at 64 px
        im = im.filter(ImageFilter.MaxFilter(3) if sum(bg) > sum(colour) else ImageFilter.MinFilter(3))
    w = max(2, int(im.width * h / im.height * rng.uniform(0.75, 1.05)))
    return im.resize((w, h), Image.BILINEAR)


def render_spaced(rng: random.Random, text: str, font_name: str, max_w: int, h: int, colour, bg,
                  drawn: float = 0.0, fill: float = 0.0) -> Image.Image:
    """A row as plates print it: characters in evenly spaced cells, fitted into max_w. With fill > 0 the
    gaps grow so that the row spans that share of max_w (rows of a two-row plate span the plate)."""
    # Thinner strokes for the bold faces only (a regular face thinned is a hairline, no plate's).
    thin = 'Bold' in font_name and rng.random() < 0.4
    parts = [None if c == ' ' else glyph(rng, c, font_name, h, colour, bg, thin, drawn) for c in text]
    widths = [p.width if p else 0 for p in parts]
    avg = sum(widths) / max(1, sum(1 for p in parts if p))
    gap = avg * rng.uniform(0.1, 0.45)
    if fill > 0 and len(parts) > 1:
        want = fill * max_w - sum(widths) - sum(avg * 0.4 for p in parts if p is None)
        gap = max(gap, min(avg * 1.2, want / (len(parts) - 1)))
    total = sum(widths) + gap * (len(parts) - 1) + sum(avg * 0.4 for p in parts if p is None)
    row = Image.new('RGB', (max(1, int(math.ceil(total))), h), bg)
    x = 0.0
    for p in parts:
        if p is None:
            x += avg * 0.4 + gap
            continue
        row.paste(p, (int(x), 0))
        x += p.width + gap
    if row.width > max_w or (fill == 0 and rng.random() < 0.3):
        row = row.resize((max_w if row.width > max_w else int(row.width + (max_w - row.width) * rng.random()), h),
                         Image.BILINEAR)
    return row


def render_plate(rng: random.Random, plate: dict) -> Image.Image:
    rows = plate['rows']
    two = len(rows) == 2
    fonts = VN_FONTS if plate['region'] == 'vn' else INTL_FONTS
    font_name = weighted(rng, fonts)
    bg, fg = COLOURS[plate['colour']]
    bg, fg = jitter_colour(rng, bg), jitter_colour(rng, fg)
    if two:
        square_car = plate.get('kind', '').startswith('car') or plate.get('kind') == 'diplomatic-2'
        W, H = (330, 165) if square_car else (190, 140)
        W = int(W * rng.uniform(0.9, 1.15))
        H = int(H * rng.uniform(0.9, 1.1))
        scale = 0.8
    else:
        W, H = 520, 110
        W = int(W * rng.uniform(0.85, 1.1))
        H = int(H * rng.uniform(0.9, 1.25))
        scale = 0.5
    W, H = int(W * scale), int(H * scale)
    im = Image.new('RGB', (W, H), bg)
    d = ImageDraw.Draw(im)
    # Border.
    if rng.random() < 0.85:
        bw = max(1, int(min(W, H) * rng.uniform(0.012, 0.04)))
        inset = int(min(W, H) * rng.uniform(0.0, 0.05))
        d.rounded_rectangle([inset, inset, W - 1 - inset, H - 1 - inset], radius=int(min(W, H) * 0.08),
                            outline=fg, width=bw)
    left = 0
    if plate.get('eu'):
        band = int(W * rng.uniform(0.07, 0.1))
        d.rectangle([0, 0, band, H], fill=jitter_colour(rng, (20, 60, 170)))
        code = rng.choice(['D', 'F', 'B', 'NL', 'P', 'E', 'I', 'A', 'IRL', 'PL', 'CZ', 'GB', 'L'])
        cf = font('DejaVuSans-Bold.ttf', max(8, int(H * 0.22)))
        d.text((band * 0.15, H * 0.6), code, font=cf, fill=(240, 240, 240))
        # Stars ring.
        cx, cy, rr = band / 2, H * 0.3, band * 0.3
        for k in range(12):
            a = k * math.pi / 6
            x, y = cx + rr * math.cos(a), cy + rr * math.sin(a)
            d.ellipse([x - 1.5, y - 1.5, x + 1.5, y + 1.5], fill=(240, 210, 40))
        left = band
    pad_x = int(W * rng.uniform(0.04, 0.08) if not two else W * rng.uniform(0.03, 0.07))
    # Vietnamese plates space their characters evenly (most of them drawn so); others mixed.
    spaced = rng.random() < (0.75 if plate['region'] == 'vn' else 0.4)
    # Share of 1s and 4s drawn in the plate typeface's own shapes.
    drawn = 0.75 if plate['region'] == 'vn' else 0.2
    avail_w = W - left - 2 * pad_x
    if two:
        gap = H * rng.uniform(0.04, 0.1)
        row_h = int((H * rng.uniform(0.8, 0.92) - gap) / 2)
        top = (H - 2 * row_h - gap) / 2
        for k, text in enumerate(rows):
            n = len(text)
            tw = int(min(avail_w, avail_w * rng.uniform(0.78, 1.0) * (1 if n >= 5 else 0.85 + 0.03 * n)))
            if text and text.replace('.', '').replace('-', '').isdigit() is False and n <= 4:
                tw = int(avail_w * rng.uniform(0.6, 0.85))
            if spaced:
                # Vietnamese two-row plates: both rows spread over 80-97 % of the plate's width.
                fill = rng.uniform(0.8, 0.97) if plate['region'] == 'vn' and rng.random() < 0.8 else 0.0
                glyphs = render_spaced(rng, text, font_name, avail_w, row_h, fg, bg, drawn, fill)
                tw = glyphs.width
            else:
                glyphs = render_text(rng, text, font_name, tw, row_h, fg, bg)
            x = left + pad_x + (avail_w - tw) // 2 + rng.randint(-3, 3)
            y = int(top + k * (row_h + gap)) + rng.randint(-2, 2)
            im.paste(glyphs, (x, y))
    else:
        text = rows[0]
        row_h = int(H * rng.uniform(0.6, 0.78))
        per = rng.uniform(0.55, 0.8) * row_h
        tw = int(min(avail_w, per * len(text)))
        if rng.random() < 0.5:
            tw = int(avail_w * rng.uniform(0.85, 1.0))
        if spaced:
            glyphs = render_spaced(rng, text, font_name, avail_w, row_h, fg, bg, drawn)
            tw = glyphs.width
        else:
            glyphs = render_text(rng, text, font_name, tw, row_h, fg, bg)
        x = left + pad_x + (avail_w - tw) // 2 + rng.randint(-4, 4)
        y = (H - row_h) // 2 + rng.randint(-3, 3)
        im.paste(glyphs, (x, y))
        # Small distractors: screws, stickers, tiny text (not part of the label).
        if plate['region'] == 'intl' and rng.random() < 0.25:
            sf = font('DejaVuSans.ttf', max(6, int(H * 0.14)))
            d.text((W - pad_x * 0.9, H * 0.1), digits(rng, 2), font=sf, fill=fg)
    if rng.random() < 0.5:
        for sx in (0.2, 0.8):
            r = max(1, int(H * 0.025))
            cx, cy = int(W * sx), int(H * rng.choice([0.08, 0.5, 0.92]))
            d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=jitter_colour(rng, (150, 150, 150), 60))
    return im


def perspective_coeffs(src, dst):
    """Coefficients for Image.transform(PERSPECTIVE) mapping output points dst to input points src."""
    a = []
    b = []
    for (x, y), (u, v) in zip(dst, src):
        a.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        a.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        b += [u, v]
    return np.linalg.solve(np.array(a, dtype=np.float64), np.array(b, dtype=np.float64)).tolist()


def background(rng: random.Random, w: int, h: int) -> Image.Image:
    base = jitter_colour(rng, rng.choice([(40, 40, 45), (90, 90, 95), (150, 150, 150), (200, 200, 205),
                                          (120, 30, 30), (30, 40, 90), (20, 20, 20)]), 40)
    im = Image.new('RGB', (w, h), base)
    d = ImageDraw.Draw(im)
    for _ in range(rng.randint(0, 6)):
        x0, y0 = rng.randint(0, w), rng.randint(0, h)
        x1, y1 = x0 + rng.randint(5, w // 2 + 5), y0 + rng.randint(5, h // 2 + 5)
        d.rectangle([x0, y0, x1, y1], fill=jitter_colour(rng, base, 80))
    return im


def place(rng: random.Random, plate_im: Image.Image) -> Image.Image:
    """The plate on a background, warped in perspective and cropped loosely around it."""
    W, H = plate_im.size
    m = int(max(W, H) * 0.25)
    cw, ch = W + 2 * m, H + 2 * m
    canvas = background(rng, cw, ch)
    canvas.paste(plate_im, (m, m))
    # Plate corners in the canvas; where they go in the output (perspective + rotation + shear).
    corners = [(m, m), (m + W, m), (m + W, m + H), (m, m + H)]
    ang = math.radians(rng.gauss(0, 4) if rng.random() < 0.9 else rng.uniform(-12, 12))
    shear = rng.gauss(0, 0.08)
    persp = rng.gauss(0, 0.06)
    cx, cy = cw / 2, ch / 2
    dst = []
    for k, (x, y) in enumerate(corners):
        dx, dy = x - cx, y - cy
        dx += shear * dy
        # Perspective: one side taller than the other.
        side = -1 if k in (0, 3) else 1
        dy *= 1 + persp * side
        dx2 = dx * math.cos(ang) - dy * math.sin(ang)
        dy2 = dx * math.sin(ang) + dy * math.cos(ang)
        dst.append((cx + dx2 + rng.gauss(0, W * 0.01), cy + dy2 + rng.gauss(0, H * 0.015)))
    xs = [p[0] for p in dst]
    ys = [p[1] for p in dst]
    bx0, bx1, by0, by1 = min(xs), max(xs), min(ys), max(ys)
    bw, bh = bx1 - bx0, by1 - by0
    # Loose crop as a localiser gives: margins from slightly inside to well outside the plate.
    ml = rng.uniform(-0.03, 0.12) * bw
    mr = rng.uniform(-0.03, 0.12) * bw
    mt = rng.uniform(-0.04, 0.2) * bh
    mb = rng.uniform(-0.04, 0.2) * bh
    box = (int(bx0 - ml), int(by0 - mt), int(math.ceil(bx1 + mr)), int(math.ceil(by1 + mb)))
    box = (max(0, box[0]), max(0, box[1]), min(cw, box[2]), min(ch, box[3]))
    # Warp only the cropped window: output pixel (x, y) is canvas output (x + box[0], y + box[1]).
    shifted = [(x - box[0], y - box[1]) for x, y in dst]
    coeffs = perspective_coeffs(corners, shifted)
    return canvas.transform((box[2] - box[0], box[3] - box[1]), Image.PERSPECTIVE, coeffs, Image.BILINEAR)


def motion_blur(rng: random.Random, a: np.ndarray, kmax: int) -> np.ndarray:
    horizontal = rng.random() < 0.7
    k = rng.randint(2, kmax if horizontal else max(2, kmax // 2))
    out = np.zeros_like(a, dtype=np.float32)
    for i in range(k):
        s = i - k // 2
        out += np.roll(a, s, axis=1 if horizontal else 0)
    return out / k


def degrade(rng: random.Random, im: Image.Image, rows: int = 1) -> Image.Image:
    # Resolution: the crop as the camera saw it (one-row crops 20-160 px high, two-row 40-240 px: each
    # row gets half the height, and a two-row plate whose rows cannot be told apart is no lesson).
    w, h = im.size
    lo, hi = (20, 160) if rows == 1 else (40, 240)
    target_h = int(math.exp(rng.uniform(math.log(lo), math.log(hi))))
    s = target_h / h
    im = im.resize((max(4, int(w * s)), max(4, int(h * s))), Image.BILINEAR)
    # Blur in proportion to the resolution: a blurred crop stays readable to a person.
    sharpness = min(1.0, target_h / 60)
    if rng.random() < 0.35:
        im = im.filter(ImageFilter.GaussianBlur(rng.uniform(0.2, 0.4 + 1.0 * sharpness)))
    a = np.asarray(im).astype(np.float32)
    if rng.random() < 0.12:
        a = motion_blur(rng, a, max(2, int(2 + 4 * sharpness)))
    # Lighting: contrast, brightness, colour cast, night, glare.
    if rng.random() < 0.1:  # night: dark, low contrast
        a = a * rng.uniform(0.3, 0.6) + rng.uniform(0, 20)
    else:
        a = (a - 128) * rng.uniform(0.55, 1.2) + 128 + rng.uniform(-40, 40)
    a = a * np.array([rng.uniform(0.8, 1.2) for _ in range(3)], dtype=np.float32)
    if rng.random() < 0.12:  # glare: a bright blob
        hh, ww = a.shape[:2]
        yy, xx = np.mgrid[0:hh, 0:ww]
        cx, cy = rng.uniform(0, ww), rng.uniform(0, hh)
        r = rng.uniform(0.2, 0.7) * max(ww, hh)
        g = np.exp(-(((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * r * r)))
        a = a + g[..., None] * rng.uniform(30, 110)
    if rng.random() < 0.1:  # shadow across part of the plate
        hh, ww = a.shape[:2]
        x0 = rng.randint(0, ww)
        a[:, x0:] *= rng.uniform(0.4, 0.8)
    if rng.random() < 0.7:
        a = a + np.asarray([[rng.gauss(0, 1)]], dtype=np.float32)  # keep the rng in step
        sigma = rng.uniform(2, 8)
        nrng = np.random.default_rng(rng.getrandbits(32))
        a = a + nrng.normal(0, sigma, a.shape[:2])[..., None].astype(np.float32)
    im = Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))
    if rng.random() < 0.6:
        buf = io.BytesIO()
        im.save(buf, format='JPEG', quality=rng.randint(15, 90))
        buf.seek(0)
        im = Image.open(buf).convert('RGB')
    return im


# --- Run-time pre-processing (mirror of detector/plates/image.ts) --------------------------------


def resize_rgb(a: np.ndarray, width: int, height: int) -> np.ndarray:
    """image.ts resizeRgb: area average when shrinking by 2x or more on both axes, else bilinear."""
    H, W = a.shape[:2]
    if W == width and H == height:
        return a
    if W >= 2 * width and H >= 2 * height:
        sx, sy = W / width, H / height
        c = np.zeros((H + 1, W + 1, 3), dtype=np.float64)
        c[1:, 1:] = a.astype(np.float64).cumsum(0).cumsum(1)
        y0 = np.floor(np.arange(height) * sy).astype(int)
        y1 = np.maximum(y0 + 1, np.minimum(H, np.floor((np.arange(height) + 1) * sy).astype(int)))
        x0 = np.floor(np.arange(width) * sx).astype(int)
        x1 = np.maximum(x0 + 1, np.minimum(W, np.floor((np.arange(width) + 1) * sx).astype(int)))
        s = c[y1][:, x1] - c[y0][:, x1] - c[y1][:, x0] + c[y0][:, x0]
        n = ((y1 - y0)[:, None] * (x1 - x0)[None, :])[..., None]
        return np.floor(s / n + 0.5).astype(np.uint8)  # Math.round
    sx, sy = W / width, H / height
    fy = np.maximum((np.arange(height) + 0.5) * sy - 0.5, 0)
    y0 = np.minimum(np.floor(fy).astype(int), H - 1)
    y1 = np.where(y0 < H - 1, y0 + 1, y0)
    wy = np.minimum(fy - y0, 1)[:, None, None]
    fx = np.maximum((np.arange(width) + 0.5) * sx - 0.5, 0)
    x0 = np.minimum(np.floor(fx).astype(int), W - 1)
    x1 = np.where(x0 < W - 1, x0 + 1, x0)
    wx = np.minimum(fx - x0, 1)[None, :, None]
    f = a.astype(np.float64)
    top = f[y0][:, x0] + (f[y0][:, x1] - f[y0][:, x0]) * wx
    bot = f[y1][:, x0] + (f[y1][:, x1] - f[y1][:, x0]) * wx
    return np.floor(top + (bot - top) * wy + 0.5).astype(np.uint8)


def to_gray(a: np.ndarray) -> np.ndarray:
    """image.ts toGray: BT.601 luma, integer, truncated."""
    a = a.astype(np.int64)
    return ((a[..., 0] * 299 + a[..., 1] * 587 + a[..., 2] * 114 + 500) // 1000).astype(np.uint8)


def model_input(rgb: np.ndarray) -> np.ndarray:
    """An RGB crop (H x W x 3 uint8) → the model's grey INPUT_H x INPUT_W uint8 image."""
    return to_gray(resize_rgb(rgb, INPUT_W, INPUT_H))


# --- Samples ---------------------------------------------------------------------------------------


def sample_rng(seed: int, index: int) -> random.Random:
    return random.Random(seed * 1_000_003 + index)


def make_sample(seed: int, index: int, intl_share: float = 0.25) -> tuple[np.ndarray, str, dict]:
    rng = sample_rng(seed, index)
    plate = intl_plate(rng) if rng.random() < intl_share else vn_plate(rng)
    im = render_plate(rng, plate)
    im = place(rng, im)
    im = degrade(rng, im, len(plate['rows']))
    return model_input(np.asarray(im.convert('RGB'))), label_of(plate), plate


def encode(label: str) -> list[int]:
    return [CHARSET.index(c) + 1 for c in label]


if __name__ == '__main__':
    import sys
    import time

    seed = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 48
    out = sys.argv[3] if len(sys.argv) > 3 else '/tmp/vn-plate-ocr-samples.png'
    t = time.time()
    cols = 4
    sheet = Image.new('L', (cols * (INPUT_W + 4), (n // cols) * (INPUT_H + 14)), 128)
    d = ImageDraw.Draw(sheet)
    for i in range(n):
        x, label, _ = make_sample(seed, i)
        r, c = divmod(i, cols)
        sheet.paste(Image.fromarray(x), (c * (INPUT_W + 4), r * (INPUT_H + 14)))
        d.text((c * (INPUT_W + 4), r * (INPUT_H + 14) + INPUT_H), label.replace('Đ', 'D*'), fill=255)
    sheet.save(out)
    print(f'{n} samples in {time.time() - t:.2f} s → {out}')
