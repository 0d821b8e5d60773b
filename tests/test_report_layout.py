"""The HTML report in a real browser: nothing overflows sideways on a phone or a desktop.

Debian's headless Chromium opens a small page holding the report in a frame as wide
as the screen tested (headless Chromium will not make its window narrower than
500 px, a frame can be any width, and the report's media queries follow the frame).
Once everything has loaded, a script there measures the report (the document's scroll
width against its client width, and every element whose box ends past the right edge
or starts before the left) and writes the result into the page; `--dump-dom` prints
the page, and the test reads the result back. The report itself holds no script.

Chromium is a Debian package (`bash .ci/debian-packages` installs it): without it
the test fails and says so rather than skipping, so a layout check is never
silently missing from a run.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path
from subprocess import PIPE

import pytest

from bot.services.digests.digest_render import report_html
from tests.demo_digests import demo_digests

WIDTHS = (390, 1280)
LANGUAGES = ("en", "de")
SCOPES = ("organisation", "unit")
WINDOW = "1400,2000"  # wider than any frame tested
TIMEOUT = 60  # seconds for one page; a healthy run takes one or two
RESULT = re.compile(r'<pre id="layout-result"[^>]*>(.*?)</pre>', re.DOTALL)

# The report in a frame `width` px wide; after every load, what sticks out of the frame.
PROBE = """<!DOCTYPE html>
<html><head><meta charset="utf-8">
<style>html, body { margin: 0; } iframe { border: 0; display: block; }</style></head>
<body><iframe id="page" src="SOURCE" style="width: WIDTHpx; height: 2000px"></iframe>
<pre id="layout-result" hidden></pre>
<script>
addEventListener("load", () => {
  const out = document.getElementById("layout-result");
  const frame = document.getElementById("page").contentDocument;
  if (!frame || !frame.body) {
    out.textContent = JSON.stringify({error: "the frame is not readable"});
    return;
  }
  const root = frame.documentElement;
  const width = root.clientWidth;
  const classes = (el) => (el.getAttribute("class") || "").trim().split(/\\s+/).filter(Boolean);
  const describe = (el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "")
    + classes(el).map((name) => "." + name).join("");
  const offenders = [];
  for (const el of frame.body.querySelectorAll("*")) {
    const box = el.getBoundingClientRect();
    if (box.width === 0 && box.height === 0) continue;
    if (box.right > width + 0.5 || box.left < -0.5) {
      offenders.push(`${describe(el)} [${Math.round(box.left)}, ${Math.round(box.right)}]`
        + ` "${(el.textContent || "").trim().slice(0, 40)}"`);
    }
  }
  out.textContent = JSON.stringify({scrollWidth: root.scrollWidth, clientWidth: width, offenders});
});
</script></body></html>
"""


@dataclass(frozen=True)
class Layout:
    scroll_width: int
    client_width: int
    offenders: list[str]


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Path]:
    """The demo organisation's report and one unit's, in each language."""
    folder = tmp_path_factory.mktemp("reports")
    demo = demo_digests(folder)
    written = {}
    for scope, digest in (("organisation", demo.organisation), ("unit", demo.unit)):
        for language in LANGUAGES:
            page = report_html(digest, demo.frameworks, language)
            assert "<script" not in page.lower()
            path = folder / f"{scope}-{language}.html"
            path.write_text(page, "utf-8")
            written[(scope, language)] = path
    return written


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.fail(
            "Chromium is needed for the report layout test and is not installed:"
            " run `bash .ci/debian-packages` (or `apt-get install chromium`)",
            pytrace=False,
        )
    return found


def measure(page: Path, width: int, folder: Path) -> Layout:
    """Load `page` in a frame `width` CSS pixels wide in headless Chromium; read the probe."""
    probe = folder / f"probe-{width}-{page.stem}.html"
    probe.write_text(
        PROBE.replace("SOURCE", html.escape(page.as_uri())).replace("WIDTH", str(width)), "utf-8"
    )
    command = [
        chromium(),
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--hide-scrollbars",
        "--allow-file-access-from-files",  # the probe reads the frame's document
        f"--user-data-dir={folder / 'profile'}",
        f"--window-size={WINDOW}",
        "--virtual-time-budget=2000",
        "--dump-dom",
        probe.as_uri(),
    ]
    # Its own process group, so a hung Chromium goes with all the processes it started.
    with subprocess.Popen(
        command, stdout=PIPE, stderr=PIPE, text=True, start_new_session=True
    ) as chrome:
        try:
            stdout, stderr = chrome.communicate(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(chrome.pid, signal.SIGKILL)
            chrome.communicate()
            pytest.fail(f"Chromium did not finish {page.name} at {width} px in {TIMEOUT} s")
    found = RESULT.search(stdout)
    data = json.loads(html.unescape(found.group(1))) if found and found.group(1) else {}
    if "offenders" not in data:
        # Chromium's stderr is mostly noise (D-Bus, GPU); its last lines say what went wrong.
        noise = "\n".join(stderr.strip().splitlines()[-15:])
        pytest.fail(
            f"no layout result from Chromium for {page.name} at {width} px"
            f" (exit {chrome.returncode}, {data or 'nothing'}):\n{noise}"
        )
    return Layout(data["scrollWidth"], data["clientWidth"], data["offenders"])


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("scope", SCOPES)
def test_the_report_never_scrolls_sideways(
    reports: dict[tuple[str, str], Path], tmp_path: Path, scope: str, language: str, width: int
) -> None:
    layout = measure(reports[(scope, language)], width, tmp_path)

    assert layout.client_width == width, "the window is not the width asked for"
    listed = "\n  ".join(layout.offenders[:40])
    assert layout.scroll_width <= layout.client_width and not layout.offenders, (
        f"{scope} report in {language} overflows at {width} px: scroll width"
        f" {layout.scroll_width} > {layout.client_width}; elements past the edge:\n  {listed}"
    )


def test_the_probe_finds_an_overflow(tmp_path: Path) -> None:
    """The measurement itself: a page with a too-wide element is caught, and named."""
    page = tmp_path / "wide.html"
    page.write_text('<!DOCTYPE html><body><p id="wide" style="width: 600px">x</p></body>', "utf-8")
    layout = measure(page, 390, tmp_path)

    assert layout.scroll_width > layout.client_width == 390
    assert any(o.startswith("p#wide ") for o in layout.offenders)
