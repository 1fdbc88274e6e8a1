"""Build a runnable OpenClaw gateway image locally, without any container registry.

No base image is pulled: the root filesystem is assembled from what the npm target already caches
(the Node 24 binary from PyPI and the npm install of the release), plus the host's shared
libraries that node and the release's native addons need (found with `ldd`) and a minimal `/etc`.
It is streamed as a tar straight into Docker's image import (the docker SDK), which sets the
image config with Dockerfile-style `changes` lines.

The image mirrors the shape of the official `ghcr.io/openclaw/openclaw:<version>`: running it
with no command starts the gateway (`node openclaw.mjs gateway --allow-unconfigured` in `/app`),
configured by `OPENCLAW_CONFIG_PATH`, `OPENCLAW_STATE_DIR`, `OPENCLAW_GATEWAY_PORT` and friends.

    openclaw-conformance image build openclaw@2026.9.6 [--tag T] [--force]

A build is skipped when the tag already exists with this module's labels for the same version and
layout (`LABEL_VERSION`, `LABEL_FORMAT`): a second build is a cache hit.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from conformance.targets import npmcache as provisioning

DEFAULT_REPOSITORY = "openclaw-conformance/openclaw"
LABEL_VERSION = "openclaw-conformance.version"  # the OpenClaw release inside
LABEL_FORMAT = "openclaw-conformance.image-format"  # bump when the layout below changes
LABEL_BUILDER = "openclaw-conformance.builder"
OCI_VERSION = "org.opencontainers.image.version"
IMAGE_FORMAT = "1"

APP_DIR = "/app"  # the package folder (a symlink into RELEASE_DIR), as in the official image
RELEASE_DIR = "/opt/openclaw"  # the npm install root: RELEASE_DIR/node_modules/openclaw
NODE_PATH_IN_IMAGE = "/usr/local/bin/node"
GATEWAY_PORT = 18789  # the official default

IMPORT_TIMEOUT_S = 600.0
IMPORT_CHUNK = 1 << 20  # bytes of tar per write to the daemon
DOCKER_TIMEOUT_S = 60.0


class ImageBuildError(RuntimeError):
    """The image could not be built; the message says why."""


# ---------------------------------------------------------------------------------------------
# docker helpers


def docker_client(timeout: float = DOCKER_TIMEOUT_S) -> Any:
    """A `docker.DockerClient` of the local daemon (DOCKER_HOST and friends are respected).

    Raises ImageBuildError when the docker SDK is missing or no daemon answers.
    """
    try:
        import docker
        import requests
    except ImportError as exc:
        raise ImageBuildError(
            "the docker SDK is not installed (pip install 'openclaw-conformance[container]')"
        ) from exc
    try:
        # from_env already asks the daemon for its API version; ping is for a pinned version.
        client = docker.from_env(timeout=int(timeout))
        client.ping()
    except (docker.errors.DockerException, requests.RequestException) as exc:
        raise ImageBuildError(
            f"no Docker daemon answers (run scripts/ensure-docker): {_one_line(exc)}"
        ) from exc
    return client


def _one_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[-1] if lines else type(exc).__name__


def docker_unavailable_reason() -> str | None:
    """None when a Docker daemon answers, else why not (for skips and session errors)."""
    try:
        docker_client(timeout=20).close()
    except ImageBuildError as exc:
        return str(exc)
    return None


def image_labels(ref: str) -> dict[str, str] | None:
    """The labels of a local image, or None when there is no such image here."""
    import docker

    client = docker_client()
    try:
        return dict(client.images.get(ref).labels)
    except docker.errors.ImageNotFound:
        return None
    except docker.errors.APIError as exc:
        raise ImageBuildError(f"cannot inspect image {ref}: {_one_line(exc)}") from exc
    finally:
        client.close()


def default_tag(version: str) -> str:
    return f"{DEFAULT_REPOSITORY}:{version}"


def _is_cached(tag: str, version: str) -> bool:
    labels = image_labels(tag)
    return (
        labels is not None
        and labels.get(LABEL_VERSION) == version
        and labels.get(LABEL_FORMAT) == IMAGE_FORMAT
    )


# ---------------------------------------------------------------------------------------------
# root filesystem


def _ldd(paths: Sequence[Path]) -> set[Path]:
    """Every shared library (and the loader) that these ELF files need, as absolute host paths."""
    found: set[Path] = set()
    for path in paths:
        try:
            out = subprocess.run(
                ["ldd", str(path)], capture_output=True, text=True, timeout=30, check=False
            ).stdout
        except (OSError, subprocess.TimeoutExpired):
            continue
        for line in out.splitlines():
            line = line.strip()
            # "libm.so.6 => /lib/x86_64-linux-gnu/libm.so.6 (0x...)" or "/lib64/ld-linux... (0x...)"
            target = line.split("=>", 1)[1].strip() if "=>" in line else line
            target = target.split(" (", 1)[0].strip()
            if target.startswith("/"):
                found.add(Path(target))
    return found


def _native_addons(release_root: Path) -> list[Path]:
    """The release's native addons that can load here (glibc Linux on this architecture)."""
    arch = {"x86_64": "x64", "aarch64": "arm64"}.get(os.uname().machine, os.uname().machine)
    addons = []
    for path in (release_root / "node_modules").rglob("*.node"):
        text = str(path)
        if "darwin" in text or "win32" in text or "musl" in text:
            continue
        if "linux" in text and arch not in text:
            continue
        addons.append(path)
    return addons


def _copy_into(root: Path, host_path: Path) -> None:
    """Copy a host file to the same absolute path under `root`, following symlinks."""
    dest = root / str(host_path).lstrip("/")
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(host_path.resolve(), dest)


def _link_or_copy(src: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dest)  # same filesystem: free
    except OSError:
        shutil.copy2(src, dest)


def assemble_rootfs(staging: Path, node: Path, release_root: Path) -> None:
    """Everything of the image except the release itself (streamed from the cache by tar)."""
    _link_or_copy(node.resolve(), staging / NODE_PATH_IN_IMAGE.lstrip("/"))
    libraries = _ldd([node, *_native_addons(release_root)])
    # A shell for whatever the gateway may spawn via `sh -c` (dash is tiny; glibc is already in).
    shell = Path("/bin/sh")
    if shell.exists():
        libraries |= _ldd([shell.resolve()])
    for lib in sorted(libraries):
        _copy_into(staging, lib)
    if shell.exists():
        (staging / "bin").mkdir(parents=True, exist_ok=True)
        shutil.copy2(shell.resolve(), staging / "bin" / "sh")

    etc = staging / "etc"
    etc.mkdir(exist_ok=True)
    (etc / "passwd").write_text(
        "root:x:0:0:root:/root:/bin/sh\n"
        "node:x:1000:1000:node:/home/node:/bin/sh\n"
        "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
    )
    (etc / "group").write_text("root:x:0:\nnode:x:1000:\nnogroup:x:65534:\n")
    (etc / "nsswitch.conf").write_text("passwd: files\ngroup: files\nhosts: files dns\n")
    for name in ("hosts", "resolv.conf", "hostname"):  # docker bind-mounts its own over these
        (etc / name).touch()
    certs = Path("/etc/ssl/certs/ca-certificates.crt")
    if certs.is_file():
        (etc / "ssl" / "certs").mkdir(parents=True, exist_ok=True)
        shutil.copy2(certs, etc / "ssl" / "certs" / "ca-certificates.crt")
    folders = {"tmp": 0o1777, "root": 0o700, "home/node": 0o755, "dev": 0o755, "proc": 0o755,
               "sys": 0o755, "usr/bin": 0o755, "opt": 0o755}  # fmt: skip
    for d, mode in folders.items():
        (staging / d).mkdir(parents=True, exist_ok=True)
        (staging / d).chmod(mode)
    with contextlib.suppress(OSError):
        os.chown(staging / "home" / "node", 1000, 1000)
    # /app is the package folder, as in the official image; node resolves the symlink itself.
    (staging / APP_DIR.lstrip("/")).symlink_to(f"{RELEASE_DIR}/node_modules/{provisioning.PACKAGE}")
    # `env node` style shebangs look on PATH; /usr/bin/env does not exist, so no shebang runs.


def _changes(version: str) -> list[str]:
    labels = {
        LABEL_VERSION: version,
        LABEL_FORMAT: IMAGE_FORMAT,
        LABEL_BUILDER: "openclaw-conformance image build",
        OCI_VERSION: version,
        "org.opencontainers.image.title": "openclaw",
    }
    return [
        "ENV PATH=/usr/local/bin:/usr/bin:/bin",
        "ENV HOME=/root",
        "ENV LANG=C.UTF-8",
        f"ENV OPENCLAW_GATEWAY_PORT={GATEWAY_PORT}",
        f"WORKDIR {APP_DIR}",
        f'ENTRYPOINT ["node", "{APP_DIR}/{provisioning.PACKAGE}.mjs"]',
        'CMD ["gateway", "--allow-unconfigured"]',
        f"EXPOSE {GATEWAY_PORT}",
        "LABEL " + " ".join(f"{k}={json.dumps(v)}" for k, v in labels.items()),
    ]


def _import(staging: Path, release_root: Path, tag: str, version: str) -> None:
    """`tar` the staging folder plus the cached release, streamed into Docker's image import.

    The ~700 MB tar is never held in memory: the API reads it chunk by chunk from tar's stdout.
    The import is untagged; the tag is set only once tar ended well and Docker reported no
    error, so a build cut short (tar killed, a timeout) never leaves a tagged partial image
    that a later build would take as already built. An untagged leftover is removed.
    """
    from docker.utils import parse_repository_tag

    tar_argv = [
        "tar", "-c", "--numeric-owner", "--owner=0", "--group=0",
        "-C", str(staging), ".",
        # The release comes straight from the cache (no 650 MB copy), renamed under RELEASE_DIR.
        "--transform", f"flags=r;s,^node_modules,{RELEASE_DIR.lstrip('/')}/node_modules,",
        "-C", str(release_root), "node_modules",
    ]  # fmt: skip
    repository, tag_name = parse_repository_tag(tag)
    deadline = time.monotonic() + IMPORT_TIMEOUT_S
    client = docker_client(timeout=IMPORT_TIMEOUT_S)
    failure: str | None = None
    image_id: str | None = None
    with tempfile.TemporaryFile() as tar_err:
        tar = subprocess.Popen(tar_argv, stdout=subprocess.PIPE, stderr=tar_err)
        try:
            assert tar.stdout is not None
            try:
                answer = client.api.import_image_from_stream(
                    _chunks(tar.stdout, deadline), changes=_changes(version)
                )
                failure = _import_error(answer)
                image_id = _imported_id(answer)
            except Exception as exc:
                if time.monotonic() >= deadline:
                    raise ImageBuildError(
                        f"docker import timed out after {IMPORT_TIMEOUT_S:.0f} s"
                    ) from exc
                failure = f"{type(exc).__name__}: {exc}"
            finally:
                tar.stdout.close()
        finally:
            if tar.poll() is None:
                tar.kill()
            tar.wait()
            complete = tar.returncode == 0 and failure is None and image_id is not None
            try:
                if complete:
                    client.api.tag(image_id, repository, tag_name)
                elif image_id is not None:
                    with contextlib.suppress(Exception):
                        client.api.remove_image(image_id, force=True)
            finally:
                client.close()
        tar_err.seek(0)
        tar_msg = tar_err.read().decode(errors="replace").strip()
    if tar.returncode != 0:
        raise ImageBuildError(
            f"tar of the root filesystem failed (exit {tar.returncode}): {tar_msg}"
        )
    if failure is not None:
        raise ImageBuildError(f"docker import failed: {failure.strip()[-2000:]}")
    if image_id is None:
        raise ImageBuildError(f"docker import answered no image id: {str(answer)[-500:]}")


def _chunks(stream: IO[bytes], deadline: float) -> Iterator[bytes]:
    """The tar, a MiB at a time; past the deadline the upload stops (and the import fails)."""
    while chunk := stream.read(IMPORT_CHUNK):
        if time.monotonic() >= deadline:
            raise ImageBuildError(f"docker import timed out after {IMPORT_TIMEOUT_S:.0f} s")
        yield chunk


def _imported_id(answer: Any) -> str | None:
    """The id of the imported image: the daemon's last `{"status": "sha256:..."}` line."""
    found = None
    for line in str(answer or "").splitlines():
        try:
            message = json.loads(line)
        except ValueError:
            continue
        status = message.get("status") if isinstance(message, dict) else None
        if isinstance(status, str) and status.startswith("sha256:"):
            found = status
    return found


def _import_error(answer: Any) -> str | None:
    """The error in the daemon's answer to an import (JSON progress lines), if any."""
    for line in str(answer or "").splitlines():
        try:
            message = json.loads(line)
        except ValueError:
            continue
        if isinstance(message, dict) and message.get("error"):
            return str(message["error"])
    return None


# ---------------------------------------------------------------------------------------------
# public API


def build_image(
    version: str,
    *,
    tag: str | None = None,
    cache: str | os.PathLike[str] | None = None,
    progress: provisioning.ProgressFn = print,
    force: bool = False,
) -> str:
    """Build (or find in Docker's cache) a gateway image of `openclaw@<version>`; return its tag.

    `version` may be `2026.9.6`, `openclaw@2026.9.6` or a dist-tag (resolved with npm). Raises
    ImageBuildError (Docker missing, import failed) or provisioning.ProvisioningError.
    """
    exact = provisioning.resolve_version(version, cache, progress)
    tag = tag or default_tag(exact)
    reason = docker_unavailable_reason()
    if reason:
        raise ImageBuildError(reason)
    if not force and _is_cached(tag, exact):
        progress(f"image {tag} (openclaw@{exact}) is already built")
        return tag

    lock = provisioning.cache_dir(cache) / "images" / f".{tag.replace('/', '_')}.lock"
    with provisioning._locked(lock, f"image {tag}", progress):
        if not force and _is_cached(tag, exact):  # a peer built it while we waited
            progress(f"image {tag} (openclaw@{exact}) is already built")
            return tag
        started = time.monotonic()
        progress(f"building image {tag} from openclaw@{exact} (no registry needed)...")
        node = provisioning.ensure_node(cache, progress)
        package = provisioning.ensure_release(exact, cache, progress)
        release_root = package.parent.parent  # <root>/node_modules/openclaw
        staging = Path(tempfile.mkdtemp(prefix="openclaw-image-"))
        try:
            progress("assembling the root filesystem (node, shared libraries, /etc)...")
            assemble_rootfs(staging, node, release_root)
            progress(f"importing into docker (release from {release_root})...")
            _import(staging, release_root, tag, exact)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        if not _is_cached(tag, exact):
            raise ImageBuildError(f"docker import reported success but {tag} has not our labels")
        progress(f"built image {tag} in {time.monotonic() - started:.1f} s")
    return tag
