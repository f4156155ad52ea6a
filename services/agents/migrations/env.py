from swe_agents.models import Base
from swe_agents.settings import Settings
from swe_common.migrations import run_env

run_env(Base.metadata, Settings.load())
