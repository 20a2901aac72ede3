#!/usr/bin/env python3
"""Sign requests with Oracle's `oci` SDK signer, for comparison with tazhost's host-side signer.

Usage: python oci_sign.py KEY_ID PRIVATE_KEY_FILE < cases.json

Reads a JSON list of requests ({"method", "url", "date", "content_type" or null, "body" or
null}) and prints, as JSON, for each the parameters of the Authorization header the SDK
produced (keyId, algorithm, headers, signature, version) and the body headers it set.
"""

from __future__ import annotations

import json
import sys

import oci
import requests


def params_of(authorization: str) -> dict:
    scheme, _, rest = authorization.partition(" ")
    assert scheme == "Signature", authorization
    return {k: v.strip('"') for k, v in (p.split("=", 1) for p in rest.split(","))}


def main(key_id: str, key_file: str) -> None:
    tenancy, user, fingerprint = key_id.split("/")
    signer = oci.signer.Signer(tenancy, user, fingerprint, key_file)
    out = []
    for case in json.load(sys.stdin):
        headers = {"date": case["date"]}
        if case.get("content_type"):
            headers["content-type"] = case["content_type"]
        body = case["body"].encode() if case.get("body") is not None else None
        req = requests.Request(case["method"], case["url"], headers=headers, data=body).prepare()
        signer(req)
        out.append(
            {
                "params": params_of(req.headers["authorization"]),
                "headers": {
                    h: req.headers.get(h)
                    for h in ("content-length", "content-type", "x-content-sha256")
                    if h in req.headers
                },
            }
        )
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
