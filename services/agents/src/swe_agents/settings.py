from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from swe_agents.sandbox import Limits
from swe_common.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="AGENTS_", extra="ignore", frozen=True)

    service_name: str = "agents"
    port: int = 8003
    db_schema: str = "agents"

    # Queues: the consumer of other services' events, and the runs work queue.
    # The projects service, asked synchronously only when the read model lacks a project.
    projects_url: str = "http://127.0.0.1:8002"
    projects_timeout_seconds: float = Field(default=2.0, gt=0, le=30)
    events_queue: str = "agents.events"
    work_queue: str = "agents.runs"
    # Redis pub/sub channels for live logs, status changes and cancellation.
    redis_prefix: str = "swe:agents"
    # How often an open WebSocket re-checks that its token, session and user still stand.
    ws_revocation_check_seconds: float = Field(default=2.0, gt=0, le=60)

    # Repositories: hosts a run may clone from; file:// only for development and tests.
    allowed_repository_hosts: list[str] = Field(default_factory=lambda: ["github.com"])
    allow_file_repositories: bool = False
    checkout_cache_dir: str = "/tmp/swe-agents-cache"  # noqa: S108 - a cache, per machine
    # Private working directories of runs, one folder per worker process (by pid), so a
    # restarted worker can remove what a killed one left behind.
    work_dir: str = "/tmp/swe-agents-work"  # noqa: S108
    git_timeout_seconds: float = Field(default=120.0, gt=0)
    tool_timeout_seconds: float = Field(default=300.0, gt=0)
    # Analysis tools read repository content: "auto" runs them in a bubblewrap sandbox (uid
    # 65534, no network, read-only system and checkout) when the worker runs as root, and
    # refuses to run them unconfined as root in production; "bwrap" always sandboxes; "none"
    # never (the images' worker already runs as uid 10001).
    tool_sandbox: Literal["auto", "bwrap", "none"] = "auto"
    # Repository code (tests, dependency installs) runs only in the bubblewrap sandbox
    # (swe_agents.sandbox), with these limits per command; there is no unconfined mode.
    sandbox_wall_seconds: float = Field(default=300.0, gt=0, le=3600)
    sandbox_cpu_seconds: int = Field(default=300, ge=1, le=3600)
    sandbox_memory_mb: int = Field(default=2048, ge=64)
    sandbox_processes: int = Field(default=256, ge=8, le=4096)
    sandbox_open_files: int = Field(default=512, ge=32, le=65536)
    sandbox_file_mb: int = Field(default=256, ge=1)
    sandbox_output_kb: int = Field(default=8192, ge=64)
    sandbox_disk_mb: int = Field(default=1024, ge=16)
    sandbox_tmp_mb: int = Field(default=256, ge=16)
    # The venv repository code runs with (pytest and pip in it): /opt/test-runtime in the
    # worker image. None: the worker's own interpreter (development: the venv has pytest).
    test_runtime: str | None = None
    # The dependency install step (a repository's requirements.txt, wheels only, in the
    # sandbox). Off by default: then only the wheels of this folder (the worker's cache). With
    # an index URL, the sandbox reaches that index's host (and the hosts listed, e.g.
    # files.pythonhosted.org for PyPI) through the worker's egress proxy, and nothing else.
    install_index_url: str | None = Field(default=None, pattern=r"^https?://[^\s]+$")
    install_allowed_hosts: list[str] = Field(default_factory=list)
    install_wheel_dir: str | None = None

    # Runs and the worker.
    run_timeout_seconds: float = Field(default=900.0, gt=0)
    max_run_timeout_seconds: float = Field(default=3600.0, gt=0)
    worker_concurrency: int = Field(default=2, ge=1, le=64)
    lease_seconds: float = Field(default=30.0, gt=0)
    heartbeat_seconds: float = Field(default=5.0, gt=0)
    reaper_interval_seconds: float = Field(default=10.0, gt=0)
    max_run_attempts: int = Field(default=2, ge=1, le=10)
    # Touched while the worker can reach its database and queue (deploy/docker/healthcheck.py
    # reads SWE_HEALTHCHECK_HEARTBEAT_FILE, which this setting also picks up).
    healthcheck_heartbeat_file: str | None = None
    # The worker's /metrics (runs, steps, its database and queue) on a listener of its own;
    # 0 serves none. Loopback unless the deployment says otherwise (compose, k8s: 0.0.0.0).
    worker_metrics_host: str = "127.0.0.1"
    worker_metrics_port: int = Field(default=0, ge=0, le=65535)
    max_active_runs_per_project: int = Field(default=5, ge=1, le=1000)
    # How long run status changes stay replayable to a reconnecting notification stream.
    notification_retention_hours: float = Field(default=168, gt=0, le=24 * 365)

    # Model provider (OpenAI-compatible chat completions) for issue_resolver.
    llm_base_url: str | None = None
    llm_model: str = "gpt-4o-mini"
    llm_api_key: SecretStr | None = None
    llm_timeout_seconds: float = Field(default=120.0, gt=0)

    def test_runtime_path(self) -> Path | None:
        return Path(self.test_runtime) if self.test_runtime else None

    def sandbox_limits(self) -> Limits:
        mib = 1024 * 1024
        return Limits(
            wall_seconds=self.sandbox_wall_seconds,
            cpu_seconds=self.sandbox_cpu_seconds,
            memory_bytes=self.sandbox_memory_mb * mib,
            processes=self.sandbox_processes,
            open_files=self.sandbox_open_files,
            file_bytes=self.sandbox_file_mb * mib,
            output_bytes=self.sandbox_output_kb * 1024,
            disk_bytes=self.sandbox_disk_mb * mib,
            tmp_bytes=self.sandbox_tmp_mb * mib,
        )
