"""Generate the AsyncAPI 3.0 contract of the domain events (``docs/asyncapi.yaml``) from every
service's ``EventCatalog``: the exchange, one channel per routing key, the CloudEvents envelope
and AMQP headers, and each payload's JSON Schema per schema version.

``make events-doc`` rewrites it with ``docs/events.md``; a test fails when it is stale and
validates it with the AsyncAPI project's own parser (``@asyncapi/parser``).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from swe_common.events.catalog import EventCatalog, EventSpec
from swe_common.events.docs import collect_catalogs
from swe_common.events.envelope import CLOUDEVENTS_CONTENT_TYPE

EXCHANGE = "swe.events"
AMQP_BINDING_VERSION = "0.3.0"
SCHEMAS = "#/components/schemas/"

DESCRIPTION = """\
The domain events of the SWE platform. Every service writes its events to an outbox in the
transaction of the change they describe; a relay publishes them, with publisher confirms, to
the durable **topic exchange `swe.events`**, with the event's type
(`<service>.<entity>.<past-tense verb>`) as the **routing key**. Bind your own queue with a
routing key or pattern (`issues.#`, `*.run.*`) to receive them.

**Queues.** Name a consumer's queue `<consumer>.<purpose>` (for example `billing.runs`): one
durable quorum queue per consumer, shared by its replicas (competing consumers). The platform's
own consumers add `<queue>.retry.<delay>ms` queues for backoff and dead-letter to
`<queue>.dlq`; do the same or reject to your own dead-letter exchange.

**Envelope.** Each message body is a CloudEvents 1.0 event in structured JSON mode
(`content-type: application/cloudevents+json`): `id`, `source`, `type`, `specversion`, `time`,
`subject` (the aggregate's id), `data` (the payload below) and the extensions `schemaversion`
(the payload's integer version), `correlationid`, `traceparent` (W3C trace context) and
`partitionkey` (events with one key are published in order). The AMQP `message_id` is the
event id, the AMQP `type` the event type, and the headers repeat `ce-id`, `ce-type`,
`ce-source`, `traceparent` and `correlation_id`.

**Delivery** is at least once: the same event (same `id`) may arrive twice; record the ids you
handled. **Versions**: a payload may gain fields within a schema version, never lose or retype
one; a breaking change is a new `schemaversion`, published under the same type.
"""


def _title(event_type: str) -> str:
    return "".join(part.capitalize() for part in event_type.replace("_", ".").split("."))


def _message_id(spec: EventSpec) -> str:
    return f"{spec.type}.v{spec.version}"


def _payload_schema(catalog: EventCatalog, spec: EventSpec, schemas: dict[str, Any]) -> str:
    """The payload's JSON Schema as a component (nested models lifted beside it, named
    ``<service>.<Model>``); returns the component's name."""
    name = f"{spec.type}.v{spec.version}.data"
    template = SCHEMAS + catalog.service + ".{model}"
    schema = spec.payload.model_json_schema(ref_template=template)
    for model, definition in schema.pop("$defs", {}).items():
        schemas[f"{catalog.service}.{model}"] = definition
    schemas[name] = schema
    return name


def _envelope(data_schema: str, spec: EventSpec) -> dict[str, Any]:
    return {
        "allOf": [
            {"$ref": SCHEMAS + "CloudEvent"},
            {
                "type": "object",
                "properties": {
                    "type": {"const": spec.type},
                    "schemaversion": {"const": spec.version},
                    "data": {"$ref": SCHEMAS + data_schema},
                },
            },
        ]
    }


CLOUD_EVENT = {
    "type": "object",
    "description": "A CloudEvents 1.0 event (structured JSON mode) with the platform extensions",
    "required": ["id", "source", "type", "specversion", "time", "data", "schemaversion"],
    "properties": {
        "id": {"type": "string", "description": "Unique per event; the idempotency key"},
        "source": {"type": "string", "description": "The publishing service, e.g. /swe/issues"},
        "type": {
            "type": "string",
            "pattern": r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$",
        },
        "specversion": {"const": "1.0"},
        "time": {"type": "string", "format": "date-time"},
        "subject": {"type": "string", "description": "The id of the aggregate the event is about"},
        "datacontenttype": {"const": "application/json"},
        "data": {"type": "object"},
        "schemaversion": {"type": "integer", "minimum": 1},
        "correlationid": {"type": "string", "description": "The request that caused the event"},
        "traceparent": {"type": "string", "description": "W3C trace context of that request"},
        "partitionkey": {"type": "string", "description": "Events with one key keep their order"},
    },
}

AMQP_HEADERS = {
    "type": "object",
    "description": "The AMQP message's headers (its properties also carry the event id as "
    "message_id and the type as type)",
    "properties": {
        "ce-id": {"type": "string"},
        "ce-type": {"type": "string"},
        "ce-source": {"type": "string"},
        "traceparent": {"type": "string"},
        "correlation_id": {"type": "string"},
    },
    "required": ["ce-id", "ce-type", "ce-source"],
}


def document(catalogs: list[EventCatalog], version: str = "1.0.0") -> dict[str, Any]:
    schemas: dict[str, Any] = {
        "CloudEvent": copy.deepcopy(CLOUD_EVENT),
        "AmqpHeaders": AMQP_HEADERS,
    }
    messages: dict[str, Any] = {}
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    exchange = {
        "name": EXCHANGE,
        "type": "topic",
        "durable": True,
        "autoDelete": False,
        "vhost": "/",
    }
    for catalog in catalogs:
        for spec in sorted(catalog.specs.values(), key=lambda s: (s.type, s.version)):
            data = _payload_schema(catalog, spec, schemas)
            message_id = _message_id(spec)
            messages[message_id] = {
                "name": spec.type,
                "title": f"{spec.type} (schema version {spec.version})",
                "summary": spec.description,
                "contentType": CLOUDEVENTS_CONTENT_TYPE,
                "headers": {"$ref": SCHEMAS + "AmqpHeaders"},
                "payload": _envelope(data, spec),
                "bindings": {
                    "amqp": {
                        "contentEncoding": "utf-8",
                        "messageType": spec.type,
                        "bindingVersion": AMQP_BINDING_VERSION,
                    }
                },
            }
            channel = channels.setdefault(
                spec.type,
                {
                    "address": spec.type,
                    "title": spec.type,
                    "description": f"Routing key `{spec.type}` on the `{EXCHANGE}` exchange.",
                    "messages": {},
                    "bindings": {
                        "amqp": {
                            "is": "routingKey",
                            "exchange": exchange,
                            "bindingVersion": AMQP_BINDING_VERSION,
                        }
                    },
                },
            )
            channel["messages"][message_id] = {"$ref": f"#/components/messages/{message_id}"}
            operations[f"publish.{spec.type}"] = {
                "action": "send",
                "title": f"{catalog.service} publishes {spec.type}",
                "summary": spec.description,
                "channel": {"$ref": f"#/channels/{spec.type}"},
                "messages": [{"$ref": f"#/channels/{spec.type}/messages/{message_id}"}],
                "bindings": {"amqp": {"deliveryMode": 2, "bindingVersion": AMQP_BINDING_VERSION}},
            }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "SWE platform domain events",
            "version": version,
            "description": DESCRIPTION,
        },
        "defaultContentType": CLOUDEVENTS_CONTENT_TYPE,
        "servers": {
            "local": {
                "host": "127.0.0.1:5672",
                "protocol": "amqp",
                "protocolVersion": "0.9.1",
                "description": "RabbitMQ of `make up` (guest/guest); production: your broker, "
                "with TLS (amqps, 5671)",
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {"schemas": schemas, "messages": messages},
    }


def render(root: Path) -> str:
    import yaml  # the generator's only; services never import this module

    text: str = yaml.safe_dump(
        document(collect_catalogs(root)), sort_keys=False, allow_unicode=True, width=100
    )
    return "# Generated by `make events-doc` from each service's events.py; do not edit.\n" + text


def main() -> None:
    from swe_common.stack import repo_root

    print(render(repo_root()), end="")


if __name__ == "__main__":
    main()
