"""SeaweedFS's change feed read in the sensor's own process: the filer's SubscribeMetadata.

The sensor first ran ``weed filer.meta.tail`` and parsed what it printed. That
tail is a second Go process of ~110 MiB resident (most of it the ``weed``
binary's pages) for one streaming call; this module makes the same call over
gRPC (~10 MiB for grpcio and protobuf) and hands on each event in the shape the
tail printed (protobuf's JSON mapping: camelCase names, bytes as base64), so
``seaweed_feed.upload_of`` reads both.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from typing import Any

import grpc
from google.protobuf.json_format import MessageToDict

from dvkn_pipeline.events.filer_pb import filer_pb2

SUBSCRIBE_METHOD = "/filer_pb.SeaweedFiler/SubscribeMetadata"


def feed_event(response: filer_pb2.SubscribeMetadataResponse) -> dict[str, Any]:
    """One feed event as the tail printed it; only its position for what cannot be an upload.

    Directories, deletions and updates (a version turning non-current, the
    ``.versions`` folder's latest-version pointer) are four in five events of a
    burst: converting them whole would cost the sensor CPU for nothing.
    """
    note = response.event_notification
    if not note.HasField("new_entry") or note.HasField("old_entry") or note.new_entry.is_directory:
        return {"tsNs": str(response.ts_ns)}
    event: dict[str, Any] = MessageToDict(response)
    return event


class MetadataSubscription:
    """A live subscription to the filer's metadata under one path, from a point in time.

    ``events()`` blocks for each next event and ends when the stream does (the
    filer stopped, or ``close()`` was called); an error of the stream is raised
    from it as ``grpc.RpcError``.
    """

    def __init__(
        self, address: str, path_prefix: str, since_ns: int, client_name: str = "dvkn-sensor"
    ) -> None:
        self._channel = grpc.insecure_channel(address)
        call = self._channel.unary_stream(
            SUBSCRIBE_METHOD,
            request_serializer=filer_pb2.SubscribeMetadataRequest.SerializeToString,
            response_deserializer=filer_pb2.SubscribeMetadataResponse.FromString,
        )
        request = filer_pb2.SubscribeMetadataRequest(
            client_name=client_name,
            path_prefix=path_prefix,
            since_ns=since_ns,
            # As weed's own clients do: a random id tells this subscriber from a
            # previous one of the same name that the filer has not yet dropped.
            client_id=random.randint(1, 2**31 - 1),
        )
        self._stream = call(request)
        self._closed = threading.Event()

    def events(self) -> Iterator[dict[str, Any]]:
        try:
            for response in self._stream:
                yield feed_event(response)
        except grpc.RpcError:
            if not self._closed.is_set():
                raise

    def close(self) -> None:
        self._closed.set()
        self._stream.cancel()
        self._channel.close()
