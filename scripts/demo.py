"""`make demo`: the seed's Message Bus tutorial end to end, printed as it goes, ending in HELLO WORLD.

Bakes AllCaps (Message Bus, Lowercase) with cookiecutter into a temporary folder, adds SendToBus with
`make extension`, writes the tutorial's handle() and get(), serves with `make run LOG=DEBUG` on a free port,
requests /SendToBus, prints the tutorial's log lines, and stops. `--keep` leaves the project for a look.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

import seed_tutorial as tutorial


def step(text: str) -> None:
    print(f"\n$ {text}", flush=True)


def check(result, what: str) -> None:
    """Stop with the command's own output when a step fails."""
    if result.returncode != 0:
        sys.exit(f"{what} failed (exit {result.returncode}):\n{result.stdout}{result.stderr}")
    print(result.stdout.rstrip(), flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="keep the baked project and print where it is")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="q2ext-demo-"))
    try:
        return walk(workdir)
    finally:
        if args.keep:
            print(f"\nthe project is in {workdir / tutorial.NAME}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def walk(workdir: Path) -> int:
    project = workdir / tutorial.NAME
    step(f"cookiecutter {tutorial.TEMPLATE} --no-input {' '.join(tutorial.ANSWERS)}")
    check(tutorial.bake(workdir), "cookiecutter")
    step(f"cd {project} && make extension NAME=SendToBus KIND=base    (first make sets up .venv: a minute or so)")
    check(tutorial.make(project, "extension", "NAME=SendToBus", "KIND=base"), "make extension")
    step("edit AllCaps/extension.py: handle() logs message.text.upper()")
    tutorial.write_handle(project)
    print(tutorial.HANDLE.rstrip())
    step("edit SendToBus/extension.py: import message_bus, get() pushes 'hello world' as a Lowercase message")
    tutorial.write_send_to_bus(project)
    print(tutorial.IMPORT + "...\n" + tutorial.GET.rstrip())
    port = tutorial.free_port()
    log_file = workdir / "run.log"
    step(f"make run LOG=DEBUG PORT={port}    and open http://localhost:{port}/SendToBus")
    with tutorial.serving(project, port, log_file) as base:
        status, _body = tutorial.http_get(f"{base}/SendToBus")
        print(f"GET /SendToBus -> {status}")
        log = tutorial.wait_for_log(log_file, "HELLO WORLD")
    lines = tutorial.seed_lines(log, port)
    print("\n" + tutorial.show_lines(log, port))
    if len(lines) != len(tutorial.SEED_LINES) or status != 200:
        print(f"\nexpected all {len(tutorial.SEED_LINES)} of the tutorial's lines; the whole log:\n{log}")
        return 1
    print("\nWell done! The encrypted message was sent to AllCaps, which logged it in capitals.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
