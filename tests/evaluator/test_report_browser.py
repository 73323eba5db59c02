"""The weekly report rendered in a real headless browser (Debian's chromium): it shows the verdict,
the grades table and five plots of non-zero size, and loads nothing from anywhere.

Skips only when no chromium is found (``make test`` installs it when running as root with apt).
The browser runs behind a dead proxy (127.0.0.1:9) with background networking off, so even
chromium's own update pings cannot reach the network.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

REPORT = "artifacts/evaluator/2022-12-31/report.html"
CHROMIUM = next((p for name in ("chromium", "chromium-browser", "google-chrome") if (p := shutil.which(name))), None)
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="no chromium found: install it with `apt-get install -y chromium` (Debian) "
                             "or run `make browser` as root")

# A probe appended to a copy of the report (the report itself has no script): each plot's rendered
# size and every resource the page fetched.
PROBE = ("<script>(function(){var s=[].slice.call(document.querySelectorAll('figure svg')).map(function(e){"
         "var r=e.getBoundingClientRect();return [Math.round(r.width),Math.round(r.height)]});"
         "var res=performance.getEntriesByType('resource').map(function(e){return e.name});"
         "var p=document.createElement('pre');p.id='probe';p.textContent=JSON.stringify({svgs:s,resources:res});"
         "document.body.appendChild(p)})();</script>")


def _chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-default-apps",
               "--disable-extensions", "--proxy-server=127.0.0.1:9", f"--user-data-dir={tmp_path / 'profile'}", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


class _Dom(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: dict[str, str] = {}
        self.grades_rows = 0
        self.svgs = 0
        self.urls: list[str] = []
        self._open: list[str] = []
        self._in_grades = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if found.get("id"):
            self._open.append(str(found["id"]))
            self.ids.setdefault(str(found["id"]), "")
        if found.get("id") == "grades":
            self._in_grades = True
        if tag == "tr" and self._in_grades:
            self.grades_rows += 1
        if tag == "svg":
            self.svgs += 1
        self.urls += [str(v) for k, v in attrs if k in ("src", "href") and v]

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._in_grades = False

    def handle_data(self, data: str) -> None:
        for element in self._open:
            self.ids[element] += data


def test_the_report_renders_in_a_headless_browser_with_grades_plots_and_no_requests(graded: Path,
                                                                                    tmp_path: Path) -> None:
    source = (graded / REPORT).read_text(encoding="utf-8")
    assert "<script" not in source and not re.search(r"url\((?!#)|@import|<link|<img", source)
    page = tmp_path / "probe.html"
    page.write_text(source.replace("</body>", PROBE + "</body>"), encoding="utf-8")
    dumped = _chromium(tmp_path, "--window-size=1280,3000", "--dump-dom", page.as_uri())
    assert dumped.returncode == 0, dumped.stderr[-2000:]
    dom = _Dom()
    dom.feed(dumped.stdout)
    assert dom.ids["verdict"].startswith("Overall ")
    assert dom.grades_rows == 1 + 1 + 3 + 12  # header, overall, 3 groups, 12 components
    assert "meta_model" in dom.ids["grades"] and "not graded" in dom.ids["grades"]
    assert dom.svgs == 5 and dom.urls == []
    probe = json.loads(dom.ids["probe"])
    assert len(probe["svgs"]) == 5 and all(w > 100 and h > 100 for w, h in probe["svgs"])
    assert probe["resources"] == []  # the page fetched nothing: every plot is inline


def test_the_report_screenshot_is_not_blank(graded: Path, tmp_path: Path) -> None:
    import matplotlib.image

    shot = tmp_path / "report.png"
    result = _chromium(tmp_path, "--window-size=1280,2400", f"--screenshot={shot}", (graded / REPORT).as_uri())
    assert result.returncode == 0 and shot.exists(), result.stderr[-2000:]
    pixels = matplotlib.image.imread(str(shot))
    assert pixels.shape[:2] == (2400, 1280) and pixels.std() > 0.05  # text, tables and plots, not one colour
