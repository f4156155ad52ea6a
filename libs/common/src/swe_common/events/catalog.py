"""Event types a service publishes, with their payload models: the source of the event catalog.

A service declares its events once (usually in ``events.py``)::

    catalog = EventCatalog("projects")
    ProjectCreated = catalog.define(
        "projects.project.created", ProjectPayload, "A project was made"
    )

and publishes them with ``outbox.publish(session, ProjectCreated, payload, subject=...)``.
``docs/events.md`` is generated from every catalog (``make events-doc``) and a test keeps it
current.
"""

from __future__ import annotations

import builtins
import json
import re
from dataclasses import dataclass, field

from pydantic import BaseModel

from swe_common.events.envelope import EVENT_TYPE_PATTERN


@dataclass(frozen=True)
class EventSpec:
    type: str
    payload: builtins.type[BaseModel]
    description: str
    version: int = 1


@dataclass
class EventCatalog:
    service: str
    specs: dict[str, EventSpec] = field(default_factory=dict)

    def define(
        self, type_: str, payload: type[BaseModel], description: str, *, version: int = 1
    ) -> EventSpec:
        if not re.match(EVENT_TYPE_PATTERN, type_) or not type_.startswith(f"{self.service}."):
            raise ValueError(f"{type_!r} must be named {self.service}.<entity>.<past-tense verb>")
        if type_ in self.specs:
            raise ValueError(f"{type_!r} is defined twice")
        spec = EventSpec(type_, payload, description, version)
        self.specs[type_] = spec
        return spec

    def markdown(self) -> str:
        lines = [f"## {self.service}", ""]
        for spec in sorted(self.specs.values(), key=lambda s: s.type):
            schema = json.dumps(spec.payload.model_json_schema(), indent=2, sort_keys=True)
            lines += [
                f"### `{spec.type}` (schema version {spec.version})",
                "",
                spec.description,
                "",
                "```json",
                schema,
                "```",
                "",
            ]
        return "\n".join(lines)
