"""docs/notebook_screenshot.py: the tutorial's first cells as HTML, and that HTML as a PNG.

The kernel run is marked 'notebook'; the Chromium step is skipped where Chromium is missing
(CI), so `make notebook-screenshot` is the only place it must exist.
"""

import importlib.util
import pathlib
import shutil

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("nbconvert")
pytest.importorskip("nbclient")

SCRIPT = pathlib.Path(__file__).parent.parent / "docs" / "notebook_screenshot.py"
_spec = importlib.util.spec_from_file_location("notebook_screenshot", SCRIPT)
shot = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(shot)


def test_optimise_trims_the_empty_page_below_and_keeps_its_flat_colours_exact(tmp_path):
    page = Image.new("RGB", (300, 1000), (255, 255, 255))
    page.paste((245, 245, 245), (20, 20, 280, 90))  # a code cell
    noise = np.random.default_rng(0).integers(0, 256, (400, 200, 3), dtype=np.uint8)
    page.paste(Image.fromarray(noise), (50, 100))  # a picture with every colour
    page.save(tmp_path / "raw.png")
    shot.optimise(tmp_path / "raw.png", tmp_path / "out.png", colours=64, margin=10)
    with Image.open(tmp_path / "out.png") as out:
        assert out.mode == "P" and out.size == (300, 510)  # content ends at row 500
        assert len(out.getcolors()) <= 64
        rgb = out.convert("RGB")  # an octree palette alone gives (253, 254, 254) for both
        assert rgb.getpixel((0, 0)) == (255, 255, 255) and rgb.getpixel((30, 30)) == (245,) * 3


def test_optimise_refuses_a_page_taller_than_the_window(tmp_path):
    page = Image.new("RGB", (100, 100), (10, 10, 10))  # content down to the last row
    page.putpixel((0, 99), (255, 255, 255))
    page.save(tmp_path / "raw.png")
    with pytest.raises(SystemExit, match="taller than the window"):
        shot.optimise(tmp_path / "raw.png", tmp_path / "out.png", colours=16)


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    return shot.executed_html(tmp_path_factory.mktemp("nb"), "## Compare the back ends")


@pytest.mark.notebook
def test_the_html_holds_the_first_cells_executed_and_stops_at_the_comparison(page):
    html = page.read_text()
    assert html.count('class="clevrlang-trace"') == 3  # symbolic, engineered, learned
    assert "data:image/png;base64," in html  # the scene's picture
    assert "filter_material" in html and "Run and trace it on each back end" in html
    assert "clevrlang-comparison" not in html and "Compare the back ends" not in html


@pytest.mark.notebook
def test_an_unknown_heading_is_refused_rather_than_picturing_everything(tmp_path):
    with pytest.raises(SystemExit, match="no cell of tutorial.ipynb starts with"):
        shot.executed_html(tmp_path, "## No such heading")


@pytest.mark.notebook
@pytest.mark.skipif(not shutil.which("chromium"), reason="no Chromium (apt-get install chromium)")
def test_chromium_photographs_the_page(page, tmp_path):
    shot.screenshot(page, tmp_path / "raw.png", 1100, 6000, shutil.which("chromium"))
    shot.optimise(tmp_path / "raw.png", tmp_path / "out.png", colours=256)
    with Image.open(tmp_path / "out.png") as out:
        assert out.width == 1100 and 1500 < out.height < 6000  # the page, trimmed
        top = out.convert("RGB").crop((0, 0, 1100, 200))
        assert len(top.getcolors(1 << 16)) > 8  # text was drawn, not a blank page
