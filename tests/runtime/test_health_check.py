"""run_check(): a check that raises, hangs or answers the wrong thing is a failing check with the reason."""

from __future__ import annotations

import asyncio

from q2ext.handlers.health_check import CustomHealthCheckHandler, CustomHealthCheckResponse, run_check


class Healthy(CustomHealthCheckHandler):
    async def run(self):
        return CustomHealthCheckResponse("Healthy", True)


class Raises(CustomHealthCheckHandler):
    async def run(self):
        raise ConnectionError("vendor unreachable")


class Hangs(CustomHealthCheckHandler):
    TIMEOUT_SECONDS = 0.05

    async def run(self):
        await asyncio.Event().wait()


class AnswersNothing(CustomHealthCheckHandler):
    async def run(self):
        return None


def test_healthy_check_answers_its_own_response():
    assert asyncio.run(run_check(Healthy)) == CustomHealthCheckResponse("Healthy", True)


def test_check_that_raises_fails_with_the_exception():
    result = asyncio.run(run_check(Raises))

    assert (result.name, result.is_healthy) == ("Raises", False)
    assert result.failure_reason == "run() raised ConnectionError: vendor unreachable"


def test_check_that_hangs_fails_after_its_timeout():
    result = asyncio.run(run_check(Hangs))

    assert result.is_healthy is False
    assert result.failure_reason == "run() took longer than 0.05 s"


def test_check_that_answers_no_response_fails():
    result = asyncio.run(run_check(AnswersNothing))

    assert result.is_healthy is False
    assert "returned NoneType" in result.failure_reason
