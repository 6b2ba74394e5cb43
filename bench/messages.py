"""The messages every case sends: ~100-byte lowercase texts, sealed, delivery-signed, framed as POSTs."""

from __future__ import annotations

import uuid

from project import BUS_PATH, MESSAGE_TYPE

TEXT_BYTES = 100


def text_for(key: str, seq: int) -> str:
    """A message text the probe can check order with: 'bench <key> <seq> ' padded to TEXT_BYTES."""
    head = f"bench {key} {seq} "
    return head + "x" * max(0, TEXT_BYTES - len(head))


def sealed(ring, count: int, prefix: str) -> list[tuple[dict[str, str], bytes]]:
    """count sealed messages with unique ids, delivery-signed now (the handler wants a fresh signature)."""
    from q2ext import delivery, envelope

    out = []
    run = uuid.uuid4().hex[:8]
    for seq in range(count):
        msg = envelope.seal(
            text_for(prefix, seq), MESSAGE_TYPE, ring.active, env_stack="BENCH", msg_id=f"{prefix}-{run}-{seq}"
        )
        out.append((delivery.sign(msg.headers, ring.delivery), msg.body))
    return out


def http_post(host: str, headers: dict[str, str], body: bytes, content_type: str) -> bytes:
    """One HTTP/1.1 keep-alive POST to the bus path, as bytes on the wire."""
    lines = [
        f"POST {BUS_PATH} HTTP/1.1",
        f"Host: {host}",
        f"Content-Type: {content_type}",
        f"Content-Length: {len(body)}",
    ]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def single_posts(ring, count: int, host: str, prefix: str) -> list[bytes]:
    """One sealed message per POST."""
    return [http_post(host, h, body, "application/octet-stream") for h, body in sealed(ring, count, prefix)]


def batch_posts(ring, records: int, per_post: int, host: str, prefix: str) -> list[bytes]:
    """Sealed messages framed per_post to a POST with batch.CONTENT_TYPE and the batch's one delivery signature."""
    from q2ext import batch, delivery

    msgs = sealed(ring, records, prefix)
    bodies = [batch.encode(msgs[i : i + per_post]) for i in range(0, len(msgs), per_post)]
    posts = []
    for body in bodies:
        headers = delivery.sign_batch(body, ring.delivery)
        posts.append(http_post(host, headers, body, headers.pop("Content-Type")))
    return posts
