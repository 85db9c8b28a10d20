"""The broker: Redis when MAILBAG_REDIS_URL is set, else dramatiq's in-process StubBroker.

dramatiq declares actors on one global broker, so it is installed once per process before
the actors module is imported: by the command line from its settings, or by the actors
module itself from the environment when a `dramatiq` worker process imports it.
"""

from __future__ import annotations

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker

from crm.settings import Settings

QUEUE = "mailbag"

_installed: dramatiq.Broker | None = None


def make_broker(settings: Settings) -> dramatiq.Broker:
    """Redis in production; without it the same actors run in this process.

    Every key is prefixed with MAILBAG_REDIS_NAMESPACE, so offices (or test runs) sharing
    one Redis never take each other's messages.
    """
    if settings.redis_url:
        return RedisBroker(url=settings.redis_url, namespace=settings.redis_namespace)
    broker = StubBroker()
    broker.emit_after("process_boot")
    return broker


def install(settings: Settings) -> dramatiq.Broker:
    """Make this process's broker the one actors are declared on (once)."""
    global _installed
    if _installed is None:
        _installed = make_broker(settings)
        dramatiq.set_broker(_installed)
    return _installed


def installed() -> dramatiq.Broker:
    """The broker installed already, or one from the environment (a worker process)."""
    return _installed if _installed is not None else install(Settings.from_env())


def in_process(broker: dramatiq.Broker) -> bool:
    """True when nothing outside this process will ever see the broker's messages."""
    return isinstance(broker, StubBroker)
