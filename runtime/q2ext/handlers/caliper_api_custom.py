"""Caliper API Custom Endpoint kind: get/post answering the Caliper API's {data, success, errors} envelope."""

from __future__ import annotations

import json
from typing import Any

from .base import Q2BaseRequestHandler


class Q2CaliperAPICustomHandler(Q2BaseRequestHandler):
    """A custom endpoint of the Caliper API: answer with self.write(self.return_data(data)).

    request_parameters merges query arguments and a JSON body; errors answer the same envelope with
    success false and errors [{"code": status, "message": reason}].
    """

    DESCRIPTION: str = ""

    def set_default_headers(self) -> None:
        self.set_header("Content-Type", "application/json; charset=UTF-8")

    @property
    def request_parameters(self) -> dict[str, Any]:
        """Query arguments (one value each) updated with the JSON body's fields."""
        params: dict[str, Any] = {name: self.get_argument(name) for name in self.request.query_arguments}
        params.update(self.json_body())
        return params

    def return_data(self, data: Any, success: bool = True, errors: list[dict[str, Any]] | None = None) -> dict:
        """The Caliper API envelope around data."""
        return {"data": data, "success": success, "errors": list(errors or [])}

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """Errors keep the envelope, so API clients parse one shape."""
        errors = [{"code": status_code, "message": self._reason}]
        self.finish(json.dumps(self.return_data({}, success=False, errors=errors)))
