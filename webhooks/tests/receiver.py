"""A real webhook receiver on loopback for the tests: an `http.server` in a thread that records every request
(raw body and headers) and answers with the next status of its script (then its default)."""

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    path: str
    headers: dict
    body: bytes


@dataclass
class Receiver:
    """`url` to subscribe; `received` what came in; `script` the statuses to answer, in order."""

    server: ThreadingHTTPServer
    received: list = field(default_factory=list)
    script: list = field(default_factory=list)
    default_status: int = 200
    location: str = ""  # sent with a 3xx
    delay: float = 0.0  # seconds before answering
    hang_first: bool = False  # the first request never gets an answer (a receiver that hangs: crash tests)
    first_arrived: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/hook"

    def ids(self) -> list[str]:
        return [r.headers["webhook-id"] for r in self.received]


def start_receiver(**options) -> Receiver:
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's name
            length = int(self.headers.get("Content-Length", 0))
            body = self.rfile.read(length)
            with lock:
                receiver.received.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                status = receiver.script.pop(0) if receiver.script else receiver.default_status
                hang = receiver.hang_first and len(receiver.received) == 1
            if hang:
                receiver.first_arrived.set()
                receiver.release.wait(120)  # the client is killed meanwhile
                return
            if receiver.delay:
                time.sleep(receiver.delay)
            self.send_response(status)
            if 300 <= status < 400 and receiver.location:
                self.send_header("Location", receiver.location)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    receiver = Receiver(server=server, **options)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return receiver
