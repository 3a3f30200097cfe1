"""Multipart bodies exactly as curl builds them: curl itself posts to a one-shot local listener."""

from __future__ import annotations

import subprocess
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import ClassVar


class _Capture(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # so that curl's "Expect: 100-continue" is answered
    captured: ClassVar[dict[str, object]] = {}

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        type(self).captured.update(content_type=self.headers.get("Content-Type"), body=self.rfile.read(length))
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def curl_form(*fields: str, cwd: str | None = None) -> tuple[str, bytes]:
    """(Content-Type, body) of `curl -F field ...`; e.g. curl_form("user=bob", "file=@cat.png")."""
    server = HTTPServer(("127.0.0.1", 0), _Capture)
    thread = threading.Thread(target=server.handle_request, daemon=True)
    thread.start()
    args = ["curl", "-sS", "-o", "/dev/null"]
    for field in fields:
        args += ["-F", field]
    subprocess.run([*args, f"http://127.0.0.1:{server.server_port}/upload"], check=True, cwd=cwd, timeout=30)
    thread.join(10)
    server.server_close()
    captured = _Capture.captured
    body = captured["body"]
    assert isinstance(body, bytes)
    return str(captured["content_type"]), body
