"""The browser tests' stack, browser and pages.

The stack is this package's own: access tokens live 60 s (auth's minimum), so a journey can
wait for one to expire and see the console refresh it; the other journeys keep the default
(their long agent runs use one token). It starts when the first browser test needs it and
stops when the last one is done. Every page records console errors, uncaught exceptions and
CSP violations; a test fails on any it did not expect (``page_problems.allow(...)``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from browser_support import (
    CHROMIUM,
    INSTALL_HINT,
    RECORD_CSP,
    PageProblems,
    csp_violations,
    watched_context,
)
from conftest import isolated_stack, load_ready_env
from e2e_support import Stack
from fake_internet import FakeInternet
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

ACCESS_TOKEN_TTL_SECONDS = 60
NewPage = Callable[[], Awaitable[Page]]


@pytest.fixture(scope="package")
def stack(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    fake_internet: FakeInternet,
) -> Iterator[Stack]:
    extra = {**load_ready_env(tmp_path_factory.mktemp("browser-routes")), **fake_internet.env()}
    extra["AUTH_ACCESS_TOKEN_TTL_SECONDS"] = str(ACCESS_TOKEN_TTL_SECONDS)
    with isolated_stack(request, extra_env=extra) as started:
        yield started


@pytest.fixture(scope="package")
async def browser() -> AsyncIterator[Browser]:
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"Chromium is not installed at {CHROMIUM}: {INSTALL_HINT}", pytrace=False)
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield launched
        await launched.close()


@pytest.fixture
async def context(browser: Browser, stack: Stack) -> AsyncIterator[BrowserContext]:
    made = await browser.new_context(
        base_url=stack.base_url, viewport={"width": 1280, "height": 800}, locale="en-US"
    )
    made.set_default_timeout(15_000)
    await made.add_init_script(RECORD_CSP)
    yield made
    await made.close()


@pytest.fixture
def page_problems() -> PageProblems:
    return PageProblems()


@pytest.fixture
async def page(context: BrowserContext, page_problems: PageProblems) -> AsyncIterator[Page]:
    opened = await context.new_page()
    page_problems.watch(opened)
    context.on("page", page_problems.watch)  # pages the test opens itself
    yield opened
    violations = [] if opened.is_closed() else await csp_violations(opened)
    problems = page_problems.unexpected(violations)
    assert not problems, "the page reported errors:\n" + "\n".join(problems)


# -- more people: browser sessions of their own (accounts: the e2e suite's make_user) --------


@pytest.fixture
async def new_context(
    browser: Browser, stack: Stack, page_problems: PageProblems
) -> AsyncIterator[Callable[[], Awaitable[BrowserContext]]]:
    """More people (or more tabs' worth of cookie jars): each context its own browser session,
    watched for page errors like the harness's own page."""
    made: list[BrowserContext] = []

    async def make() -> BrowserContext:
        context = await watched_context(browser, stack.base_url, page_problems)
        made.append(context)
        return context

    yield make
    for context in made:
        await context.close()


@pytest.fixture
def new_page(new_context: Callable[[], Awaitable[BrowserContext]]) -> NewPage:
    async def make() -> Page:
        return await (await new_context()).new_page()

    return make
