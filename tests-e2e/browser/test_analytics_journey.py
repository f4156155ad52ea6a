"""The console's analytics pages in a real browser (Chromium), against the real stack.

An owner's issues are opened and resolved through the API; once the analytics service has the
events, the dashboard's figures and charts show the API's numbers; the range, bucket and time
zone live in the URL (a reload keeps them); a year of daily points draws; the CSV export holds
what the page shows; the project's own page shows its figures. A code_analyzer run on the
planted repository gives findings: the findings-by-severity chart, the agents list and the
agent's own page (runs, success rate, duration, score, export) show the API's numbers, and
the project and agent pages link to their analytics. axe-core checks each page,
the controls are reachable by keyboard, and the pages are saved to docs/screenshots/.
"""

from __future__ import annotations

import csv
import io
import re
import uuid
from typing import Any
from urllib.parse import parse_qs, urlparse

from browser_support import axe, screenshot, sign_in
from e2e_support import PlantedRepo, Stack, User, expect, wait_for_run
from playwright.async_api import Locator, Page
from playwright.async_api import expect as see

from swe_common.testing import eventually

from .test_issue_journeys import tab_to

TITLES = ["Login fails", "Slow search", "Typo on pricing", "Broken export", "Dark mode"]
RESOLVED = 3


async def seeded_project(user: User) -> dict[str, Any]:
    """A project with five issues, three of them resolved (open → in progress → resolved)."""
    project = expect(
        await user.http.post(
            "/api/v1/projects",
            json={
                "name": f"Metrics {uuid.uuid4().hex[:4]}",
                "repository_url": f"https://github.com/e2e/metrics-{uuid.uuid4().hex[:6]}",
            },
        ),
        201,
    )
    issues = [
        expect(
            await user.http.post(
                "/api/v1/issues", json={"project_id": project["id"], "title": title}
            ),
            201,
        )
        for title in TITLES
    ]
    for issue in issues[:RESOLVED]:
        path = f"/api/v1/issues/{issue['id']}"
        expect(await user.http.patch(path, json={"status": "in_progress"}), 200)
        expect(await user.http.post(f"{path}/resolve", json={"resolution": "Fixed."}), 200)
    return project


async def series_total(user: User, metric: str, **query: str) -> int:
    body = expect(await user.http.get(f"/api/v1/analytics/timeseries/{metric}", params=query), 200)
    return int(sum(p["value"] or 0 for p in body["points"]))


def figure(page: Page, label: str) -> Locator:
    return page.locator(f'[data-figure="{label}"]')


def chart_total(section: Locator, series: str) -> Locator:
    return section.locator(f'[data-series="{series}"]')


async def test_the_dashboard_shows_the_apis_numbers_keeps_its_range_and_exports_them(
    stack: Stack, page: Page, make_user: Any
) -> None:
    owner: User = await make_user("stats-owner")
    project = await seeded_project(owner)

    # The analytics service hears the issues service's events: wait until it has them all.
    async def counted() -> dict[str, Any] | None:
        body = expect(await owner.http.get("/api/v1/analytics/dashboard"), 200)
        done = body["issues"]["total"] == len(TITLES) and body["issues"]["resolved"] == RESOLVED
        return body if done else None

    dashboard = await eventually(counted, timeout=30, interval=0.5)

    await page.goto(f"{stack.base_url}/analytics")
    await sign_in(page, owner.username)
    await see(page.get_by_role("heading", level=1, name="Analytics")).to_be_visible()
    await see(figure(page, "Issues")).to_have_text(str(dashboard["issues"]["total"]))
    await see(figure(page, "Resolved issues")).to_have_text(str(dashboard["issues"]["resolved"]))
    await see(figure(page, "Open issues")).to_have_text(str(dashboard["issues"]["open"]))
    assert dashboard["issues"]["mean_time_to_resolve_seconds"] is not None
    await see(figure(page, "Mean time to resolve")).not_to_have_text("—")

    # The charts drew (an SVG line per series) and their totals are the time series API's.
    issues = page.get_by_role("region", name="Issues opened and resolved")
    await see(issues.locator("svg.recharts-surface path.recharts-curve")).to_have_count(2)
    tz = await page.evaluate("() => Intl.DateTimeFormat().resolvedOptions().timeZone")
    opened = await series_total(owner, "issues_opened", range="month", tz=tz)
    resolved = await series_total(owner, "issues_resolved", range="month", tz=tz)
    assert (opened, resolved) == (len(TITLES), RESOLVED)
    await see(chart_total(issues, "issues_opened")).to_have_text(str(opened))
    await see(chart_total(issues, "issues_resolved")).to_have_text(str(resolved))
    # The chart's text alternative says the same.
    await see(issues.get_by_role("img", name=re.compile("^Issues opened"))).to_have_attribute(
        "aria-label", re.compile(f"Opened {opened}, Resolved {resolved}")
    )
    runs = page.get_by_role("region", name="Agent runs by status")
    await see(runs.locator("svg.recharts-surface")).to_have_count(1)
    await axe(page)

    # Range, bucket and zone go into the URL and survive a reload.
    range_select = page.get_by_label("Range")
    await tab_to(page, range_select)
    await range_select.select_option("year")
    await page.get_by_label("Time zone").select_option("Asia/Tokyo")
    await see(page).to_have_url(re.compile(r"tz=Asia(%2F|/)Tokyo"))
    # A year of daily points (366 buckets) draws as one line per series, totals unchanged.
    await see(issues.get_by_role("img", name=re.compile("^Issues opened"))).to_have_attribute(
        "aria-label", re.compile(r"\b36[56] days\b")
    )
    await see(chart_total(issues, "issues_opened")).to_have_text(str(len(TITLES)))
    await page.get_by_text("Month", exact=True).click()
    await see(page).to_have_url(re.compile(r"bucket=month"))
    query = parse_qs(urlparse(page.url).query)
    assert query == {"range": ["year"], "bucket": ["month"], "tz": ["Asia/Tokyo"]}, query
    await page.reload()
    await see(page.get_by_label("Range")).to_have_value("year")
    await see(page.get_by_label("Time zone")).to_have_value("Asia/Tokyo")
    await see(page.get_by_role("radio", name="Month")).to_be_checked()
    month_total = await series_total(owner, "issues_opened", range="year", tz="Asia/Tokyo")
    await see(chart_total(issues, "issues_opened")).to_have_text(str(month_total))

    # The data table says the same as the chart.
    await issues.get_by_role("button", name="Show the data as a table").click()
    table = issues.get_by_role("table")
    body_rows = table.locator("tbody tr")
    shown_rows = await body_rows.count()
    assert shown_rows in (12, 13), shown_rows  # a year ending now spans 13 calendar months
    await axe(page)

    # The export is what is shown: the same buckets and numbers.
    export = page.get_by_role("button", name="Export CSV")
    await tab_to(page, export)
    async with page.expect_download() as info:
        await page.keyboard.press("Enter")
    download = await info.value
    assert download.suggested_filename == "analytics-year-month.csv"
    text = (await download.path()).read_text()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == shown_rows
    assert sum(int(float(r["issues_opened"])) for r in rows) == month_total
    assert sum(int(float(r["issues_resolved"])) for r in rows) == RESOLVED
    first_cells = await body_rows.first.locator("th, td").all_inner_texts()
    assert [rows[0]["bucket_start"], rows[0]["issues_opened"], rows[0]["issues_resolved"]] == (
        first_cells[:3]
    )
    await screenshot(page, "analytics")

    # The project's own page: its figures.
    await page.get_by_role("link", name=project["name"]).click()
    await see(
        page.get_by_role("heading", level=1, name=f"{project['name']} analytics")
    ).to_be_visible()
    figures = expect(await owner.http.get(f"/api/v1/analytics/projects/{project['id']}"), 200)
    await see(figure(page, "Issues")).to_have_text(str(figures["issues"]["total"]))
    await see(figure(page, "Resolved issues")).to_have_text(str(figures["issues"]["resolved"]))
    # The range chosen on the dashboard is not carried over: the project page starts plain.
    await see(issues.locator("svg.recharts-surface path.recharts-curve")).to_have_count(2)
    await axe(page)
    await screenshot(page, "analytics-project")


SEVERITIES = ("critical", "high", "medium", "low", "info")


async def analysed_project(user: User, repo: PlantedRepo) -> tuple[dict[str, Any], dict[str, Any]]:
    """A project on the planted repository and a code_analyzer agent with one finished run."""
    project = expect(
        await user.http.post(
            "/api/v1/projects",
            json={"name": f"Analysed {uuid.uuid4().hex[:4]}", "repository_url": repo.url},
        ),
        201,
    )
    agent = expect(
        await user.http.post(
            "/api/v1/agents",
            json={
                "project_id": project["id"],
                "name": f"Analyzer {uuid.uuid4().hex[:4]}",
                "type": "code_analyzer",
                "config": {"min_severity": "info"},
            },
        ),
        201,
    )
    run = expect(await user.http.post(f"/api/v1/agents/{agent['id']}/start", json={}), 202)
    finished = await wait_for_run(user, run["id"])
    assert finished["status"] == "completed", finished
    return project, agent


async def test_findings_and_an_agents_performance_match_the_api(
    stack: Stack, page: Page, make_user: Any, repo: PlantedRepo
) -> None:
    owner: User = await make_user("findings-owner")
    project, agent = await analysed_project(owner, repo)

    # Analytics hears the run's completion: its findings and the agent's series are in.
    async def heard() -> dict[str, Any] | None:
        body = expect(await owner.http.get(f"/api/v1/analytics/projects/{project['id']}"), 200)
        return body if body["findings"]["runs_reported"] == 1 else None

    figures = await eventually(heard, timeout=30, interval=0.5)
    assert figures["findings"]["total"] > 0, "the planted defects were found"

    await page.goto(f"{stack.base_url}/projects/{project['id']}/issues")
    await sign_in(page, owner.username)
    # The project's page links to its analytics.
    await page.get_by_role("main").get_by_role("link", name="Analytics", exact=True).click()
    await see(
        page.get_by_role("heading", level=1, name=f"{project['name']} analytics")
    ).to_be_visible()
    tz = await page.evaluate("() => Intl.DateTimeFormat().resolvedOptions().timeZone")
    series = expect(
        await owner.http.get(
            "/api/v1/analytics/timeseries/findings",
            params={"range": "month", "tz": tz, "project_id": project["id"]},
        ),
        200,
    )
    by_severity = {s: sum(p["by_severity"][s] for p in series["points"]) for s in SEVERITIES}
    assert by_severity == figures["findings"]["by_severity"], (by_severity, figures)
    findings = page.get_by_role("region", name="Findings by severity")
    await see(findings.locator("svg.recharts-surface")).to_have_count(1)
    for severity, count in by_severity.items():
        await see(chart_total(findings, f"findings_{severity}")).to_have_text(str(count))
    await see(figure(page, "Findings reported")).to_have_text(str(figures["findings"]["total"]))
    # The agents of the range, with the API's figures, linked to their own page.
    perf = expect(
        await owner.http.get(
            "/api/v1/analytics/agent-performance",
            params={"range": "month", "tz": tz, "project_id": project["id"]},
        ),
        200,
    )
    [listed] = perf["agents"]
    assert (listed["agent_id"], listed["runs"]) == (agent["id"], 1)
    row = page.locator(f'tr[data-agent="{agent["id"]}"]')
    await see(row).to_contain_text("code_analyzer")
    await see(row).to_contain_text("100%")
    await axe(page)
    await screenshot(page, "analytics-project-findings")

    # The agent's analytics page: its runs, rate, duration and score, as the API says.
    await row.get_by_role("link", name=agent["name"]).click()
    await see(
        page.get_by_role("heading", level=1, name=f"{agent['name']} analytics")
    ).to_be_visible()
    runs = page.get_by_role("region", name="Finished runs by status")
    await see(runs.locator("svg.recharts-surface")).to_have_count(1)
    await see(chart_total(runs, "completed")).to_have_text("1")
    await see(chart_total(runs, "failed")).to_have_text("0")
    point = next(p for p in listed["points"] if p["runs"])
    score = page.get_by_role("region", name="Mean quality score")
    await score.get_by_role("button", name="Show the data as a table").click()
    cells = score.get_by_role("table").locator("tbody tr td")
    # As JavaScript writes the number (80, not 80.0), to two decimals.
    shown = f"{round(point['mean_quality_score'], 2):g}"
    await see(cells.filter(has_text=re.compile(f"^{re.escape(shown)}$"))).to_have_count(1)
    await axe(page)

    # The export is what the page shows.
    async with page.expect_download() as info:
        await page.get_by_role("button", name="Export CSV").click()
    text = (await (await info.value).path()).read_text()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert sum(int(r["runs"]) for r in rows) == 1
    [scored] = [r for r in rows if r["mean_quality_score"]]
    assert float(scored["mean_quality_score"]) == round(point["mean_quality_score"], 2)
    assert float(scored["success_rate_percent"]) == 100
    await screenshot(page, "analytics-agent")

    # The agent's own page links here too.
    await page.get_by_role("link", name="The agent", exact=True).click()
    await see(page.get_by_role("heading", level=1, name=agent["name"])).to_be_visible()
    await page.get_by_role("main").get_by_role("link", name="Analytics", exact=True).click()
    await see(page).to_have_url(re.compile(f"/analytics/agents/{agent['id']}"))
