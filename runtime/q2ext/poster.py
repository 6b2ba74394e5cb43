"""POST records to their handlers: sign each attempt, keep a connection per origin, turn answers into outcomes."""

from __future__ import annotations

import json
from collections.abc import Callable

from . import batch, delivery, http1, wire
from .metrics import Registry
from .retry import NO_ANSWER, NOT_ATTEMPTED, Outcome, batch_outcome, no_answer, outcome_of
from .secretkey import Key
from .targets import Spread, client_for


class Poster:
    """The relay's HTTP side: kept-alive clients by endpoint, signed with the delivery key (it cannot decrypt)."""

    def __init__(self, key: Key, timeout_s: float, metrics: Registry | None = None) -> None:
        self.key = key
        self.timeout_s = timeout_s
        self.metrics = metrics or Registry()  # targets.Spread counts POSTs per host on it
        self._http: dict[str, tuple[http1.Client | Spread, str]] = {}  # endpoint URL -> (its client, path)

    def client_for(self, url: str) -> tuple[http1.Client | Spread, str]:
        """The kept-alive client of the endpoint's origin and the path to POST to, made on first use."""
        found = self._http.get(url)
        if found is None:  # several hosts, comma-separated: a Spread over them (targets.py)
            found = self._http[url] = client_for(url, self.timeout_s, self.metrics)
        return found

    def send(self, url: str, headers: dict[str, str], body: bytes, done: Callable[[object], None]) -> None:
        """Start the first attempt of a record; done(result) gets the Response or the exception (no task made)."""
        client, path = self.client_for(url)
        client.send(path, delivery.sign(headers, self.key, 1), body, done)

    def outcome_of_send(self, url: str, result: http1.Response | BaseException) -> Outcome:
        """The outcome of a callback POST: the handler's answer, or the retry of getting none; a bug is raised."""
        if isinstance(result, http1.Response):
            return outcome_of(result)
        if isinstance(result, NO_ANSWER):
            return no_answer(url, result, self.timeout_s)
        raise result

    async def post(self, url: str, headers: dict[str, str], body: bytes, attempt: int) -> Outcome:
        """One signed POST of the record; its outcome (a refused connection or timeout is a retry)."""
        answer = await self._send(url, delivery.sign(headers, self.key, attempt), body)
        return answer if isinstance(answer, Outcome) else outcome_of(answer)

    def send_batch(self, url: str, records: list[tuple[dict[str, str], bytes, int]], done) -> None:
        """One batch POST of first attempts: (sealed headers, body, ordering key) per record, one signature."""
        body = batch.encode(
            ({**headers, "q2msg-attempt": "1", wire.ORDER_HEADER: str(order)}, value)
            for headers, value, order in records
        )
        client, path = self.client_for(url)
        client.send(path, delivery.sign_batch(body, self.key), body, done)

    def batch_outcomes(self, url: str, result, count: int) -> list[Outcome] | None:
        """An outcome per record of a batch POST; None if the answer is not a batch answer (send singles)."""
        if not isinstance(result, http1.Response):
            if isinstance(result, NO_ANSWER):
                return [no_answer(url, result, self.timeout_s)] * count
            raise result
        if result.status != 200:
            outcome = outcome_of(result)
            return [outcome] * count if outcome.verdict == "retry" else None
        try:
            results = json.loads(result.body)["results"]
        except (ValueError, KeyError, TypeError):
            return None
        if not isinstance(results, list):
            return None
        outcomes = [batch_outcome(answer) for answer in results[:count]]
        return outcomes + [NOT_ATTEMPTED] * (count - len(outcomes))

    async def _send(self, url: str, headers: dict[str, str], body: bytes) -> http1.Response | Outcome:
        """POST over a kept-alive connection: the response, or the retry outcome of getting none."""
        client, path = self.client_for(url)
        try:
            return await client.post(path, headers, body)
        except NO_ANSWER as exc:
            return no_answer(url, exc, self.timeout_s)

    def close(self) -> None:
        for client, _ in self._http.values():
            client.close()
