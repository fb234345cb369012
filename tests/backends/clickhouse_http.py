#!/usr/bin/env python3
"""A ClickHouse HTTP interface in front of chDB, the ClickHouse engine from PyPI, for the tests
of the ClickHouse backend: the machines this project tests on have no current
``clickhouse-server`` package (Debian's is 18.16), while ``chdb`` runs ClickHouse 26.9 in-process.

It serves what the backend uses of ClickHouse's HTTP interface:

* ``GET /ping`` answers ``Ok.``;
* ``POST /`` (or ``GET /?query=``) runs the query in the request body, after the ``query`` URL
  parameter when both are given (how ``INSERT ... FORMAT JSONEachRow`` sends its rows), in the
  database of the ``database`` parameter; other URL parameters are settings (``default_format``
  picks the output format when the query names none);
* credentials come in ``X-ClickHouse-User`` / ``X-ClickHouse-Key`` headers; when the server is
  started with ``--password``, any other user or key is refused with ClickHouse's code 516, and
  credentials in the URL are refused too (they would end up in logs);
* errors answer HTTP 500 with ClickHouse's ``Code: N. DB::Exception: ...`` text;
* for tests of failures, ``POST /_faults?flaky=N&drop=0|1&hang=S`` makes every Nth ``INSERT``
  answer HTTP 503 without running (0: none), with ``drop=1`` acknowledges every ``INSERT``
  without running it (a proxy that loses rows), and with ``hang=S`` answers every ``INSERT``
  with HTTP 503 after S seconds (a server that stalls).

Every request is logged to ``--log`` as a JSON line (method, path, parameter names, header
names, whether credentials were present, and the body's size in bytes), never the credentials
themselves.

Usage: ``python clickhouse_http.py --port 0 --data DIR [--user U --password P] [--log FILE]``;
it prints ``listening on PORT`` when ready.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import chdb.session as chs

LOCK = threading.Lock()
FORMAT_RE = re.compile(r"\bFORMAT\s+\w+\s*$", re.IGNORECASE)
SETTING_RE = re.compile(r"^[a-z_][a-z0-9_]*$")
RESERVED = {"query", "database", "default_format", "user", "password"}


class Handler(BaseHTTPRequestHandler):
    server_version = "chdb-http"

    def log_message(self, fmt, *args):  # noqa: D102 - quiet
        pass

    def _send(self, code: int, body: bytes, content_type: str = "text/plain; charset=UTF-8"):
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Access-Control-Allow-Headers", "X-ClickHouse-User, X-ClickHouse-Key, Content-Type")
        self.end_headers()
        self.wfile.write(body)

    def do_OPTIONS(self):  # noqa: N802 - http.server naming
        self._send(204, b"")

    def do_GET(self):  # noqa: N802
        self._handle(b"")

    def do_POST(self):  # noqa: N802
        n = int(self.headers.get("Content-Length") or 0)
        self._handle(self.rfile.read(n) if n else b"")

    def _handle(self, body: bytes):
        parts = urlsplit(self.path)
        params = dict(parse_qsl(parts.query, keep_blank_values=True))
        cfg = self.server.cfg
        user = self.headers.get("X-ClickHouse-User")
        key = self.headers.get("X-ClickHouse-Key")
        with open(cfg.log, "a", encoding="utf-8") if cfg.log else _Null() as log:
            log.write(json.dumps({
                "method": self.command,
                "path": parts.path,
                "params": sorted(params),
                "headers": sorted(h.lower() for h in self.headers.keys()),
                "credentials": bool(user or key),
                "bytes": len(body),
            }) + "\n")
        if parts.path == "/ping":
            return self._send(200, b"Ok.\n")
        if parts.path == "/_faults" and self.command == "POST":
            with LOCK:
                self.server.faults = {
                    "flaky": int(params.get("flaky", 0)),
                    "drop": params.get("drop") == "1",
                    "hang": float(params.get("hang", 0)),
                    "inserts": 0,
                }
            return self._send(200, b"Ok.\n")
        if "user" in params or "password" in params:
            return self._send(403, b"Code: 516. DB::Exception: credentials in the URL are refused here. (AUTHENTICATION_FAILED)\n")
        if cfg.password is not None and (user != cfg.user or key != cfg.password):
            return self._send(403, b"Code: 516. DB::Exception: Authentication failed: password is incorrect, or there is no user with such name. (AUTHENTICATION_FAILED)\n")
        query = params.get("query", "")
        text = body.decode("utf-8", "replace")
        query = f"{query}\n{text}" if query and text else (query or text)
        if not query.strip():
            return self._send(400, b"Code: 62. DB::Exception: Empty query. (SYNTAX_ERROR)\n")
        settings = []
        for k, v in params.items():
            if k in RESERVED:
                continue
            if not SETTING_RE.match(k):
                return self._send(400, f"Code: 115. DB::Exception: Unknown setting {k}. (UNKNOWN_SETTING)\n".encode())
            settings.append((k, v))
        fmt = params.get("default_format", "TabSeparated")
        is_insert = query.lstrip().upper().startswith("INSERT")
        if is_insert and self.server.faults["hang"]:
            time.sleep(self.server.faults["hang"])
            return self._send(503, b"Service stalled (injected)\n")
        if is_insert:
            with LOCK:
                faults = self.server.faults
                faults["inserts"] += 1
                if faults["flaky"] and faults["inserts"] % faults["flaky"] == 0:
                    return self._send(503, b"Service temporarily unavailable (injected)\n")
                if faults["drop"]:
                    return self._send(200, b"")
        try:
            with LOCK:
                sess = self.server.session
                sess.query(f"USE {quote_ident(params.get('database', 'default'))}")
                for k, v in settings:
                    sess.query(f"SET {k} = {quote_literal(v)}")
                if is_insert or FORMAT_RE.search(query.strip().rstrip(";")):
                    # The query's own FORMAT clause decides the output.
                    result = sess.query(query.strip().rstrip(";") if not is_insert else query, "TabSeparated")
                else:
                    result = sess.query(query.strip().rstrip(";"), fmt)
                out = result.bytes() if result is not None else b""
        except Exception as e:  # chDB raises with ClickHouse's message
            msg = str(e)
            if not msg.startswith("Code:"):
                msg = f"Code: 1000. DB::Exception: {msg}"
            return self._send(500, (msg.strip() + "\n").encode())
        ctype = "application/json; charset=UTF-8" if fmt.startswith("JSON") else "text/plain; charset=UTF-8"
        self._send(200, out, ctype)


class _Null:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False

    def write(self, _):
        pass


def quote_ident(name: str) -> str:
    return "`" + name.replace("\\", "\\\\").replace("`", "\\`") + "`"


def quote_literal(v: str) -> str:
    if re.fullmatch(r"-?\d+(\.\d+)?", v):
        return v
    return "'" + v.replace("\\", "\\\\").replace("'", "\\'") + "'"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--data", required=True, help="chDB data directory")
    ap.add_argument("--user", default="default")
    ap.add_argument("--password")
    ap.add_argument("--log")
    cfg = ap.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", cfg.port), Handler)
    server.cfg = cfg
    server.faults = {"flaky": 0, "drop": False, "hang": 0, "inserts": 0}
    server.session = chs.Session(cfg.data)
    print(f"listening on {server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    finally:
        server.session.close()


if __name__ == "__main__":
    sys.exit(main())
