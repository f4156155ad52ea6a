from swe_common.migrations import run_env
from swe_projects.models import Base
from swe_projects.settings import Settings

run_env(Base.metadata, Settings.load())
