"""The Jupyter Book: built once per session with warnings as errors into a temporary folder,
then checked as HTML and in a real headless Chromium (Debian's ``/usr/bin/chromium``).

Every check is driven by ``waveunet_lit.course.SYLLABUS`` and the notebooks present, so a
notebook merged later is checked without editing this file.
"""

import functools
import importlib.util
import json
import subprocess
import sys
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

REPO = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("book_build", REPO / "book" / "build.py")
book = importlib.util.module_from_spec(spec)
spec.loader.exec_module(book)

from waveunet_lit import course  # noqa: E402

bs4 = pytest.importorskip("bs4")
CHROMIUM = Path("/usr/bin/chromium")


_GIT_STATUS: dict[str, str] = {}


def _git_status() -> str:
    """Tracked and untracked (not ignored) files that differ from the last commit."""
    return subprocess.run(["git", "status", "--porcelain"], cwd=REPO, capture_output=True, text=True).stdout


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The built HTML folder (``jupyter-book build -W``), outside the repository."""
    _GIT_STATUS["before"] = _git_status()
    html = book.build(tmp_path_factory.mktemp("book"), strict=True)
    _GIT_STATUS["after"] = _git_status()
    print(f"book built into {html}")
    return html


@functools.lru_cache(maxsize=None)
def _soup(path: Path):
    return bs4.BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


def _pages(site: Path) -> list[Path]:
    return sorted(p for p in site.rglob("*.html") if "_static" not in p.parts and "_sources" not in p.parts)


def _main(page: Path):
    """The article of a page (the theme's navigation is the same on every page)."""
    soup = _soup(page)
    return soup.find("main") or soup


def broken_links(site: Path, page: Path, html: str | None = None) -> list[str]:
    """Internal links, images and media of ``page`` whose file (or ``#id``) does not exist."""
    soup = bs4.BeautifulSoup(html, "html.parser") if html is not None else _soup(page)
    broken = []
    for tag, attr in (("a", "href"), ("img", "src"), ("audio", "src"), ("source", "src"), ("script", "src"), ("link", "href")):
        for element in soup.find_all(tag):
            url = element.get(attr)
            if not url or url.startswith(("data:", "mailto:", "javascript:")):
                continue
            parts = urlsplit(url)
            if parts.scheme or parts.netloc:
                continue  # external: not ours to check offline
            target = (page.parent / unquote(parts.path)).resolve() if parts.path else page
            if target.is_dir():
                target = target / "index.html"
            if not target.is_file() or site.resolve() not in target.parents:
                broken.append(f"{page.relative_to(site)}: {url}")
            elif parts.fragment and target.suffix == ".html" and tag == "a":
                if _soup(target).find(id=unquote(parts.fragment)) is None:
                    broken.append(f"{page.relative_to(site)}: {url} (no such id)")
    return broken


def _audio_outputs(notebook: Path) -> int:
    """How many outputs of a notebook are IPython Audio players."""
    cells = json.loads(notebook.read_text())["cells"]
    return sum(
        "<audio" in "".join(out.get("data", {}).get("text/html", ""))
        for cell in cells if cell["cell_type"] == "code" for out in cell.get("outputs", [])
    )


# -------------------------------------------------------------------------------------------
# HTML


def test_every_notebook_and_course_page_is_there(site):
    for row in book.notebooks():
        assert (site / "notebooks" / f"{row.notebook}.html").is_file(), row.notebook
    assert (site / "course" / "README.html").is_file() and (site / "course" / "instructor_guide.html").is_file()
    for week in course.WEEKS:
        folder = REPO / "course" / f"week{week:02d}"
        for page in folder.glob("*.md"):
            assert (site / "course" / folder.name / f"{page.stem}.html").is_file(), page
    for page in ("index", "glossary", "cli", "listening", "api/index", "search", "genindex"):
        assert (site / f"{page}.html").is_file(), page


def test_lessons_link_the_notebooks_that_exist_and_name_the_others(site):
    for row in course.SYLLABUS:
        if row.notebook is None:
            continue
        text = str(_main(site / "course" / f"week{row.week:02d}" / "lesson.html"))
        if (REPO / "notebooks" / f"{row.notebook}.ipynb").is_file():
            assert f'href="../../notebooks/{row.notebook}.html"' in text, row
        else:
            assert "not written yet" in text, row


def test_audio_players_match_the_notebooks_audio_outputs(site):
    for row in book.notebooks():
        want = _audio_outputs(REPO / "notebooks" / f"{row.notebook}.ipynb")
        got = len(_main(site / "notebooks" / f"{row.notebook}.html").find_all("audio"))
        assert got == want, f"{row.notebook}: {got} <audio> on the page, {want} Audio outputs in the notebook"


def test_listening_page_has_a_labelled_player_per_family_and_source(site):
    meta = json.loads((REPO / "book" / "listening" / "examples.json").read_text())
    page = _main(site / "listening.html")
    assert len(page.find_all("audio")) == len(meta["rows"]) * len(meta["sources"])
    text = page.get_text(" ")
    for row in meta["rows"]:
        assert row["label"].split(" (")[0] in text
        for value in row["sdr"].values():
            assert f"SDR {value:.1f} dB" in text


def test_no_tracebacks_stderr_or_machine_paths_in_any_page(site):
    for page in _pages(site):
        main = _main(page)
        text = main.get_text(" ")
        if "api" not in page.relative_to(site).parts:  # docstring examples show raised errors on purpose
            assert "Traceback (most recent call last)" not in text, page
        assert not main.select(".stderr, .output.stderr"), f"{page}: a stderr block is published"
        for path in ("/work/", "/root/", "/home/", "/tmp/"):
            assert path not in text, f"{page}: shows a machine path {path}"


def test_no_broken_internal_links(site):
    broken = [b for page in _pages(site) for b in broken_links(site, page)]
    assert not broken, "\n".join(broken)


def test_a_broken_internal_link_is_caught(site):
    page = site / "course" / "week01" / "lesson.html"
    tampered = page.read_text().replace("</main>", '<a href="../week99/lesson.html">broken</a></main>')
    assert broken_links(site, page, tampered) == ["course/week01/lesson.html: ../week99/lesson.html"]
    tampered = page.read_text().replace("</main>", '<a href="../../glossary.html#term-Q">broken</a></main>')
    assert broken_links(site, page, tampered) == ["course/week01/lesson.html: ../../glossary.html#term-Q (no such id)"]


def test_every_api_page_documents_its_public_names(site):
    assert len(book.api_modules()) > 20
    for name in book.api_modules():
        page = _soup(site / "api" / f"{name}.html")
        if book._is_package(name):  # its own names documented here, re-exports linked to their entry
            hrefs = [a.get("href", "") for a in _main(site / "api" / f"{name}.html").find_all("a")]
            missing = [n for n in book.public_names(name) if page.find(id=f"{name}.{n}") is None
                       and not any(h.split("#")[-1].endswith(f".{n}") for h in hrefs)]
        else:  # defined here: an entry on this page; re-exported from a sibling: an entry on its page
            missing = [n for n in book.public_names(name) if page.find(id=f"{name}.{n}") is None
                       and not any(i.endswith(f".{n}") and i.startswith(name.rpartition(".")[0]) for i in _api_ids(site))]
        assert not missing, f"api/{name}.html lacks {missing}"


@functools.lru_cache(maxsize=None)
def _api_ids(site: Path) -> frozenset:
    return frozenset(tag["id"] for page in (site / "api").glob("*.html") for tag in _soup(page).find_all(id=True))


def test_cli_page_is_the_programs_help(site):
    text = _main(site / "cli.html").get_text(" ")
    for command in book.CLI_COMMANDS:
        assert f"waveunet {command}" in text
    assert "--checkpoint CHECKPOINT" in text and "--oracle {irm}" in text and "python -m waveunet_lit.course check" in text


def test_glossary_defines_the_symbols(site):
    glossary = _soup(site / "glossary.html")
    for term in ("B", "S", "C", "T", "F", "N", "D", "SDR", "SIR", "SAR", "ISR"):
        assert glossary.find(id=f"term-{term}") is not None, term


def test_notebook_pages_have_a_colab_button(site):
    for row in book.notebooks():
        links = [a.get("href", "") for a in _soup(site / "notebooks" / f"{row.notebook}.html").find_all("a")]
        want = f"https://colab.research.google.com/github/waveunet-lit/waveunet-lit/blob/main/notebooks/{row.notebook}.ipynb"
        assert want in links, row.notebook


def test_the_build_writes_nothing_into_the_repository(site):
    assert REPO.resolve() not in site.resolve().parents
    assert _GIT_STATUS["before"] == _GIT_STATUS["after"], "the book build changed files of the repository"


# -------------------------------------------------------------------------------------------
# a real browser


@pytest.fixture(scope="module")
def server(site):
    handler = functools.partial(_QuietHandler, directory=str(site))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def browser_page(server):
    if not CHROMIUM.is_file():
        pytest.fail("Debian's chromium is not installed (apt-get install chromium; `make system-deps` does it)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--autoplay-policy=no-user-gesture-required"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        errors = []
        page.on("pageerror", lambda err: errors.append(str(err)))
        page.errors = errors
        yield page
        browser.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("book-screenshots")
    print(f"screenshots in {folder}", file=sys.stderr)
    return folder


def _open(page, url: str) -> None:
    page.errors.clear()
    response = page.goto(url, wait_until="load")
    assert response is not None and response.ok, url


def test_browser_start_page_renders(browser_page, server, shots):
    _open(browser_page, f"{server}/index.html")  # redirects to the root page
    browser_page.wait_for_url("**/intro.html")
    assert "waveunet-lit" in browser_page.title()
    nav = browser_page.locator("nav.bd-links")
    for caption in ("Course", "Notebooks", "Reference"):
        assert nav.get_by_text(caption, exact=True).count() >= 1, caption
    browser_page.screenshot(path=shots / "start.png", full_page=True)
    assert not browser_page.errors, browser_page.errors


def test_browser_notebook_page_renders_its_outputs(browser_page, server, shots):
    row = book.notebooks()[0]
    _open(browser_page, f"{server}/notebooks/{row.notebook}.html")
    assert browser_page.locator("main article h1").first.is_visible()
    images = browser_page.locator("main .cell_output img")
    assert images.count() >= 1
    assert images.first.evaluate("img => img.complete && img.naturalWidth > 0")  # the stored figure decodes
    browser_page.screenshot(path=shots / "notebook.png", full_page=True)
    assert not browser_page.errors, browser_page.errors


def test_browser_api_index_renders(browser_page, server, shots):
    _open(browser_page, f"{server}/api/index.html")
    links = browser_page.locator("main a.reference.internal")
    assert links.count() >= len(book.api_modules())
    browser_page.screenshot(path=shots / "api.png", full_page=True)
    assert not browser_page.errors, browser_page.errors


def test_browser_audio_plays(browser_page, server, shots):
    with_audio = [r.notebook for r in book.notebooks() if _audio_outputs(REPO / "notebooks" / f"{r.notebook}.ipynb")]
    url = f"notebooks/{with_audio[0]}.html" if with_audio else "listening.html"
    _open(browser_page, f"{server}/{url}")
    audio = browser_page.locator("main audio").first
    audio.evaluate("a => a.play()")
    browser_page.wait_for_function("a => a.currentTime > 0.2 && !a.paused", arg=audio.element_handle(), timeout=15_000)
    browser_page.screenshot(path=shots / "audio.png")


def test_browser_search_finds_valid_length(browser_page, server, shots):
    _open(browser_page, f"{server}/search.html")
    box = browser_page.locator("main input[name='q']").first
    box.fill("valid_length")
    box.press("Enter")
    results = browser_page.locator("#search-results ul.search li")
    results.first.wait_for(timeout=30_000)
    assert "valid_length" in results.first.inner_text() or "valid_length" in browser_page.locator("#search-results").inner_text()
    browser_page.screenshot(path=shots / "search.png", full_page=True)


def test_links_to_notebooks_not_written_yet_are_marked_not_broken(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "out").mkdir()
    (tmp_path / "src" / "01_here.ipynb").write_text("{}")
    nb = {"cells": [{"cell_type": "markdown", "metadata": {}, "source": ["Next: [here](01_here.ipynb), [later](99_later.ipynb)"]}],
          "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    (tmp_path / "src" / "02_this.ipynb").write_text(json.dumps(nb))
    book.stage_notebook(tmp_path / "src" / "02_this.ipynb", tmp_path / "out")
    staged = json.loads((tmp_path / "out" / "02_this.ipynb").read_text())["cells"][0]["source"]
    assert staged == "Next: [here](01_here.ipynb), later (`99_later`, not written yet)"
