"""The dashboard in Debian's headless Chromium, served by uvicorn, over real workers and sandbox.

Chromium must be ``/usr/bin/chromium`` (``apt-get install chromium``; Playwright downloads no
browser here). Without it the tests skip, and fail when ``CI`` is set.
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from argon2 import PasswordHasher
from celery import Celery
from playwright.sync_api import Browser, Page, expect, sync_playwright

from config.settings import Settings
from config.web import Operator, WebSettings
from store.command_store import CommandStore
from tests.integration import conftest as integration
from web import create_app
from worker.app import publisher

pytestmark = pytest.mark.integration
# the integration fixtures: sandbox, real worker processes, store and producer
sandbox_server, sandbox = integration.sandbox_server, integration.sandbox
ordercmd_env, settings, store = integration.ordercmd_env, integration.settings, integration.store
producer, start_worker, settled = (
    integration.producer,
    integration.start_worker,
    integration.settled,
)

CHROMIUM = "/usr/bin/chromium"  # Debian's; Playwright's own browser builds are never downloaded
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking"]  # fmt: skip
SCREENSHOTS = Path(__file__).parent / "screenshots"
FAST = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)  # tests only
PASSWORDS = {"olivia": "olivia-password", "victor": "victor-password"}


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Headless Debian Chromium, one per test session."""
    if not Path(CHROMIUM).is_file():
        reason = f"no Chromium at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI is set, so this fails instead of skipping", pytrace=False)
        pytest.skip(reason)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


def web_settings(settings: Settings) -> Settings:
    operators = {
        "olivia": Operator(role="operator", password_hash=FAST.hash(PASSWORDS["olivia"])),
        "victor": Operator(role="viewer", password_hash=FAST.hash(PASSWORDS["victor"])),
    }
    web = WebSettings(session_secret="e2e-" * 8, secure_cookies=False, operators=operators)
    return settings.model_copy(update={"web": web})


@pytest.fixture
def web_url(settings: Settings, store: CommandStore, redis_url: str) -> Iterator[str]:
    """The web app under uvicorn in a thread, on a loopback socket bound before it starts."""
    celery_app = Celery("ordercmd-e2e-web", broker=redis_url, set_as_current=False)
    app = create_app(web_settings(settings), store, publisher(celery_app))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    server.should_exit = True
    thread.join(10)
    sock.close()
    celery_app.close()


def shot(page: Page, name: str) -> None:
    """Save a full-page screenshot as ``tests/e2e/screenshots/<name>.png``."""
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def sign_in(page: Page, base: str, name: str = "olivia", *, screenshot: str | None = None) -> None:
    """Open the dashboard, be sent to sign in, and sign in as ``name``."""
    page.goto(base + "/")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", PASSWORDS[name])
    if screenshot:
        shot(page, screenshot)
    page.click("button[type=submit]")
    page.wait_for_selector(f"text=Signed in as {name}")
