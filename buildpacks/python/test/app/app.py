"""Python buildpack fixture: answers with a string from a dependency installed offline."""

import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from greeting import greet


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        body = (greet("python") + "\n").encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


ThreadingHTTPServer(("0.0.0.0", int(os.environ["PORT"])), Handler).serve_forever()
