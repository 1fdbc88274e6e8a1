"""`openclaw-conformance image build openclaw@VERSION`: a runnable gateway image built locally,
without any registry (the library is `conformance.targets.image`)."""

from __future__ import annotations

import argparse
import sys

from conformance.targets import image as images
from conformance.targets import npmcache as provisioning


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "image",
        help="container images (image build openclaw@VERSION)",
        description="Build a runnable OpenClaw gateway image locally, without any registry.",
    )
    actions = parser.add_subparsers(dest="image_command", required=True, metavar="ACTION")
    build = actions.add_parser(
        "build",
        help="build openclaw@<version> into a local image",
        description="Build openclaw@<version> into a local image and print its tag.",
    )
    build.add_argument(
        "release", metavar="RELEASE", help="openclaw@<version>, <version> or a dist-tag"
    )
    build.add_argument("--tag", help=f"image tag (default {images.DEFAULT_REPOSITORY}:<version>)")
    build.add_argument(
        "--cache", metavar="DIR", help="cache folder (default $OPENCLAW_CONFORMANCE_CACHE)"
    )
    build.add_argument("--force", action="store_true", help="rebuild even when the tag exists")
    build.set_defaults(run=run_build)
    return parser


def run_build(args: argparse.Namespace) -> int:
    """Progress on stderr and the tag alone on stdout, for `tag=$(openclaw-conformance ...)`."""

    def progress(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    try:
        tag = images.build_image(
            args.release, tag=args.tag, cache=args.cache, progress=progress, force=args.force
        )
    except (images.ImageBuildError, provisioning.ProvisioningError) as exc:
        print(f"openclaw-conformance image build: {exc}", file=sys.stderr)
        return 1
    print(tag)
    return 0
