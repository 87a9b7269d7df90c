"""compare_images: what counts as a change, what is anti-aliasing or noise, and the diff image."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

from execution.visual_diff import compare_images

RED = (230, 0, 0)
YELLOW = (255, 200, 0)


def _page(path: Path, *, box_x: int = 20, line: bool = False, noise: int = 0) -> Path:
    """A 100 x 100 white page with a black 20 x 20 box, maybe a 1 px line and colour noise."""
    image = Image.new("RGB", (100, 100), (255 - noise, 255, 255))
    draw = ImageDraw.Draw(image)
    draw.rectangle((box_x, 20, box_x + 19, 39), fill="black")
    if line:  # the grey fringe a glyph's edge gets when it lands half a pixel further
        draw.line((60, 10, 60, 90), fill=(128, 128, 128))
    image.save(path)
    return path


def _colours(diff: Path) -> set[tuple[int, int, int]]:
    with Image.open(diff) as image:
        return {colour for _, colour in image.convert("RGB").getcolors(100 * 100) or []}


def test_anti_aliasing_and_colour_noise_do_not_count_but_show_yellow(tmp_path: Path) -> None:
    baseline = _page(tmp_path / "baseline.png")
    actual = _page(tmp_path / "actual.png", line=True, noise=20)

    found = compare_images(actual, baseline, tmp_path / "diff.png")

    assert (found.different_pixels, found.total_pixels, found.size_changed) == (0, 10_000, False)
    assert found.percentage == 0
    colours = _colours(tmp_path / "diff.png")
    assert YELLOW in colours
    assert RED not in colours


def test_a_moved_box_counts_its_two_strips_in_red(tmp_path: Path) -> None:
    baseline = _page(tmp_path / "baseline.png")
    actual = _page(tmp_path / "actual.png", box_x=25)

    found = compare_images(actual, baseline, tmp_path / "diff.png")

    assert found.different_pixels == 2 * 5 * 20
    assert found.percentage == 2.0
    assert RED in _colours(tmp_path / "diff.png")


def test_images_of_different_sizes_differ_entirely(tmp_path: Path) -> None:
    baseline = _page(tmp_path / "baseline.png")
    Image.new("RGB", (100, 120), "white").save(tmp_path / "actual.png")

    found = compare_images(tmp_path / "actual.png", baseline, tmp_path / "diff.png")

    assert (found.size_changed, found.percentage) == (True, 100.0)
    with Image.open(tmp_path / "diff.png") as diff:
        assert diff.size == (100, 120)
