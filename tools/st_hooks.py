"""Schemathesis hooks for snpn: the server-error check, with the one 5xx answer TS 29.503
and TS 29.509 prescribe for bad input: 501 UNSUPPORTED_PROTECTION_SCHEME, for a SUCI whose
protection scheme the home network does not support. Every other 5xx fails. Also: serializers for the evidence media types of the DCS Verifier."""
import json

import schemathesis


@schemathesis.check
def no_server_error(ctx, response, case):
    if response.status_code < 500:
        return None
    if response.status_code == 501:
        try:
            cause = json.loads(response.content).get("cause")
        except (ValueError, AttributeError):
            cause = None
        if cause == "UNSUPPORTED_PROTECTION_SCHEME":
            return None
    raise AssertionError(f"server error {response.status_code}: {response.content[:300]!r}")


# Evidence bodies of the DCS Verifier: CWTs are bytes, JWTs are text.
schemathesis.serializer.alias("application/eat+cwt", "application/octet-stream")
schemathesis.serializer.alias("application/eat+jwt", "text/plain")
