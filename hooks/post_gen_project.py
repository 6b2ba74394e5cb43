"""After cookiecutter wrote the project: vendor the runtime, add the first extension, record the template."""

import json
import sys
import tempfile
from pathlib import Path

HOOK = Path(__file__).resolve()
if HOOK.parent == Path(tempfile.gettempdir()).resolve():  # cookiecutter's rendered copy, which it leaves behind
    HOOK.unlink(missing_ok=True)

ANSWERS = json.loads(r"""
{{ cookiecutter | q2ext_answers | tojson }}
""")
SOURCE = json.loads(r"""
{{ {
    "template_dir": cookiecutter._repo_dir | default(q2ext_template_root()),
    "template": cookiecutter._template | default(none),
    "checkout": cookiecutter._checkout | default(none),
    "output_dir": cookiecutter._output_dir | default(none),
    "driven_by_cruft": cookiecutter._commit is defined,
} | tojson }}
""")

sys.path.insert(0, str(Path(SOURCE["template_dir"]) / "hooks"))
from q2ext_bake import finish  # noqa: E402

sys.exit(finish(Path.cwd(), ANSWERS, SOURCE))
