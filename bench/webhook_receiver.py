#!/usr/bin/env python3
"""A webhook receiver for bench/referrals.sh (WEBHOOK=1): answers 204 at once and appends,
per request, the seconds from the event's `timestamp` (stamped in the transaction of the
change, just before its commit) to the request's arrival, with its webhook-id.

    python3 bench/webhook_receiver.py PORT OUTFILE
"""
import json
import sys
import threading
import time
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port, out = int(sys.argv[1]), sys.argv[2]
lock = threading.Lock()
log = open(out, "a", buffering=1)


class Receiver(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        arrived = time.time()
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        self.send_response(204)
        self.send_header("content-length", "0")
        self.end_headers()
        stamp = json.loads(body)["timestamp"].replace("Z", "+00:00")
        latency = arrived - datetime.fromisoformat(stamp).timestamp()
        with lock:
            log.write(f"{self.headers['webhook-id']} {latency:.6f}\n")

    def log_message(self, *args):
        pass


ThreadingHTTPServer.request_queue_size = 128
ThreadingHTTPServer(("127.0.0.1", port), Receiver).serve_forever()
