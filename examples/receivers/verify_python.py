"""A webhook receiver that verifies Hookhub's Standard Webhooks signature, then reads the body by its
type: form-urlencoded, multipart (fields and files) or JSON. Python's standard library only.

    WEBHOOK_SECRET=whsec_... PORT=8092 python3 verify_python.py
    curl "$HOOKHUB/dispatch" -d _url=http://127.0.0.1:8092/hook -d item=book

Each verified delivery is printed as one JSON line; a bad signature answers 401 (final for Hookhub).

With the `standardwebhooks` package (pip install standardwebhooks) the check is one call, as long as the
body is text (form, JSON, multipart without binary files; the library decodes the body as UTF-8):

    from standardwebhooks import Webhook
    Webhook(secret).verify(raw_body, dict(headers), json_parse=False)   # not json_parse=True for form/multipart

json_parse=False matters: by default verify() also parses the body as JSON and fails on form and
multipart bodies. The check below is the same rule over the raw bytes, so binary files verify too.
"""
import base64
import hashlib
import hmac
import json
import os
import sys
import threading
import time
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

SECRET = os.environ.get("WEBHOOK_SECRET")
if not SECRET:
    sys.exit("set WEBHOOK_SECRET to the secret Hookhub signs with (--signing-secret or _secret)")
# whsec_<base64> is the usual form; any other text is a raw secret (Hookhub signs with its UTF-8 bytes).
KEY = base64.b64decode(SECRET[6:]) if SECRET.startswith("whsec_") else SECRET.encode()
TOLERANCE_S = 300


def verify(body: bytes, headers) -> None:
    """Raises ValueError unless the headers carry a valid signature of body made within 5 minutes."""
    msg_id, timestamp, signatures = (headers.get(h) for h in ("webhook-id", "webhook-timestamp", "webhook-signature"))
    if not (msg_id and timestamp and signatures):
        raise ValueError("missing webhook-id, webhook-timestamp or webhook-signature")
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > TOLERANCE_S:
        raise ValueError("timestamp too old or too new")
    expected = hmac.new(KEY, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    for signature in signatures.split(" "):
        version, _, mac = signature.partition(",")
        if version == "v1" and hmac.compare_digest(base64.b64decode(mac), expected):
            return
    raise ValueError("no matching signature")


def read(body: bytes, content_type: str):
    """The body as fields, by its content type (parsed only once verified)."""
    media = content_type.split(";")[0].strip().lower()
    if not body:
        return "empty", {}
    if media == "application/json" or media.endswith("+json"):
        return "json", json.loads(body)
    if media == "application/x-www-form-urlencoded":
        return "form", dict(parse_qsl(body.decode(), keep_blank_values=True))
    if media == "multipart/form-data":
        message = BytesParser(policy=HTTP).parsebytes(b"content-type: " + content_type.encode() + b"\r\n\r\n" + body)
        fields = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            data = part.get_payload(decode=True)
            if part.get_filename():
                fields[name] = {"file": part.get_filename(), "type": part.get_content_type(), "bytes": len(data)}
            else:
                fields[name] = data.decode(part.get_content_charset() or "utf-8")
        return "multipart", fields
    return media, {"bytes": len(body)}


_printing = threading.Lock()


def emit(record):
    # Deliveries arrive on several threads at once: print() writes the text and its newline apart, so
    # two lines could interleave. One whole line at a time.
    with _printing:
        sys.stdout.write(json.dumps(record) + "\n")
        sys.stdout.flush()


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        try:
            verify(body, self.headers)
        except ValueError as err:
            emit({"rejected": self.headers.get("webhook-id"), "reason": str(err)})
            self.send_response(401)
            self.end_headers()
            return
        kind, fields = read(body, self.headers.get("content-type", ""))
        emit({"id": self.headers.get("webhook-id"), "type": kind, "fields": fields})
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):  # one JSON line per delivery, nothing else
        pass


if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1", int(os.environ.get("PORT", "8092"))), Handler)
    emit({"listening": f"http://127.0.0.1:{server.server_address[1]}"})
    server.serve_forever()
