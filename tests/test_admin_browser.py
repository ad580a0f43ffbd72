"""Every admin action from a real browser (headless Chromium driven by Playwright) against real
API and console servers on loopback. Screenshots of each page go to ``test-artifacts/``."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from conftest import free_port, running

from mediacore.testing import TEST_TOKEN

CHROMIUM = os.environ.get("MEDIACORE_TEST_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(
    os.environ.get("MEDIACORE_TEST_ARTIFACTS") or Path(__file__).parent.parent / "test-artifacts"
)
PASSWORD = "browser-pass"

if not os.path.exists(CHROMIUM):
    if os.environ.get("CI"):
        raise RuntimeError(f"Chromium not found at {CHROMIUM}: .ci/run installs Debian's chromium package")
    pytest.skip("browser tests need Chromium (apt-get install chromium)", allow_module_level=True)

sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture
def console_url(api_server, media_library, tmp_path):
    port = free_port()
    env = {
        **os.environ,
        "FLASK_API_BASE_URL": api_server,
        "MEDIACORE_ADMIN_PASSWORD": PASSWORD,
        "MEDIACORE_API_TOKEN": TEST_TOKEN,
    }
    with running(
        ["admin", "--port", str(port), "--workers", "1"],
        env,
        tmp_path / "admin.log",
        f"http://127.0.0.1:{port}/login",
    ):
        yield f"http://127.0.0.1:{port}"


@pytest.fixture
def page():
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        yield context.new_page()
        browser.close()


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"admin-{name}.png"), full_page=True)


def test_every_admin_action_from_the_browser(page, console_url, media_library, media_factory, tmp_path):
    media_library.add_video("Existing Film (1999).mp4")
    media_library.add_audio("Band/Album/01 Song.mp3", tags={"title": "A Song", "artist": "Band"})
    clip = media_factory.video(tmp_path / "upload" / "Browser Clip (2024).webm", seconds=3)

    # Log in (a wrong password first).
    page.goto(console_url + "/")
    assert page.url.startswith(console_url + "/login")
    page.fill("input[name=password]", "wrong")
    page.click("button[type=submit]")
    assert "Wrong password" in page.inner_text("[role=alert]")
    shot(page, "login")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector(".grid")
    assert page.locator(".grid .item").count() == 0

    # Maintenance: a dry run writes nothing, then a real scan.
    page.click("text=Maintenance")
    page.check("input[name=dry_run]")
    page.click("#scan-form button")
    page.wait_for_selector("text=Dry run finished")
    assert page.inner_text("#scan-result tr[data-category=movies] td.added") == "1"
    shot(page, "maintenance-dry-run")
    page.goto(console_url + "/")
    assert page.locator(".grid .item").count() == 0
    page.click("text=Maintenance")
    page.click("#scan-form button")
    page.wait_for_selector("text=Scan finished.")
    assert page.inner_text("#scan-result tr[data-category=music] td.added") == "1"
    shot(page, "maintenance-scan")
    page.check("input[name=refresh]")  # every file read again, none of them changed
    page.click("#scan-form button")
    page.wait_for_selector("text=Scan finished.")
    assert page.inner_text("#scan-result tr[data-category=music] td.updated") == "1"
    assert page.inner_text("#scan-result tr[data-category=music] td.unchanged") == "0"

    # Upload a real video through the page, with its progress bar.
    page.click("text=Upload")
    page.select_option("select[name=category]", "movies")
    page.set_input_files("#file-input", str(clip))
    page.wait_for_selector("#uploads li[data-status=done]")
    assert page.get_attribute("#uploads li progress", "value") == "100"
    assert "added: Browser Clip" in page.inner_text("#uploads li .result")
    shot(page, "upload")
    # ...and one by drag and drop that the category refuses.
    page.evaluate("""() => {
        const transfer = new DataTransfer();
        transfer.items.add(new File(["plain text"], "notes.txt", {type: "text/plain"}));
        document.getElementById("drop-zone").dispatchEvent(new DragEvent("drop", {dataTransfer: transfer}));
    }""")
    page.wait_for_selector("#uploads li[data-status=failed]")
    assert "accepts" in page.inner_text("#uploads li[data-status=failed] .result")

    # The grid shows it with its poster.
    page.goto(console_url + "/?sort=-created_at")
    card = page.locator(".grid .item", has_text="Browser Clip").first
    card.wait_for()
    poster = card.locator("img")
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=poster.element_handle())
    assert page.locator(".grid .item").count() == 3
    page.fill("input[name=q]", "song")
    page.click(".filters button")
    page.wait_for_selector(".count")
    assert page.inner_text(".count") == "1 item"
    shot(page, "library")

    # Play it and seek.
    page.goto(console_url + "/?sort=-created_at")
    page.locator(".grid .item", has_text="Browser Clip").first.click()
    video = page.wait_for_selector("video#player")
    page.evaluate("v => { v.muted = true; return v.play(); }", video)
    page.wait_for_function("v => v.currentTime > 0.2", arg=video)
    page.evaluate(
        "v => new Promise(done => { v.addEventListener('seeked', done, {once: true}); v.currentTime = 2; })",
        video,
    )
    assert abs(page.evaluate("v => v.currentTime", video) - 2) < 0.5
    assert page.evaluate("v => v.duration", video) == pytest.approx(3, abs=0.3)
    assert "width" in page.inner_text("table.metadata")
    shot(page, "item")
    with page.expect_navigation():  # only a refresh that worked reloads the page, with what it read
        page.click("#refresh-form button")
    assert "width" in page.inner_text("table.metadata")

    # Delete it, file included, after confirming.
    page.once("dialog", lambda dialog: dialog.accept())
    page.check("input[name=mode][value=file]")
    page.click("#delete-form button")
    page.wait_for_url(console_url + "/")
    assert page.locator(".grid .item", has_text="Browser Clip").count() == 0
    assert not (media_library.root("movies") / "Browser Clip (2024).webm").exists()
