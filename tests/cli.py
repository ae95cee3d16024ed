"""The ``renshi`` command line for tests: as its own process, or through the same entry point
in the test's process.

A fresh interpreter costs two to three seconds of imports per command. A test that is about
the command line runs at least one command as a real process (the installed script, its
environment, exit status and stderr); the commands around it that only set up or read back
go through :func:`renshi_here`, which runs ``api.cli.main`` with the same arguments and
environment and answers in the same shape.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

RENSHI = str(Path(sys.executable).parent / "renshi")


def renshi_process(
    db_url: str, *args: str, stdin: str = "", cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """The installed ``renshi`` command in a process of its own, as an operator runs it."""
    env = {**os.environ, "RENSHI_DATABASE_URL": db_url}
    return subprocess.run(
        [RENSHI, *args], capture_output=True, text=True, env=env, input=stdin, cwd=cwd, timeout=120
    )


def renshi_here(db_url: str, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """``renshi`` run in this process through its entry point: the exit status, stdout and
    stderr it gives. An exception the command did not turn into an exit status is raised
    here (a real process would print its traceback and exit 1)."""
    from api.cli import main

    result = CliRunner().invoke(
        main, list(args), env={"RENSHI_DATABASE_URL": db_url}, input=stdin or None
    )
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return subprocess.CompletedProcess(
        ["renshi", *args], result.exit_code, result.stdout, result.stderr
    )
