"""Command line: ``mapreg demo`` (more subcommands arrive with the CLI issue)."""

from __future__ import annotations

import argparse
import sys


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="mapreg", description="A penalty is a prior.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("demo", help="verify the prior/penalty equivalence on the diabetes data")
    args = parser.parse_args(argv)
    if args.command == "demo":
        from mapreg.demo import print_equivalence_demo

        return 0 if print_equivalence_demo() else 1
    return 2


if __name__ == "__main__":
    sys.exit(main())
