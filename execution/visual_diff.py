"""Comparing a screenshot with its baseline pixel by pixel, tolerant of anti-aliasing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from PIL import Image, ImageChops, ImageFilter

if TYPE_CHECKING:
    from pathlib import Path

# A pixel differs when one of its channels moved by more than this (of 255): below it are
# the colour noise of compression and GPU rounding, as pixelmatch's 0.1 threshold allows.
CHANNEL_TOLERANCE = 24
# Differences thinner than this many pixels are anti-aliasing (a glyph's or an edge's
# rendering moved by a fraction of a pixel), not a change a person would notice.
ANTI_ALIASING_PX = 3

_RED = (230, 0, 0, 255)
_YELLOW = (255, 200, 0, 255)


@dataclass(frozen=True, slots=True)
class Difference:
    """How far an image is from its baseline."""

    different_pixels: int
    total_pixels: int
    size_changed: bool

    @property
    def percentage(self) -> float:
        """The share of different pixels in percent (100 when the sizes differ)."""
        if self.size_changed or not self.total_pixels:
            return 100.0
        return 100 * self.different_pixels / self.total_pixels


def _opened(mask: Image.Image) -> Image.Image:
    """`mask` without the regions thinner than ANTI_ALIASING_PX (erode, then dilate)."""
    return mask.filter(ImageFilter.MinFilter(ANTI_ALIASING_PX)).filter(
        ImageFilter.MaxFilter(ANTI_ALIASING_PX)
    )


def compare_images(actual: Path, baseline: Path, diff: Path) -> Difference:
    """Compare two PNGs and write `diff`: the baseline faded, changes red, anti-aliasing yellow.

    Images of different sizes differ entirely; the diff is then the actual image faded.
    """
    with Image.open(actual) as now_file, Image.open(baseline) as then_file:
        now, then = now_file.convert("RGB"), then_file.convert("RGB")
    faded = Image.blend(
        then if now.size == then.size else now, Image.new("RGB", now.size, "white"), 0.8
    )
    if now.size != then.size:
        faded.save(diff)
        return Difference(now.width * now.height, now.width * now.height, size_changed=True)
    channels = ImageChops.difference(now, then).split()
    largest = channels[0]
    for channel in channels[1:]:
        largest = ImageChops.lighter(largest, channel)
    changed = largest.point(lambda value: 255 if value > CHANNEL_TOLERANCE else 0)
    counted = _opened(changed)
    image = faded.convert("RGBA")
    image.paste(Image.new("RGBA", now.size, _YELLOW), mask=changed)
    image.paste(Image.new("RGBA", now.size, _RED), mask=counted)
    image.save(diff)
    different = counted.histogram()[255]
    return Difference(different, now.width * now.height, size_changed=False)
