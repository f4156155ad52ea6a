"""Web server settings: ``WEB_<FIELD>``, then ``SWE_<FIELD>``, then the default."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from swe_common.settings import ServiceSettings

# services/web/dist beside this package's source tree (a workspace checkout); images set
# WEB_DIST_DIR to where they copied the build.
DEFAULT_DIST = Path(__file__).resolve().parents[3] / "dist"


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="WEB_", extra="ignore", frozen=True)

    service_name: str = "web"
    port: int = Field(default=8006, ge=1, le=65535)
    # The built console: index.html plus hashed files under assets/ (``npm run build``).
    dist_dir: Path = DEFAULT_DIST
    # How often the build's index.html is checked for a rebuild (``make up`` after an edit).
    reload_seconds: float = Field(default=1.0, gt=0)
    # Files at least this large get a gzip copy made at load time when the build wrote none.
    gzip_min_bytes: int = Field(default=1024, ge=0)
