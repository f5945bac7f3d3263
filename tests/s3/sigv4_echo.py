#!/usr/bin/env python3
"""Answers every request on 127.0.0.1 with the request's Authorization
header and, after a newline, its x-amz-security-token header: what the
SigV4 test compares with AWS's published example. Standard library only.
Prints "PORT <n>" first, then serves until killed."""
import http.server
import sys


class Echo(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = ("%s\n%s\n" % (self.headers.get("Authorization", ""),
                              self.headers.get("x-amz-security-token", ""))).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


srv = http.server.HTTPServer(("127.0.0.1", 0), Echo)
print("PORT %d" % srv.server_address[1], flush=True)
sys.stdout.close()
srv.serve_forever()
