"""python -m environments: freeze, diff, list, build, test, seed, dockerfile, image, promote."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from environments import build as builder
from environments import core, image


def cmd_list(args: argparse.Namespace) -> int:
    for name in core.names():
        for version in core.versions(name):
            env = core.EnvVersion(name, version)
            spec = env.spec()
            lock = env.lock() if env.lock_path.exists() else None
            pins = f"{len(lock.pins)} pinned, lock {lock.short_digest}" if lock else "not frozen"
            print(f"{name:<10} {version:<10} python {spec.python}  {pins}  {spec.description}")
    return 0


def cmd_freeze(args: argparse.Namespace) -> int:
    env, report = core.freeze(args.name, args.version, args.from_version, args.add, args.remove)
    (env.path / "Dockerfile").write_text(image.render_dockerfile(env))  # the image follows the lock
    print(f"froze {env.label()} into {env.path}")
    print(report)
    return 0


def cmd_diff(args: argparse.Namespace) -> int:
    new = core.get(args.name, args.version)
    old = core.get(args.name, args.against) if args.against else core.previous(new.name, new.version)
    if old is None:
        print(f"{new.label()}: first version, nothing to compare with")
        return 0
    print(core.diff_pins(old.lock().pins, new.lock().pins).render(old.label(), new.label()))
    return 0


def _targets(args: argparse.Namespace) -> list[core.EnvVersion]:
    if args.name:
        return [core.get(args.name, args.version)]
    return [core.EnvVersion(n, v) for n in core.names() for v in core.versions(n)]


def cmd_build(args: argparse.Namespace) -> int:
    for env in _targets(args):
        built = builder.build(env, fresh=args.fresh)
        how = "reused (lock unchanged)" if built.cached else "installed"
        print(f"{env.label()}: {how} {built.venv} in {built.seconds:.1f} s")
    return 0


def cmd_test(args: argparse.Namespace) -> int:
    aws_env = builder.aws_environment()
    for env in _targets(args):
        built = builder.build(env, fresh=args.fresh)
        ran = builder.smoke(built, aws_env)
        print(f"{env.label()}: {len(ran)} notebook(s) passed: {', '.join(ran)}")
    return 0


def cmd_seed(args: argparse.Namespace) -> int:
    aws_env = builder.aws_environment()
    built = builder.build(core.get(args.name, args.version))
    for key in builder.seed_public_data(built, aws_env):
        print(f"s3://{builder.PUBLIC_BUCKET}/{key}")
    return 0


def cmd_dockerfile(args: argparse.Namespace) -> int:
    env = core.get(args.name, args.version)
    text = image.render_dockerfile(env)
    if args.check:
        committed = env.path / "Dockerfile"
        unpinned = image.unpinned_from_lines(committed.read_text()) if committed.exists() else []
        if unpinned:
            raise core.EnvError(f"{committed}: FROM without a sha256 digest: {'; '.join(unpinned)}")
        if not committed.exists() or committed.read_text() != text:
            raise core.EnvError(f"{committed} is not what the spec renders; run freeze or dockerfile -o")
        placeholder = image.PLACEHOLDER_DIGEST in text
        print(f"{committed}: up to date" + (" (base image digest: the placeholder)" if placeholder else ""))
        return 0
    if args.output:
        Path(args.output).write_text(text)
        print(f"wrote {args.output}")
    else:
        sys.stdout.write(text)
    return 0


def cmd_promote(args: argparse.Namespace) -> int:
    result = image.promote(
        args.name,
        args.version,
        args.to,
        repository_prefix=args.repository_prefix,
        region=args.region,
        check=args.check,
    )
    if not result.changed:
        print(
            f"{result.repository}:{result.channel} already is {result.source_tag} "
            f"({result.digest}); no change"
        )
    else:
        verb = "would retag" if args.check else "retagged"
        print(f"{verb} {result.repository}:{result.source_tag} as {result.channel} ({result.digest})")
    print(f'inventory: image_pipeline_promoted: {{{args.name}: {{{args.to}: "{args.version}"}}}}')
    return 0


def cmd_image(args: argparse.Namespace) -> int:
    import boto3

    try:  # the image is built on this machine by the development distribution's local machines
        from emulator import environment_image
    except ImportError:
        raise core.EnvError(
            "`image` builds on this machine with the development install (make setup); a site builds its "
            "images in CodeBuild with the image_pipeline role (playbooks/images.yml)"
        ) from None
    env = core.get(args.name, args.version)
    aws_env = builder.aws_environment() if args.push else {}
    region = args.region or aws_env.get("AWS_DEFAULT_REGION") or "us-east-1"
    registry = args.registry
    if not registry:
        if not args.push:
            raise core.EnvError(
                "--registry is needed without --push (e.g. ACCOUNT.dkr.ecr.REGION.amazonaws.com)"
            )
        sts = boto3.client(
            "sts",
            region_name=region,
            endpoint_url=aws_env["AWS_ENDPOINT_URL"],
            aws_access_key_id=aws_env.get("AWS_ACCESS_KEY_ID"),
            aws_secret_access_key=aws_env.get("AWS_SECRET_ACCESS_KEY"),
        )
        registry = f"{sts.get_caller_identity()['Account']}.dkr.ecr.{region}.amazonaws.com"
    archive = environment_image.image(env, registry, args.repository_prefix)
    names = environment_image.image_names(env, registry, args.repository_prefix)
    print(f"{env.label()}: image {archive} ({archive.stat().st_size >> 20} MiB): {', '.join(names)}")
    if args.push:
        pushed = environment_image.push(archive, aws_env["AWS_ENDPOINT_URL"])
        nodes = ", ".join(pushed["nodes"]) or "none running yet (new nodes load it as they start)"
        print(f"pushed to the emulated ECR as {pushed['imageDigest']}; loaded on nodes: {nodes}")
    return 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="python -m environments", description=__doc__)
    sub = top.add_subparsers(dest="command", required=True)

    p = sub.add_parser("list", help="every environment version, its Python and lock digest")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("freeze", help="resolve a spec into a new version's lock and show what changed")
    p.add_argument("name")
    p.add_argument("--version", required=True, help="the new version, YEAR.MONTH[.N]")
    p.add_argument("--from", dest="from_version", help="copy spec and notebooks from this version first")
    p.add_argument("--add", action="append", help="add or replace a requirement (repeatable)")
    p.add_argument("--remove", action="append", help="remove a package from the spec (repeatable)")
    p.set_defaults(func=cmd_freeze)

    p = sub.add_parser("diff", help="packages added, removed, upgraded against the previous version")
    p.add_argument("name")
    p.add_argument("version", nargs="?")
    p.add_argument("--against", help="compare with this version instead of the previous one")
    p.set_defaults(func=cmd_diff)

    for command, func, text in (
        ("build", cmd_build, "install the lock into a cached venv (--require-hashes)"),
        (
            "test",
            cmd_test,
            "build, then run the smoke notebooks against S3 (emulated or AWS_ENDPOINT_URL)",
        ),
    ):
        p = sub.add_parser(command, help=text)
        p.add_argument("name", nargs="?", help="default: every environment version")
        p.add_argument("version", nargs="?", help="default: the newest version")
        p.add_argument("--fresh", action="store_true", help="ignore the cached venv and reinstall")
        p.set_defaults(func=func)

    p = sub.add_parser(
        "seed",
        help="write the test FITS files into the public bucket (emulated S3, or AWS_ENDPOINT_URL) with the "
        "environment's own astropy",
    )
    p.add_argument("name")
    p.add_argument("version", nargs="?")
    p.set_defaults(func=cmd_seed)

    p = sub.add_parser("dockerfile", help="render the image's Dockerfile from the spec")
    p.add_argument("name")
    p.add_argument("version", nargs="?")
    p.add_argument("--output", "-o")
    p.add_argument("--check", action="store_true", help="fail unless the committed Dockerfile is current")
    p.set_defaults(func=cmd_dockerfile)

    p = sub.add_parser(
        "image", help="build the image here without Docker; --push puts it in the emulated ECR and its nodes"
    )
    p.add_argument("name")
    p.add_argument("version", nargs="?")
    p.add_argument(
        "--registry", help="default with --push: ACCOUNT.dkr.ecr.REGION.amazonaws.com of the caller"
    )
    p.add_argument("--repository-prefix", default=image.DEFAULT_REPOSITORY_PREFIX)
    p.add_argument("--region")
    p.add_argument(
        "--push", action="store_true", help="push into the emulator (its endpoint file or AWS_ENDPOINT_URL)"
    )
    p.set_defaults(func=cmd_image)

    p = sub.add_parser("promote", help="retag a built, tested image as dev or stable (ECR, no rebuild)")
    p.add_argument("name")
    p.add_argument("version")
    p.add_argument("--to", choices=image.CHANNELS, default="stable")
    p.add_argument("--repository-prefix", default=image.DEFAULT_REPOSITORY_PREFIX)
    p.add_argument("--region")
    p.add_argument("--check", action="store_true", help="say what would change, change nothing")
    p.set_defaults(func=cmd_promote)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except core.EnvError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
