from swe_auth.models import Base
from swe_auth.settings import Settings
from swe_common.migrations import run_env

run_env(Base.metadata, Settings.load())
