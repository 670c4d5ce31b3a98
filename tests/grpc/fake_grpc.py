# SPDX-License-Identifier: Apache-2.0
"""A scripted OTLP/gRPC profiles endpoint on loopback (Python grpcio, from
Debian's python3-grpcio): request i gets script[i] ("ok", "hang", a gRPC
status name, or ("RESOURCE_EXHAUSTED", retry_delay_s) for a status with a
google.rpc.RetryInfo); after the script, "ok". Records each request's
bytes (grpcio undoes grpc-encoding: gzip) and metadata. Used by
tests/grpc/test_otlp_grpc.py and tests/run/test_run.py."""
import os
import sys
import threading
from concurrent import futures


def require_grpcio():
    """grpc, or exit: 77 (skip) normally, 1 when CI=true."""
    try:
        import grpc  # noqa: F401
        return grpc
    except ImportError:
        msg = ("python3-grpcio is not installed (cmake/install-deps.sh "
               "installs it)")
        if os.environ.get("CI") == "true":
            print("FAIL: " + msg + " (CI=true: this test must run)",
                  file=sys.stderr)
            sys.exit(1)
        print("SKIP: " + msg, file=sys.stderr)
        sys.exit(77)


EXPORT = ("/opentelemetry.proto.collector.profiles.v1development."
          "ProfilesService/Export")


def _varint(n):
    out = bytearray()
    while True:
        b = n & 0x7f
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _field(num, payload):
    return _varint(num << 3 | 2) + _varint(len(payload)) + payload


def status_with_retry_info(code, message, delay_s):
    """google.rpc.Status{code, message, details: [Any(RetryInfo)]}."""
    secs, nanos = int(delay_s), int(round((delay_s - int(delay_s)) * 1e9))
    duration = _varint(1 << 3) + _varint(secs) + \
        _varint(2 << 3) + _varint(nanos)
    retry_info = _field(1, duration)
    any_ = _field(1, b"type.googleapis.com/google.rpc.RetryInfo") + \
        _field(2, retry_info)
    return (_varint(1 << 3) + _varint(code) + _field(2, message.encode()) +
            _field(3, any_))


class FakeGrpc:
    def __init__(self, script=(), tls=None):
        grpc = require_grpcio()
        self.grpc = grpc
        self.script = list(script)
        self.lock = threading.Condition()
        self.requests = []  # (bytes, {metadata})
        self.release = threading.Event()
        owner = self

        class Handler(grpc.GenericRpcHandler):
            def service(self, details):
                if details.method != EXPORT:
                    return None
                return grpc.unary_unary_rpc_method_handler(owner._export)

        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
        self.server.add_generic_rpc_handlers((Handler(),))
        if tls:
            creds = grpc.ssl_server_credentials(
                [(open(tls["key"], "rb").read(),
                  open(tls["cert"], "rb").read())])
            self.port = self.server.add_secure_port("127.0.0.1:0", creds)
        else:
            self.port = self.server.add_insecure_port("127.0.0.1:0")
        self.server.start()

    @property
    def address(self):
        return "127.0.0.1:%d" % self.port

    def _export(self, request, context):
        grpc = self.grpc
        with self.lock:
            i = len(self.requests)
            self.requests.append((request,
                                  dict(context.invocation_metadata())))
            self.lock.notify_all()
        act = self.script[i] if i < len(self.script) else "ok"
        if act == "ok":
            return b""  # an empty ExportProfilesServiceResponse
        if act == "hang":
            self.release.wait()
            context.abort(grpc.StatusCode.UNAVAILABLE, "released")
        if isinstance(act, tuple):
            name, delay = act
            code = getattr(grpc.StatusCode, name)
            details = status_with_retry_info(code.value[0], "slow down",
                                             delay)

            class Status(grpc.Status):
                pass
            st = Status()
            st.code = code
            st.details = "slow down"
            st.trailing_metadata = (("grpc-status-details-bin", details),)
            context.abort_with_status(st)
        context.abort(getattr(grpc.StatusCode, act), "scripted %s" % act)

    def count(self):
        with self.lock:
            return len(self.requests)

    def wait_requests(self, n, timeout=30):
        with self.lock:
            if not self.lock.wait_for(lambda: len(self.requests) >= n,
                                      timeout):
                raise AssertionError("%d requests after %d s, wanted %d"
                                     % (len(self.requests), timeout, n))
            return list(self.requests)

    def close(self):
        self.release.set()
        self.server.stop(0)
