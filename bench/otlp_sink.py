# SPDX-License-Identifier: Apache-2.0
"""What the memory benchmarks (soak.py, collector_receiver_compare.py)
export to: a loopback OTLP/HTTP endpoint that answers 200 to every POST
and counts them, and a free loopback port."""
import http.server
import socket
import threading


class Sink:
    """Loopback OTLP/HTTP endpoint: 200 to every POST, counts bytes."""

    def __init__(self):
        owner = self
        self.posts = 0
        self.bytes = 0

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get(
                    "Content-Length", 0)))
                owner.posts += 1
                owner.bytes += len(body)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                                      Handler)
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever,
                         daemon=True).start()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port
