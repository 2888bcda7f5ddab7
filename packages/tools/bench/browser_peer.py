"""Peer for bench/browser.bench.ts: the reference browser's html2text stage (Python html2text with the settings of
gpt_oss/tools/simple_browser/page_contents.py) on the same pages. lxml is not needed: this times only the stage
that dominates the reference's processing. Needs html2text (pip install html2text, or PYTHONPATH to a checkout).

Run: python3 bench/browser_peer.py
"""
import pathlib
import re
import time

import html2text

HERE = pathlib.Path(__file__).parent
PAGES = HERE.parent / "test" / "fixtures" / "browser" / "pages"


def synthetic() -> str:
    paras = "\n".join(
        f'<p>Paragraph {i} with <b>bold</b> and <a href="https://x{i % 50}.example/a{i}">a link</a> and some more '
        "words to make it longer than eighty characters for wrapping.</p>"
        for i in range(5000)
    )
    return f"<html><head><title>Big</title></head><body>{paras}</body></html>"


def stage(html: str) -> str:
    html = re.sub(r"<sup( [^>]*)?>([\w\-]+)</sup>", r"^{\2}", html)
    html = re.sub(r"<sub( [^>]*)?>([\w\-]+)</sub>", r"_{\2}", html)
    html = re.sub(r"(?<=\w)((<[^>]*>)+)(?=\w)", r" \1", html)
    h = html2text.HTML2Text()
    h.ignore_links = True
    h.ignore_images = True
    h.body_width = 0
    h.ignore_tables = True
    h.unicode_snob = True
    h.ignore_emphasis = True
    return h.handle(html).strip()


def timeit(name: str, html: str, n: int) -> None:
    stage(html)
    t = time.perf_counter()
    for _ in range(n):
        stage(html)
    ms = (time.perf_counter() - t) / n * 1000
    print(f"{name:40s} {ms:9.3f} ms/op")


for name in ["news-article.html", "docs-page.html", "table-page.html", "japanese-page.html"]:
    timeit(name, (PAGES / name).read_text(encoding="utf-8"), 200)
big = synthetic()
timeit(f"synthetic page ({len(big) / 1e6:.2f} MB)", big, 3)
