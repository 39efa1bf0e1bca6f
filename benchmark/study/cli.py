"""`ulvr study make | serve | score` (imports nothing heavy at module level)."""

from __future__ import annotations

import argparse


def cmd_make(args: argparse.Namespace) -> int:
    """Build a study from a results store."""
    from benchmark.study.make import make_study

    manifest = make_study(args.store, args.out, args.targets, args.design, args.budget,
                          args.data_root)
    pairs = manifest["pairs"]
    checks = sum(p["attention"] for p in pairs)
    print(f"{len(pairs) - checks} pairs + {checks} attention checks in {args.out} "
          f"(serve it: ulvr study serve {args.out})")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    """Serve a study's page and record votes until Ctrl-C."""
    from benchmark.study.server import make_server

    server = make_server(args.folder, args.host, args.port)
    host, port = server.server_address[:2]
    print(f"study at http://{host}:{port}/ (votes: {args.folder}/votes.jsonl); Ctrl-C stops")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def cmd_score(args: argparse.Namespace) -> int:
    """Fit Bradley-Terry scores per dataset and rate band."""
    from benchmark.study.score import write_scores

    for path in write_scores(args.folder):
        print(path)
    return 0


def add_commands(sub: argparse._SubParsersAction, bpp_list, default_targets) -> None:
    """Add the `study` command group to the ulvr parser."""
    study = sub.add_parser("study", help="subjective study: make, serve, score")
    inner = study.add_subparsers(dest="study_command", required=True)
    make = inner.add_parser("make", help=cmd_make.__doc__)
    make.add_argument("store", help="results folder")
    make.add_argument("--out", required=True, help="study folder to write")
    make.add_argument("--targets", type=bpp_list, default=list(default_targets),
                      metavar="BPP,BPP,...", help="rate bands: methods within a factor 1.41 "
                      "of a target are compared")
    make.add_argument("--design", default="all", choices=("all", "active"),
                      help="every matched pair, or the --budget most uncertain ones")
    make.add_argument("--budget", type=int, help="pairs of the active design (default 20)")
    make.add_argument("--data-root", help="folder with the dataset files (or set ULVR_DATA)")
    make.set_defaults(func=cmd_make)
    serve = inner.add_parser("serve", help=cmd_serve.__doc__)
    serve.add_argument("folder")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default local)")
    serve.add_argument("--port", type=int, default=8000)
    serve.set_defaults(func=cmd_serve)
    score = inner.add_parser("score", help=cmd_score.__doc__)
    score.add_argument("folder")
    score.set_defaults(func=cmd_score)
