"""The W&B emulator's GraphQL plumbing: public-field check, errors, raw JSON, operation names."""

import json
import os
import re

from gql import GQLAllowed, GQLError, gql_paths


# The fields and arguments W&B's own public client asks for (issue 20): a
# document with anything else is refused as a server without it would. An
# edge's `cursor` is never allowed: the Go core pages by pageInfo alone.
PUBLIC_GQL = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                          "wandb", "public_gql.txt")
_ALLOWED = []


def allowed_fields():
    if not _ALLOWED:
        _ALLOWED.append(GQLAllowed.from_file(PUBLIC_GQL, never={("edges", "cursor")}))
    return _ALLOWED[0]


def _gql_resolver_error(e, path):
    """A resolver's HTTPErr as a GraphQL error entry; server errors fail
    the whole request, as they would on W&B."""
    if e.status >= 500:
        raise e
    return {"message": e.message, "path": path}


def validate_document(emu, query):
    """The validation error a W&B server without a field or argument that
    the document asks for would answer; None when it has them all."""
    if not isinstance(query, str):
        return None
    try:
        paths = gql_paths(query)
    except GQLError:
        return None   # gql_execute reports syntax errors
    if emu.cfg["log_lines_legacy"]:
        for _otype, path in paths:
            if path[-1][0] == "logLines" and "useImprovedPagination" in path[-1][1]:
                # what servers before 0.77 answer (runhandler_test.go)
                return ('Unknown argument "useImprovedPagination" on field '
                        '"Run.logLines".')
    if emu.cfg["strict_fields"]:
        return allowed_fields().check(query)
    return None


# --------------------------------------------------------------------------
# GraphQL responses and operation names (the engine is gql.py)
# --------------------------------------------------------------------------

class RawJSON:
    """Prebuilt JSON text spliced into a response as is."""
    __slots__ = ("text",)

    def __init__(self, text):
        self.text = text


def encode_response(res):
    raws = []

    def dflt(o):
        if isinstance(o, RawJSON):
            raws.append(o.text)
            return "\x00RAW%d\x00" % (len(raws) - 1)
        raise TypeError("not JSON serializable: %r" % (o,))
    text = json.dumps(res, separators=(",", ":"), ensure_ascii=False, default=dflt)
    if raws:
        text = re.sub(r'"\\u0000RAW(\d+)\\u0000"', lambda m: raws[int(m.group(1))], text)
    return text.encode("utf-8")


# typename -> other names fragments may be declared on (legacy schema names, wandb.md 1.3)
ALIASES = {"Project": ("Model",), "Run": ("Bucket",), "ArtifactCollection":
           ("ArtifactSequence", "ArtifactPortfolio")}


def op_name_of(query, operation_name):
    if operation_name:
        return operation_name
    m = re.search(r"\b(query|mutation|subscription)\s+([_A-Za-z][_0-9A-Za-z]*)", query or "")
    return m.group(2) if m else "(anonymous)"
