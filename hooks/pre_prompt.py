"""Before cookiecutter reads the answers: let bad command-line answers reach the one-line validation.

cookiecutter runs this in a temporary copy of the template, so editing its cookiecutter.json is safe. The
copy is marked as one, for local_extensions.py to remove at exit (cookiecutter 2.7 leaves it behind).
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from q2ext_bake import TEMPORARY_COPY_MARK, parent_argv, prepare_context_file  # noqa: E402

(Path.cwd() / TEMPORARY_COPY_MARK).touch()
try:
    prepare_context_file(Path.cwd() / "cookiecutter.json", parent_argv())
except Exception as exc:  # noqa: BLE001 - this hook only sharpens error messages; it must never stop a bake
    print(f"note: could not read cookiecutter's command line ({exc})", file=sys.stderr)
