from swe_analytics.models import Base
from swe_analytics.settings import Settings
from swe_common.migrations import run_env

run_env(Base.metadata, Settings.load())
