"""Standard Webhooks signatures (https://www.standardwebhooks.com): what a receiver verifies.

`webhook-signature` is `v1,` + base64(HMAC-SHA256(key, "{webhook-id}.{webhook-timestamp}.{body}")), keyed with
the base64-decoded part of the secret after `whsec_`; during a rotation one such signature per secret,
separated by spaces. The tests check it against the reference implementation (`standardwebhooks`).
"""

import base64
import hashlib
import hmac

from .secrets import signing_key


def signature(secret: str, *, msg_id: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(signing_key(secret), f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers(secrets: list[str], *, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three Standard Webhooks headers of one attempt."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(signature(secret, msg_id=msg_id, timestamp=timestamp, body=body)
                                      for secret in secrets),
    }
