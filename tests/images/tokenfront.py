#!/usr/bin/env python3
"""A registry front that demands Bearer tokens, as Docker Hub does.

Usage: tokenfront.py PORT REGISTRY_URL USER:PASSWORD|- LOG

/v2/... without `Authorization: Bearer <token>` is answered 401 with a
`WWW-Authenticate: Bearer realm=...,service=...,scope=...` challenge;
/token hands out the token only to basic credentials USER:PASSWORD (to
anyone, as Docker Hub does for public images, with `-`), and logs the
scope asked for. Requests with the token are passed on to the
registry. Loopback only.
"""
import base64
import sys
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT, REGISTRY, CREDENTIALS, LOG = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
TOKEN = "isokit-test-token"
SERVICE = "isokit-test"


def log(line):
    with open(LOG, "a") as f:
        f.write(line + "\n")


class Front(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def reply(self, status, body=b"", headers=()):
        self.send_response(status)
        for key, value in headers:
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        if url.path == "/token":
            query = urllib.parse.parse_qs(url.query)
            given = self.headers.get("Authorization", "")
            wanted = "Basic " + base64.b64encode(CREDENTIALS.encode()).decode()
            allowed = CREDENTIALS == "-" or given == wanted
            log(f"token scope={query.get('scope', [''])[0]} service={query.get('service', [''])[0]} "
                f"auth={'ok' if allowed else 'bad'}")
            if not allowed:
                return self.reply(401, b'{"errors":[{"message":"bad credentials"}]}')
            return self.reply(200, ('{"token": "%s"}' % TOKEN).encode(), [("Content-Type", "application/json")])
        if self.headers.get("Authorization") != "Bearer " + TOKEN:
            log(f"challenge {url.path}")
            name = url.path.split("/")[2] if url.path.count("/") >= 3 else ""
            challenge = (f'Bearer realm="http://127.0.0.1:{PORT}/token",service="{SERVICE}",'
                         f'scope="repository:{name}:pull"')
            return self.reply(401, b'{"errors":[{"message":"authentication required"}]}',
                              [("WWW-Authenticate", challenge)])
        log(f"pass {url.path}")
        request = urllib.request.Request(REGISTRY + self.path, headers={"Accept": self.headers.get("Accept", "*/*")})
        try:
            with urllib.request.urlopen(request) as answer:
                status, headers, body = answer.status, answer.headers, answer.read()
        except urllib.error.HTTPError as err:
            status, headers, body = err.code, err.headers, err.read()
        keep = [(k, v) for k, v in headers.items() if k.lower() in ("content-type", "docker-content-digest")]
        self.reply(status, body, keep)


ThreadingHTTPServer(("127.0.0.1", PORT), Front).serve_forever()
