"""Two small servers the lab did not write, for lab-probe's tests (services/matrix/tests/probe.rs).

    python3 probe_servers.py threaded|blocking [--die-after SECONDS]

Each binds 127.0.0.1 on a free port, prints the port as its first line of output, and serves:

- GET /health: {"status": "ok"}, the cheap route;
- POST /upload: the body read in full, then {"received": <bytes>}.

`threaded` is Python's ThreadingHTTPServer: one thread per connection, so /health is answered
while an upload is read. `blocking` is the single-threaded HTTPServer, and its /upload parses
the JSON body and then keeps the CPU busy for BUSY_SECONDS_PER_MB per MB before answering: the
small requests queue behind every upload. `--die-after` ends the process (no goodbye) that many
seconds after it starts: a server that goes away in the middle of a probe.
"""

import argparse
import http.server
import json
import os
import sys
import threading
import time

#: CPU time the blocking server spends per MB of upload, on its only thread.
BUSY_SECONDS_PER_MB = 0.12


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    #: Whether /upload parses the body and works the CPU before answering.
    blocking = False

    def log_message(self, *args):
        pass

    def answer(self, body):
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/health":
            self.answer({"status": "ok"})
        else:
            self.send_error(404)

    def do_POST(self):
        length = int(self.headers.get("Content-Length", 0))
        remaining, chunks = length, []
        while remaining > 0:
            chunk = self.rfile.read(min(remaining, 1 << 20))
            if not chunk:
                break
            remaining -= len(chunk)
            if self.blocking:
                chunks.append(chunk)
        if self.path != "/upload":
            self.send_error(404)
            return
        if self.blocking:
            json.loads(b"".join(chunks))
            deadline = time.perf_counter() + BUSY_SECONDS_PER_MB * length / 1e6
            while time.perf_counter() < deadline:
                pass
        self.answer({"received": length})


class BlockingHandler(Handler):
    blocking = True


class BlockingServer(http.server.HTTPServer):
    # Small requests wait in the listen queue while an upload is worked on: let them queue.
    request_queue_size = 256


class ThreadedServer(http.server.ThreadingHTTPServer):
    request_queue_size = 256


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("kind", choices=["threaded", "blocking"])
    parser.add_argument("--die-after", type=float, default=0.0)
    args = parser.parse_args()
    if args.kind == "blocking":
        server = BlockingServer(("127.0.0.1", 0), BlockingHandler)
    else:
        server = ThreadedServer(("127.0.0.1", 0), Handler)
    if args.die_after > 0:
        threading.Timer(args.die_after, lambda: os._exit(0)).start()
    print(server.server_address[1], flush=True)
    sys.stdout.close()
    server.serve_forever()


if __name__ == "__main__":
    main()
