import sqlalchemy as sa

from swe_common.db import schema_metadata
from swe_common.events import define_event_tables
from swe_common.migrations import run_env
from swe_common.settings import ServiceSettings

metadata = schema_metadata("migtest")
sa.Table("things", metadata, sa.Column("id", sa.Integer, primary_key=True))
define_event_tables(metadata)

run_env(metadata, ServiceSettings(db_schema="migtest"))
