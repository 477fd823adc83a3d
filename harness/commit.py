"""The commit a run measured: sha, branch, dirty flag, commit and author time and project, as
``git`` reports them for the checkout that holds the scenario (or the working directory).

The facts pytest-benchmark records as ``commit_info``, from one place, so results, baseline
entries, the report and the export name the same commit. Never raises: outside a git
repository, without ``git``, or when git fails, there is no commit (``None``), and the run
goes on. Uncommitted changes to tracked files make the checkout dirty; untracked files do
not (``git describe --dirty`` counts the same way).
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import Any

# Keys as pytest-benchmark names them, except the commit's id, which is ``sha`` here.
KEYS = ("sha", "branch", "dirty", "time", "author_time", "project")
GIT_TIMEOUT_S = 10.0


def _git(folder: Path, *args: str) -> str | None:
    # GIT_OPTIONAL_LOCKS=0: `git status` must not take the index lock of a checkout that
    # someone else is working in while the benchmark runs.
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0", "GIT_TERMINAL_PROMPT": "0"}
    try:
        done = subprocess.run(["git", *args], cwd=folder, capture_output=True, text=True,
                              timeout=GIT_TIMEOUT_S, env=env, check=False)
    except (OSError, subprocess.SubprocessError, ValueError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def _project(folder: Path, toplevel: str) -> str:
    # As pytest-benchmark: the last part of the origin's address, else the checkout's folder.
    url = _git(folder, "config", "--get", "remote.origin.url")
    parts = [p for p in re.split(r"[/:\s\\]|\.git$", url or "") if p]
    return parts[-1] if parts else Path(toplevel).name


def commit_info(where: str | os.PathLike[str] | None = None) -> dict[str, Any] | None:
    """The commit checked out where ``where`` lies (a file or a folder; default: the working
    directory), or None when there is none to say."""
    try:
        folder = Path(where) if where is not None else Path.cwd()
        if not folder.is_dir():
            folder = folder.parent
        if not folder.is_dir():
            return None
    except OSError:
        return None
    sha = _git(folder, "rev-parse", "--verify", "--quiet", "HEAD")
    toplevel = _git(folder, "rev-parse", "--show-toplevel")
    if not sha or toplevel is None:
        return None
    branch = _git(folder, "rev-parse", "--abbrev-ref", "HEAD")
    status = _git(folder, "status", "--porcelain", "--untracked-files=no")
    times = (_git(folder, "show", "-s", "--format=%cI%n%aI", "HEAD") or "").splitlines()
    return {"sha": sha, "branch": None if branch in (None, "HEAD") else branch,
            "dirty": bool(status) if status is not None else None,
            "time": times[0] if times else None,
            "author_time": times[1] if len(times) > 1 else None,
            "project": _project(folder, toplevel)}


def short(commit: dict[str, Any] | None, length: int = 8) -> str | None:
    """``1a2b3c4d`` (``1a2b3c4d+`` when dirty) for tables and plot labels; None without one."""
    if not commit or not commit.get("sha"):
        return None
    return commit["sha"][:length] + ("+" if commit.get("dirty") else "")


def describe(commit: dict[str, Any] | None) -> str | None:
    """``1a2b3c4d (main, dirty)``: the commit in one phrase."""
    label = short(commit)
    if label is None:
        return None
    notes = [n for n in ((commit or {}).get("branch"),
                         "dirty" if (commit or {}).get("dirty") else None) if n]
    return f"{label.rstrip('+')}" + (f" ({', '.join(notes)})" if notes else "")


def _folder_name() -> str | None:
    try:
        return Path.cwd().name
    except OSError:
        return None


def to_pytest_benchmark(commit: dict[str, Any] | None) -> dict[str, Any]:
    """pytest-benchmark's ``commit_info`` (id, time, author_time, dirty, project, branch),
    with its own placeholders where there is no commit."""
    c = commit or {}
    return {"id": c.get("sha") or "unversioned", "time": c.get("time"),
            "author_time": c.get("author_time"), "dirty": bool(c.get("dirty")),
            "project": c.get("project") or _folder_name(),
            "branch": c.get("branch") or ("(detached head)" if c.get("sha") else "(unknown)")}
