"""Turning `--gateway SPEC` (and friends) into a Target."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from conformance.targets.base import Target, TargetUnavailable
from conformance.targets.netns import Netns


@dataclass(frozen=True)
class TargetRequest:
    gateway: str = "reference"
    url: str | None = None
    token: str | None = None
    password: str | None = None
    image: str | None = None
    allowed_origins: tuple[str, ...] = ()
    allow_pairing: bool = False
    cache_dir: str | None = None
    auth: str | None = None
    trusted_proxies: tuple[str, ...] | None = None
    config_file: str | None = None
    reuse: bool = True  # npm: switch running gateways between configs


def make_target(
    req: TargetRequest, *, netns: Netns | None, progress: Callable[[str], None]
) -> Target:
    if req.image:
        from conformance.targets.container import ContainerTarget

        return ContainerTarget(req.image, progress=progress, cache_dir=req.cache_dir)
    if req.url:
        from conformance.targets.url import UrlTarget

        return UrlTarget(
            req.url,
            token=req.token,
            password=req.password,
            auth_mode=req.auth,
            allowed_origins=req.allowed_origins,
            trusted_proxies=req.trusted_proxies,
            config_file=req.config_file,
            allow_pairing=req.allow_pairing,
            progress=progress,
        )
    spec = req.gateway
    name, _, version = spec.partition("@")
    if name == "reference":
        from conformance.targets.reference import ReferenceTarget

        return ReferenceTarget(version or "current", netns=netns, progress=progress)
    if name == "openclaw":
        try:
            from conformance.targets.npm import NpmTarget
        except ImportError as exc:  # pragma: no cover - only while the npm target is absent
            raise TargetUnavailable(
                f"--gateway {spec}: the npm target is not available: {exc}"
            ) from exc
        return NpmTarget(
            version or "latest",
            cache_dir=req.cache_dir,
            progress=progress,
            netns=netns,
            reuse=req.reuse,
        )
    raise TargetUnavailable(
        f"--gateway {spec!r}: expected reference, reference@<profile> or openclaw@<version>"
    )
