"""The read answers of a flag document, serialized once per document version rather than once per request.

Both read paths use them: the Django views in flags/api.py and the lean WSGI path in flags/lean.py, so the
bytes a client gets do not depend on which path answered. A process keeps one `Answers` per environment and
builds a new one when the document it reads (through documents.get_document, which sees every change on the
next read) has another version or other flags.
"""

import json
import threading

from django.core.serializers.json import DjangoJSONEncoder

from flags.documents import etag


def _json(value) -> bytes:
    # What JsonResponse would send, byte for byte.
    return json.dumps(value, cls=DjangoJSONEncoder).encode()


def evaluation(key, value, document) -> dict:
    return {
        "key": key,
        "value": value,
        "reason": "STATIC",
        "variant": "on" if value else "off",
        "metadata": {"environment": document["environment"], "version": document["version"]},
    }


class Answers:
    """One document's answers: the document body, its ETag, and per key the flag and OFREP bodies (on first use)."""

    def __init__(self, document):
        self.document = document
        self.etag = etag(document)
        self.body = _json(document)
        self.ofrep_bulk = _json({"flags": [evaluation(k, v, document) for k, v in document["flags"].items()]})
        self._details = {}
        self._ofrep = {}

    def matches(self, document) -> bool:
        return self.document is document or (
            self.document["version"] == document["version"] and self.document["flags"] == document["flags"]
        )

    def detail(self, key) -> bytes:
        body = self._details.get(key)
        if body is None:
            document = self.document
            body = self._details[key] = _json(
                {"environment": document["environment"], "key": key, "enabled": document["flags"][key],
                 "version": document["version"]}
            )  # fmt: skip
        return body

    def ofrep_single(self, key) -> bytes:
        body = self._ofrep.get(key)
        if body is None:
            body = self._ofrep[key] = _json({**evaluation(key, self.document["flags"][key], self.document),
                                             "cacheable": True})  # fmt: skip
        return body


_answers = {}  # environment key -> Answers, this process's
_lock = threading.Lock()


def answers_for(document) -> Answers:
    """The prepared answers of `document` (the one get_document just returned): rebuilt only when it changed."""
    environment = document["environment"]
    current = _answers.get(environment)
    if current is not None and current.matches(document):
        return current
    fresh = Answers(document)
    with _lock:
        _answers[environment] = fresh
    return fresh
