"""The Q2 SDK names a Q2 developer copies from Q2's docs work here as the docs say (docs.q2developer.com).

Each extension below is written from a docs page's own example code (the page is named above it) into one
throwaway project; that project's own pytest runs once against its real app on loopback, and each test here
checks one outcome. The start-up refusals run the project's real `python -m q2ext run`.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from .conftest import make_project

URLS = """from tornado.web import url
from .extension import {cls}

URL_PATTERNS = [
    url(r'/{name}/?(.*)', {cls}),
]
"""

# name -> extension.py, written the way the docs page shows it.
EXTENSIONS = {
    # guides/online_integration/unauthenticated_extensions: "IS_UNAUTHENTICATED = True to your extension.py"
    "PublicRates": """
from q2_sdk.core.http_handlers.online_handler import Q2OnlineRequestHandler


class PublicRatesHandler(Q2OnlineRequestHandler):
    IS_UNAUTHENTICATED = True

    async def default(self):
        return self.get_template("index.html.jinja2", {"rates": [("Savings", "1.10"), ("CD", "4.25")]})
""",
    # tutorials/online_banking/configuration: REQUIRED_CONFIGURATIONS = {'fi_name': ...}, read as self.config.fi_name
    "AccountDashboard": """
from q2_sdk.core.http_handlers.base_handler import Q2BaseRequestHandler


class AccountDashboardHandler(Q2BaseRequestHandler):
    REQUIRED_CONFIGURATIONS = {
        'fi_name': 'Imaginary FI of Texas'
    }
    OPTIONAL_CONFIGURATIONS = {
        'motto': 'Banking, but local'
    }

    async def get(self, *args):
        self.write({"fi_name": self.config.fi_name, "motto": self.config.motto})
""",
    # api_references/q2_sdk/hq/models/Q2SSOResponse: Q2SSOResponse(response_type, response, success=True,
    # end_user_error_message='', user_level_config_list=None)
    "VendorSso": """
from q2_sdk.core.http_handlers.sso_handler import Q2SSORequestHandler
from q2_sdk.hq.models.sso_response import Q2SSOResponse, ResponseType, UserLevelConfig, UserLevelConfigList


class VendorSsoHandler(Q2SSORequestHandler):
    async def default(self):
        if self.get_argument("down", ""):
            return Q2SSOResponse(
                ResponseType.HTML, "", success=False, end_user_error_message="The vendor is down for maintenance"
            )
        configs = UserLevelConfigList(7, [UserLevelConfig("MemberNumber", "12345")])
        return Q2SSOResponse(ResponseType.REDIRECT, "https://vendor.example/in", True, "", configs)
""",
    # tutorials/custom_endpoint: the generated get/post take (self, *args, **kwargs)
    "TestCustomEndpoint": """
from q2_sdk.core.http_handlers.caliper_api_custom_handler import Q2CaliperAPICustomHandler


class TestCustomEndpointHandler(Q2CaliperAPICustomHandler):
    async def get(self, *args, **kwargs):
        self.write(self.return_data({"args": list(args), "product": self.request_parameters.get("product")}))
""",
    # api_references/q2_sdk/hq/models/AuditDetails: the fields on self.audit_details
    "AuditWatcher": """
from q2_sdk.core.http_handlers.audit_action_handler import Q2AuditActionRequestHandler

SEEN = []


class AuditWatcherHandler(Q2AuditActionRequestHandler):
    async def handle(self, audit):
        d = self.audit_details
        SEEN.append([d.audit_uuid, d.workstation, d.action_id, d.client_address, d.hq_id, d.end_date_time, d.zone_id])

    async def get(self, *args):
        self.write({"seen": SEEN})
""",
    # tutorials/adapters/wires/fx_rates: the three methods as the page lists them
    "ConvertToDollars": """
from decimal import Decimal

from q2ext.handlers.adapters.fx_rate import FxRateExchangeDealReply, FxRateQuoteReply, Q2FxRateAdapter


class ConvertToDollarsHandler(Q2FxRateAdapter):
    async def get_fx_quote(self, currency_code, amount, group_id) -> FxRateQuoteReply:
        return FxRateQuoteReply(f"Q-{group_id}", currency_code, Decimal("0.5"), amount / Decimal("0.5"))

    async def book_fx_quote(self, currency_code, amount, group_id) -> FxRateExchangeDealReply:
        return FxRateExchangeDealReply(f"Q-{group_id}", "booked")

    async def cancel_fx_quote(self, currency_code, amount, group_id) -> FxRateExchangeDealReply:
        return FxRateExchangeDealReply(f"Q-{group_id}", "cancelled")
""",
}
OTHER_FILES = {
    # A Jinja template as Q2 extensions keep them: {% for %} ... {% endfor %}, filters, autoescaping.
    "PublicRates/templates/index.html.jinja2": (
        "<ul>{% for name, rate in rates %}<li>{{ name | upper }}: {{ rate }}%</li>{% endfor %}</ul>"
        "<p>{{ request.path }}</p>"
    ),
    "configuration/AccountDashboard.py": 'fi_name = "Bank of Q2"\n',
}
INNER_TESTS = """
def test_is_unauthenticated_page_is_served_without_a_session(client):
    assert client.get("/PublicRates").status == 200


def test_jinja_template_renders_through_get_template(client):
    assert "<li>SAVINGS: 1.10%</li><li>CD: 4.25%</li>" in client.get("/PublicRates").text


def test_required_configuration_comes_from_the_extensions_settings_file(client):
    assert client.get("/AccountDashboard").json()["fi_name"] == "Bank of Q2"


def test_optional_configuration_left_out_has_its_default(client):
    assert client.get("/AccountDashboard").json()["motto"] == "Banking, but local"


def test_sso_response_with_success_false_shows_the_end_user_error_message(client):
    response = client.get("/VendorSso?down=1")
    assert response.status == 200 and "The vendor is down for maintenance" in response.text


def test_sso_response_takes_the_documented_positional_arguments(client):
    response = client.get("/VendorSso")
    assert response.status == 302 and response.headers["Location"] == "https://vendor.example/in"


def test_caliper_get_with_args_and_kwargs_answers_the_envelope(client):
    body = client.get("/TestCustomEndpoint/products?product=7").json()
    assert body == {"data": {"args": ["products"], "product": "7"}, "success": True, "errors": []}


def test_audit_details_have_the_documented_fields(client):
    event = {
        "audit_id": 9, "audit_action": "FundsTransfer", "audit_uuid": "6f1c", "workstation": "ws-1",
        "action_id": 44, "client_address": "10.0.0.9", "hq_id": "HQ1", "end_date_time": 1700000000, "zone_id": 3,
    }
    assert client.post("/AuditWatcher", json=event).status == 200
    assert client.get("/AuditWatcher").json()["seen"] == [["6f1c", "ws-1", 44, "10.0.0.9", "HQ1", 1700000000, 3]]


def test_fx_rate_methods_get_currency_code_amount_and_group_id(client):
    request = {"currency_code": "EUR", "amount": "100.00", "group_id": 5}
    quote = client.post("/ConvertToDollars", json={"method": "get_fx_quote", "request": request}).json()
    booked = client.post("/ConvertToDollars", json={"method": "book_fx_quote", "request": request}).json()
    assert quote["response"]["quote_id"] == "Q-5" and quote["response"]["amount_usd"] == "200.0"
    assert booked["response"]["status"] == "booked"
"""


def _install(project: Path, sources: dict[str, str]) -> None:
    """Write the extensions (name -> extension.py) and list them in INSTALLED_EXTENSIONS."""
    names = list(sources)
    for name, source in sources.items():
        (project / name).mkdir()
        (project / name / "__init__.py").write_text("")
        (project / name / "extension.py").write_text(source.lstrip())
        (project / name / "urls.py").write_text(URLS.format(name=name, cls=f"{name}Handler"))
    listed = "".join(f'    "{name}",\n' for name in names)
    (project / "configuration" / "settings.py").write_text(f"DEBUG = True\nINSTALLED_EXTENSIONS = [\n{listed}]\n")


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("Q2EXT_", "PYTEST_"))}


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory) -> tuple[dict[str, str], str]:
    """The docs project's own test run: inner test name -> passed/failure/error, and its output."""
    project = make_project(tmp_path_factory.mktemp("docs") / "proj")
    _install(project, EXTENSIONS)
    for relative, text in OTHER_FILES.items():
        (project / relative).parent.mkdir(parents=True, exist_ok=True)
        (project / relative).write_text(text)
    (project / "tests").mkdir()
    (project / "tests" / "test_docs_names.py").write_text(INNER_TESTS)
    report = project.parent / "junit.xml"
    args = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={report}", "tests"]
    run = subprocess.run(args, cwd=project, env=_env(), capture_output=True, text=True, timeout=300)
    results = {}
    for case in ET.parse(report).iter("testcase"):
        failed = [child.tag for child in case if child.tag in ("failure", "error", "skipped")]
        results[case.get("name")] = failed[0] if failed else "passed"
    return results, run.stdout[-4000:] + run.stderr[-2000:]


INNER_NAMES = [line[4:].split("(")[0] for line in INNER_TESTS.splitlines() if line.startswith("def test_")]


@pytest.mark.parametrize("name", INNER_NAMES)
def test_docs_example_works(outcomes, name):
    results, output = outcomes
    assert results.get(name) == "passed", output


def test_old_unauthenticated_spelling_still_works_and_warns_once():
    from q2ext.handlers.online import Q2OnlineRequestHandler

    with pytest.warns(FutureWarning, match="write IS_UNAUTHENTICATED") as caught:

        class OldPage(Q2OnlineRequestHandler):
            UNAUTHENTICATED = True

    assert OldPage.IS_UNAUTHENTICATED is True
    assert len(caught) == 1


def test_is_unauthenticated_left_out_asks_for_a_session():
    from q2ext.handlers.online import Q2OnlineRequestHandler

    class Page(Q2OnlineRequestHandler):
        pass

    assert Page.IS_UNAUTHENTICATED is False


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start(project: Path) -> subprocess.CompletedProcess:
    """`python -m q2ext run` in the project: what `make run` and `q2 run` start (its last line is the refusal)."""
    args = [sys.executable, "-m", "q2ext", "run", "--port", str(_free_port())]
    return subprocess.run(args, cwd=project, env=_env(), capture_output=True, text=True, timeout=120)


def test_missing_required_configuration_stops_the_server_with_one_line(tmp_path):
    project = make_project(tmp_path / "proj")
    _install(project, {"AccountDashboard": EXTENSIONS["AccountDashboard"]})

    started = _start(project)

    assert started.returncode != 0 and "Traceback" not in started.stderr
    assert started.stderr.strip().splitlines()[-1:] == [
        "error: AccountDashboard needs 'fi_name' (REQUIRED_CONFIGURATIONS of AccountDashboardHandler) in "
        "configuration/AccountDashboard.py: run `q2 generate_config AccountDashboard` to write the defaults "
        "there, then set the values"
    ]


def test_generate_config_writes_the_defaults_the_server_then_starts_with(tmp_path):
    project = make_project(tmp_path / "proj")
    _install(project, {"AccountDashboard": EXTENSIONS["AccountDashboard"]})

    from q2ext import q2cli

    cwd, path = Path.cwd(), list(sys.path)
    try:
        os.chdir(project)
        sys.path.insert(0, str(project))
        assert q2cli.main(["generate_config", "AccountDashboard"]) == 0
    finally:
        os.chdir(cwd)
        sys.path[:] = path  # q2's main() puts the project on sys.path too: later spawned processes inherit it
        for module in [m for m in sys.modules if m.split(".")[0] in ("AccountDashboard", "configuration")]:
            del sys.modules[module]

    written = (project / "configuration" / "AccountDashboard.py").read_text()
    assert "fi_name = 'Imaginary FI of Texas'\n" in written and "motto = 'Banking, but local'\n" in written


def test_two_handlers_of_one_message_type_stop_the_server_with_one_line_naming_both(tmp_path):
    project = make_project(tmp_path / "proj")
    bus = (
        "from q2_sdk.core.http_handlers.message_bus_handler import Q2MessageBusRequestHandler\n\n\n"
        "class {name}Handler(Q2MessageBusRequestHandler):\n    MESSAGE_TYPE = '{type}'\n"
    )
    _install(project, {name: bus.format(name=name, type="Lowercase") for name in ("AllCaps", "Shouting")})

    started = _start(project)

    assert started.returncode != 0 and "Traceback" not in started.stderr
    assert started.stderr.strip().splitlines()[-1:] == [
        "error: two handlers consume 'Lowercase' messages: AllCaps.extension.AllCapsHandler and "
        "Shouting.extension.ShoutingHandler; one type has one handler: remove one from INSTALLED_EXTENSIONS "
        "or give it another MESSAGE_TYPE"
    ]
