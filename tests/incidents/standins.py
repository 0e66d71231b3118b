"""Local stand-ins for the outside world of notifications: an SMTP server and a webhook receiver."""

import json
import socketserver
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class SMTPServer:
    """A minimal SMTP server speaking enough of RFC 5321 for smtplib. The first `refuse` sessions get
    554 on MAIL FROM (a refusing relay); later ones are accepted and their messages kept."""

    def __init__(self, *, refuse=0):
        self.refuse = refuse
        self.sessions = 0
        self.messages = []
        smtp = self

        class Handler(socketserver.StreamRequestHandler):
            def reply(self, line):
                self.wfile.write(line.encode() + b"\r\n")

            def handle(self):
                smtp.sessions += 1
                refusing = smtp.sessions <= smtp.refuse
                self.reply("220 stand-in ESMTP")
                data, lines = False, []
                while True:
                    raw = self.rfile.readline()
                    if not raw:
                        return
                    line = raw.decode("utf-8", "replace").rstrip("\r\n")
                    if data:
                        if line == ".":
                            data = False
                            smtp.messages.append("\n".join(lines))
                            lines = []
                            self.reply("250 queued")
                        else:
                            lines.append(line[1:] if line.startswith("..") else line)
                        continue
                    verb = line[:4].upper()
                    if verb in {"EHLO", "HELO"}:
                        self.reply("250 stand-in")
                    elif verb == "MAIL":
                        self.reply("554 5.7.1 relay refused" if refusing else "250 ok")
                    elif verb == "RCPT":
                        self.reply("250 ok")
                    elif verb == "DATA":
                        data = True
                        self.reply("354 go ahead")
                    elif verb == "RSET" or verb == "NOOP":
                        self.reply("250 ok")
                    elif verb == "QUIT":
                        self.reply("221 bye")
                        return
                    else:
                        self.reply("502 not implemented")

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class WebhookReceiver:
    """Records what a chat tool's incoming webhook would receive: every signed webhook the console sends
    (incidents, release notifications), each as {"headers", "body" (bytes), "json"}."""

    def __init__(self):
        self.requests = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                payload = json.loads(body) if body else None
                receiver.requests.append({"headers": dict(self.headers), "body": body, "json": payload})
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
