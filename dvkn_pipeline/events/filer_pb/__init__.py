"""SeaweedFS's filer protocol (``filer.proto``), for the change feed's gRPC subscription.

``filer.proto`` is SeaweedFS's own (``weed/pb/filer.proto``, Apache-2.0), copied as
is; ``filer_pb2.py`` and ``filer_pb2.pyi`` are generated from it and not edited.
Proto3 keeps old and new fields compatible, so a newer copy only matters if the
subscription starts using a field this one lacks. To regenerate, from here::

    uvx --from grpcio-tools==1.85.1 python -m grpc_tools.protoc -I. \
        --python_out=. --pyi_out=. filer.proto

(the generated module checks at import that the installed protobuf runtime is at
least the version it was generated for: see the ``protobuf`` pin in pyproject.toml).
"""
