"""The leaderboard page in real headless Chromium through WebDriver: sorting, filters, the
per-sequence drill-down, the BD anchor and the study section work, and the console stays clean.
The page's numbers are the report's own (same functions; checked against the CSVs here)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from benchmark.analysis.comparisons import Options
from benchmark.cli import main
from benchmark.core.pandas_setup import pd
from benchmark.reporting.leaderboard import write_html
from tests import browser
from tests.browser import chromium, console_errors
from tests.synthetic_store import record, write_store

# method -> (kind, causal, base quality): two codecs, the proposed decoder, its non-causal
# teacher and a generative baseline
METHODS = {"codec-a": ("classical", True, 30.0), "codec-b": ("classical", True, 31.0),
           "ours": ("proposed", True, 33.0), "teacher": ("proposed", False, 33.5),
           "gen": ("generative", True, 29.0)}
RATES = (0.0004, 0.001, 0.003, 0.01)


def _toy_store(root: Path):
    """2 sequences x 5 methods x 4 rate points with per-frame values and preview frames; one
    failed job of `gen`."""
    rng = np.random.default_rng(0)
    records = []
    for seq in ("a", "b"):
        for method, (kind, causal, base) in METHODS.items():
            for i, bpp in enumerate(RATES):
                psnr = base + 3 * np.log10(bpp / RATES[0]) + (0.5 if seq == "b" else 0)
                lpips = 0.6 - 0.1 * i - (base - 29) / 50
                failed = method == "gen" and seq == "b" and i == 3
                rec = record(method, seq, f"p{i}", bpp, {"psnr-rgb": psnr, "lpips-alex": lpips},
                             status="failed" if failed else "ok")
                rec.update(kind=kind, causal=causal, start_frame=0,
                           receiver_of="ours" if method == "teacher" else "",
                           per_frame={"psnr-rgb": list(psnr + rng.normal(0, .2, 8)),
                                      "lpips-alex": list(lpips + rng.normal(0, .01, 8))})
                records.append(rec)
        # a dominated point of codec-a: more bits than p1 for a worse value
        dominated = record("codec-a", seq, "p9", 0.002, {"psnr-rgb": 29.0, "lpips-alex": 0.7})
        dominated.update(per_frame={"psnr-rgb": [29.0] * 8, "lpips-alex": [0.7] * 8},
                         start_frame=0)
        records.append(dominated)
    store = write_store(root, records)
    for rec in store.records():
        img = rng.integers(0, 255, (32, 64, 3), dtype=np.uint8)
        Image.fromarray(img).save(Path(rec["_path"]).with_suffix(".png"))
    for seq in ("a", "b"):
        ref = store.reference_preview("toy", seq, 0)
        ref.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.full((32, 64, 3), 128, np.uint8)).save(ref)
    return store


STUDY = {"observers": 5, "votes": 40, "dropped": 1,
         "scores": [{"dataset": "toy", "band_bpp": 0.001, "method": "ours", "score": 0.8,
                     "ci_low": 0.3, "ci_high": 1.2, "wins": 15, "losses": 5, "ties": 0},
                    {"dataset": "toy", "band_bpp": 0.001, "method": "codec-a", "score": -0.8,
                     "ci_low": -1.2, "ci_high": -0.3, "wins": 5, "losses": 15, "ties": 0}],
         "win_rates": []}


@pytest.fixture(scope="module")
def page(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("lb")
    store = _toy_store(root / "store")
    return write_html(store, root / "index.html", study=STUDY,
                      options=Options(anchors=("codec-a",), targets=(0.001, 0.003)))


@pytest.fixture(scope="module")
def driver(tmp_path_factory):
    with chromium(tmp_path_factory.mktemp("profile")) as d:
        yield d


def _open(driver, page: Path) -> None:
    driver.get(page.as_uri())
    assert driver.execute_script("return document.body.dataset.ready") == "1"


def _rows(driver, kind: str) -> list[str]:
    return [r.get_attribute("data-entry") for r in driver.find_elements(
        "css selector", f"table[data-table={kind}] tbody tr")]


def _click(driver, css: str) -> None:
    element = driver.find_element("css selector", css)
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
    element.click()


def test_matched_table_marks_best_proposed_and_warnings(driver, page):
    _open(driver, page)
    assert sorted(_rows(driver, "matched")) == sorted(METHODS)
    proposed = {r.get_attribute("data-entry") for r in driver.find_elements(
        "css selector", "table[data-table=matched] tr.proposed")}
    assert proposed == {"ours"}                      # the teacher is a receiver, labelled so
    teacher = driver.find_element("css selector",
                                  "table[data-table=matched] tr[data-entry=teacher]")
    assert "receiver of ours's streams" in teacher.text
    # metric starts at lpips-alex (lower is better): the teacher is best at every target
    best = driver.find_elements("css selector", "table[data-table=matched] td.best")
    assert best and all(b.find_element("xpath", "..").get_attribute("data-entry") == "teacher"
                        for b in best)
    assert "\u2193 lower is better" in driver.find_element("css selector", "h3").text
    # every -- says why on its row
    for row in driver.find_elements("css selector", "table[data-table=matched] tbody tr"):
        if "--" in row.text:
            assert "its front covers only" in row.text and "never extrapolated" in row.text
    warn = driver.find_element("css selector", "tr[data-entry=gen] details.warn")
    warn.click()
    assert "failed: b / p3" in warn.text
    assert not driver.find_elements("css selector", "tr[data-entry=ours] details.warn")
    assert console_errors(driver) == []


def test_headline_block_ranked_rows_one_rule_marks_and_provenance(driver, page):
    """The headline sits at the top of the dataset; the proposed-rates rows are ranked (the
    proposed entry first, then by value); marks are the report's (one rule); a receiver's
    kind says whose streams it decodes; provenance is a table."""
    _open(driver, page)
    block = driver.find_element("css selector", "section[data-dataset=toy] .headline")
    section = driver.find_element("css selector", "section[data-dataset=toy]")
    assert section.find_elements("css selector", "div, h3, table")[0] == block
    assert "ours at" in block.text and "lpips-alex (lower better)" in block.text
    assert "caveat: 2 clips (fewer than 5)" in block.text
    notes = driver.find_elements("css selector", "section[data-dataset=toy] p.caveat-note")
    assert notes and all(n.is_displayed() and "means over 2 sequence(s)" in n.text
                         for n in notes)   # in the open, above the tables they concern
    order = _rows(driver, "proposed")
    assert order[0] == "ours" and order[1] == "teacher" and order[-1] == "gen"   # lpips-alex
    marked = {b.find_element("xpath", "..").get_attribute("data-entry")
              for b in driver.find_elements("css selector", "table[data-table=proposed] td.best")}
    assert marked == {"teacher"}
    kind = driver.find_element("css selector",
                               "table[data-table=proposed] tr[data-entry=teacher] td:nth-child(2)")
    assert kind.text == "receiver of ours's streams"
    assert not driver.find_elements("css selector", "table[data-table=rd] td.best")
    rows = driver.find_elements("css selector", "table#provenance tbody tr")
    assert rows and any("ulvr-bench" in r.text for r in rows)
    assert console_errors(driver) == []


def test_the_why_column_is_readable_at_1400_px(driver, page):
    size = driver.get_window_size()
    driver.set_window_size(1400, 900)
    try:
        _open(driver, page)
        cells = driver.find_elements("css selector", "table[data-table=matched] td.why")
        assert cells and all(c.size["width"] >= 250 for c in cells)   # 22em, never squeezed
        assert all(c.is_displayed() for c in cells)
    finally:
        driver.set_window_size(size["width"], size["height"])


def test_clicking_a_column_header_reorders_the_rows(driver, page):
    _open(driver, page)

    def bpps() -> list[str]:
        return [r.find_elements("css selector", "td")[3].text for r in driver.find_elements(
            "css selector", "table[data-table=rd] tbody tr")]

    before = bpps()
    values = sorted(float(v) for v in before if v != "--")
    header = "table[data-table=rd] th[data-col='3']"     # bpp
    _click(driver, header)
    after = bpps()
    assert after != before
    assert [float(v) for v in after[:len(values)]] == values      # ascending, missing last
    assert after[len(values):] == ["--"]
    _click(driver, header)
    assert [float(v) for v in bpps()[:len(values)]] == values[::-1]
    # a quality column sorts best first: psnr-rgb (higher is better) descending
    names = [th.text for th in driver.find_elements("css selector",
                                                    "table[data-table=matched] th")]
    _click(driver, f"table[data-table=matched] th[data-col='{names.index('0.003 bpp')}']")
    order = _rows(driver, "matched")
    assert order[0] == "teacher" and order[-1] == "gen"   # lpips-alex: lowest first
    assert console_errors(driver) == []


def test_filters_hide_the_right_rows(driver, page):
    _open(driver, page)
    _click(driver, "input[data-kind=classical]")
    assert sorted(_rows(driver, "matched")) == ["gen", "ours", "teacher"]
    assert "codec-a" not in _rows(driver, "rd")
    from selenium.webdriver.support.ui import Select

    Select(driver.find_element("id", "causal")).select_by_value("non-causal")
    assert _rows(driver, "matched") == ["teacher"]
    Select(driver.find_element("id", "causal")).select_by_value("all")
    _click(driver, "input[data-kind=classical]")
    assert len(_rows(driver, "matched")) == len(METHODS)
    Select(driver.find_element("id", "metric")).select_by_value("psnr-rgb")
    assert "psnr-rgb" in driver.find_element("css selector", "h3").text
    Select(driver.find_element("id", "dataset")).select_by_value("toy")
    assert driver.find_element("css selector", "section[data-dataset=toy]").is_displayed()
    assert console_errors(driver) == []


def test_drill_down_opens_with_curves_and_frames(driver, page):
    _open(driver, page)
    assert not driver.find_elements("css selector", ".drill")
    _click(driver, "button[data-sequence=b]")
    drill = driver.find_element("css selector", ".drill[data-sequence=b]")
    plots = drill.find_elements("css selector", "svg.plot")
    assert len(plots) == 2                                    # RD curves, per-frame curves
    assert len(plots[0].find_elements("css selector", "path.front")) == len(METHODS)
    assert len(plots[1].find_elements("css selector", "g[data-series] [data-marker]")) == \
        8 * len(METHODS)
    # the chosen job of each entry is its front point nearest the target, its rate captioned
    captions = [c.text for c in drill.find_elements("css selector", ".grid figcaption")]
    assert not any("p9" in c for c in captions) and all("bpp" in c for c in captions[1:])
    images = drill.find_elements("css selector", ".grid img")
    assert len(images) == 1 + len(METHODS)                    # the reference and each method
    assert all(driver.execute_script("return arguments[0].complete && "
                                     "arguments[0].naturalWidth === 64", i) for i in images)
    zooms = drill.find_elements("css selector", ".grid .zoom")
    assert all(z.size["width"] > 0 for z in zooms)
    _click(driver, ".drill button.close")
    assert not driver.find_elements("css selector", ".drill")
    assert console_errors(driver) == []


def test_bd_table_follows_the_chosen_anchor(driver, page):
    from selenium.webdriver.support.ui import Select

    _open(driver, page)
    assert "codec-a" not in _rows(driver, "bd") and "codec-b" in _rows(driver, "bd")
    Select(driver.find_element("id", "anchor-toy")).select_by_value("codec-b")
    assert "codec-b" not in _rows(driver, "bd") and "codec-a" in _rows(driver, "bd")
    share = driver.find_element("css selector", "table[data-table=bd] tbody tr td:nth-child(7)")
    assert float(share.text) == pytest.approx(100.0)         # same rate points: full overlap
    ci = driver.find_element("css selector", "table[data-table=bd] tbody tr td:nth-child(3)")
    wins = driver.find_element("css selector", "table[data-table=bd] tbody tr td:nth-child(4)")
    assert re.fullmatch(r"\[-?[\d.,e+-]+, -?[\d.,e+-]+\]", ci.text) and wins.text.endswith("/2")
    from selenium.webdriver.support.ui import Select as Choose

    Choose(driver.find_element("id", "regime-toy")).select_by_value("ultra-low")
    assert driver.find_element("id", "regime-toy").get_attribute("value") == "ultra-low"
    assert console_errors(driver) == []


def test_study_section_shows_scores(driver, page):
    _open(driver, page)
    section = driver.find_element("id", "study")
    assert "1 observer(s) left out" in section.text and "ours" in section.text


def test_page_of_a_real_run_matches_the_report_tables(tmp_path, carphone):
    """`ulvr run` writes the page beside the report; its matched-rate values are the CSV's."""
    out = tmp_path / "res"
    assert main(["run", "--methods", "x264,x265", "--metrics", "psnr,ms-ssim", "--sequences",
                 "carphone", "--frames", "4", "--out", str(out), "--quiet"]) == 0
    page = out / "report" / "index.html"
    text = page.read_text()
    fetched = re.findall(r"""(?:src|href)\s*=\s*["']?(https?:)""", text)
    assert not fetched and "https://" not in text         # self-contained: nothing to fetch
    data = json.loads(re.search(r'<script type="application/json" id="data">(.*?)</script>',
                                text, re.S).group(1).replace("<\\/", "</"))
    csv = pd.read_csv(out / "report" / "matched_rate_embedded.csv")
    view = data["datasets"]["embedded"]["rates"]["total"]
    for r in csv[csv["value"].notna()].itertuples():
        i = data["targets"].index(r.target_bpp)
        value, covered, sequences = view["matched"][r.metric][r.method][i]
        assert value == pytest.approx(r.value, rel=1e-4)
        assert (covered, sequences) == (r.covered, r.sequences)
    with chromium(tmp_path / "profile") as driver:
        _open(driver, page)
        assert sorted(_rows(driver, "matched")) == ["x264", "x265"]
        assert console_errors(driver) == []


def test_missing_browser_skips_with_the_reason(monkeypatch: pytest.MonkeyPatch,
                                               tmp_path: Path) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setattr(browser, "INSTALL_LOG", tmp_path / "browser-install.log")
    with pytest.raises(pytest.skip.Exception, match="did not try to install it"):
        browser.executables()
    (tmp_path / "browser-install.log").write_text("E: Unable to locate package chromium\n"
                                                  "chromium: apt-get install failed\n")
    with pytest.raises(pytest.skip.Exception, match="apt-get install failed"):
        browser.executables()


def test_no_test_installs_packages() -> None:
    """Installing belongs to the set-up (the Makefile), never to a test."""
    apt = "apt" + "-get"
    for path in Path(__file__).parent.glob("*.py"):
        calls = re.findall(rf"[\[(,]\s*[\"']{apt}[\"']", path.read_text())
        assert not calls, f"{path.name} runs {apt}"



def test_sections_fronts_and_the_proposed_curve(driver, page):
    """The proposed-rates table comes first; fronts are the curves, dominated points faint;
    the proposed curve is thicker and drawn last; an ultra-low view; labelled axes; distinct
    colours; the sticky header leaves section tops visible; wide tables scroll."""
    _open(driver, page)
    first = driver.find_element("css selector", "section[data-dataset=toy] h3")
    assert first.text.startswith("Quality at ours's own rates")
    assert _rows(driver, "proposed")[0] == "ours"
    plots = driver.find_elements("css selector", "section[data-dataset=toy] > .plots svg.plot")
    assert len(plots) == 2 and "ultra-low view" in plots[1].get_attribute("aria-label")
    groups = plots[0].find_elements("css selector", "g[data-series]")
    assert groups[-1].get_attribute("data-series") == "ours (proposed)"     # on top
    widths = {g.get_attribute("data-series"): float(g.find_element(
        "css selector", "path.front").get_attribute("stroke-width")) for g in groups}
    assert widths["ours (proposed)"] > max(w for n, w in widths.items() if n != "ours (proposed)")
    faint = plots[0].find_elements("css selector", "g[data-series='codec-a'] .dominated")
    assert len(faint) == 1                                   # p9, off its front
    assert "lower is better" in plots[0].text
    colours = [g.find_element("css selector", "path.front").get_attribute("stroke")
               for g in groups]
    assert len(set(colours)) == len(colours)
    header = driver.find_element("css selector", "header").size["height"]
    bd = driver.find_element("css selector", "table[data-table=bd]")
    driver.execute_script("arguments[0].closest('div').previousElementSibling.scrollIntoView()", bd)
    top = driver.execute_script("return arguments[0].closest('div').previousElementSibling"
                                ".getBoundingClientRect().top", bd)
    assert top >= header - 1
    width = driver.execute_script("return window.innerWidth")
    for box in driver.find_elements("css selector", ".scroll"):
        assert box.size["width"] <= width
    assert console_errors(driver) == []
