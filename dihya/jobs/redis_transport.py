"""kombu's Redis transport, with one fix: a worker survives losing Redis while a job runs (issue 16).

When the broker connection drops, Celery closes the old channel, whose QoS then restores the
tasks it holds unacknowledged (our tasks are acknowledged late, so the running job's is one of
them); when that job ends, its task is acknowledged on the same old channel. kombu 5.7 does both
after the connection has been collected, reads the connection's parameters from ``None``, and the
``AttributeError`` stops the worker ("Unrecoverable error"). With no connection there is nothing
to restore or acknowledge through: the task stays in Redis' unacknowledged set, and the visibility
timeout hands it to a worker again, where the job's claim makes that delivery a no-op.
Used for ``redis://`` brokers (``make_celery``); ``rediss://`` keeps kombu's own transport, whose
TLS settings come from the URL scheme.
"""

from __future__ import annotations

import logging

from kombu.transport import redis as kombu_redis

log = logging.getLogger("dihya.jobs.celery")
NAME = "dihya.jobs.redis_transport:Transport"


class QoS(kombu_redis.QoS):
    def _gone(self) -> bool:
        connection = self.channel.connection
        return connection is None or connection.client is None

    def restore_unacked(self, client: object = None) -> None:
        if client is None and self._gone():
            log.warning("broker connection lost with unacknowledged tasks; the visibility timeout will "
                        "deliver them again", extra={"tasks": len(self._delivered)})
            self._delivered.clear()
            return
        super().restore_unacked(client)  # type: ignore[no-untyped-call]

    def ack(self, delivery_tag: object) -> None:
        if self._gone():
            log.info("task ended after its broker connection was lost; its redelivery finds the job claimed")
            self._delivered.pop(delivery_tag, None)
            return
        super().ack(delivery_tag)  # type: ignore[no-untyped-call]

    def reject(self, delivery_tag: object, requeue: bool = False) -> None:
        if self._gone():
            self._delivered.pop(delivery_tag, None)
            return
        super().reject(delivery_tag, requeue)  # type: ignore[no-untyped-call]


class Channel(kombu_redis.Channel):
    QoS = QoS


class Transport(kombu_redis.Transport):
    Channel = Channel
