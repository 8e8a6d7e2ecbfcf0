"""Each report (run, lab, sampling) opened in headless Chromium: every figure decodes to a picture.

A copy of the report gets a small script that, once the page has loaded, writes every image's
``complete`` flag and natural size into the DOM; Chromium's ``--dump-dom`` hands the DOM back.
Skipped, saying why, where Chromium is not installed (``.ci/system-deps`` installs it as root).
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

CHROMIUM = next((p for p in (shutil.which(n) for n in
                             ("chromium", "chromium-browser", "google-chrome")) if p), None)
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium is not installed (.ci/system-deps installs it when run as "
                             "root): the figures are not checked in a browser here")

PROBE = ("<script>addEventListener('load', async () => { const imgs = [...document.images]; "
         "const done = await Promise.allSettled(imgs.map(i => i.decode())); "
         "document.body.setAttribute('data-images', JSON.stringify(imgs.map((i, k) => "
         "[i.alt, done[k].status === 'fulfilled', i.naturalWidth, i.naturalHeight]))); });"
         "</script>")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run")


def images_in_chromium(page: Path, tmp_path: Path) -> list[tuple[str, bool, int, int]]:
    """(alt, decoded, natural width, natural height) of every image, as Chromium loaded them."""
    probe = tmp_path / f"probe-{page.stem}.html"
    probe.write_text(page.read_text("utf-8").replace("</body>", PROBE + "</body>"), "utf-8")
    for budget_ms in (60_000, 120_000, 240_000):  # more virtual time when a loaded machine
        # let the page's budget run out before the images were decoded
        proc = subprocess.run([CHROMIUM, *FLAGS, f"--virtual-time-budget={budget_ms}",
                               f"--user-data-dir={tmp_path / 'profile'}",
                               "--dump-dom", probe.as_uri()], capture_output=True, text=True,
                              timeout=180)
        found = re.search(r'data-images="([^"]*)"', proc.stdout)
        if found:
            break
    assert found, (f"Chromium did not run the probe (exit {proc.returncode}): "
                   f"{proc.stderr[-3000:]} stdout: {proc.stdout[-500:]}")
    return [tuple(x) for x in json.loads(html.unescape(found.group(1)))]


def test_a_broken_figure_is_seen_as_broken(tmp_path):
    """The check can fail: an image that is not a PNG is seen as not decoded, of no size."""
    from meterbench.reports.figures import new_figure, to_data_uri

    good = to_data_uri(new_figure(2, 1))
    page = tmp_path / "broken.html"
    page.write_text(f'<!DOCTYPE html><html><body><img alt="good" src="{good}">'
                    '<img alt="junk" src="data:image/png;base64,AAAA"></body></html>', "utf-8")
    got = {alt: (ok, w, h) for alt, ok, w, h in images_in_chromium(page, tmp_path)}
    assert got == {"good": (True, 220, 110), "junk": (False, 0, 0)}


@pytest.mark.parametrize("name", ("field_report", "lab_report", "sampling_report"))
def test_every_figure_of_the_report_renders_in_chromium(name, request, tmp_path):
    report = request.getfixturevalue(name)
    expected = [f.alt for f in report.page.figures()]
    assert expected  # each report has figures
    images = images_in_chromium(report.html, tmp_path)
    assert [alt for alt, *_ in images] == expected
    for alt, decoded, width, height in images:
        assert decoded and width > 300 and height > 150, (alt, width, height)
