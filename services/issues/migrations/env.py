from swe_common.migrations import run_env
from swe_issues.models import Base
from swe_issues.settings import Settings

run_env(Base.metadata, Settings.load())
