"""The server process a benchmark starts: ``python -m bench.server MODE --port N``.

``yutang`` is the real ``yutang serve --no-worker``; ``raw`` and ``tortoise`` are the bare
baselines of :mod:`bench.baselines`, ``marketing`` those of :mod:`bench.bare_marketing`,
under the same uvicorn settings (one worker, uvloop,
httptools, no access log). The database and plugins file come from ``YUTANG_*``.
"""

from __future__ import annotations

import argparse


def main() -> None:
    """Serve one mode until terminated."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("mode", choices=["yutang", "raw", "tortoise", "marketing"])
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    if args.mode == "yutang":
        from yutang.cli import main as yutang

        yutang(["serve", "--no-worker", "--host", "127.0.0.1", "--port", str(args.port)])
        return
    import uvicorn

    from bench import bare_marketing, baselines
    from yutang.core.settings import AppSettings

    settings = AppSettings.from_env()
    uvicorn.run(
        bare_marketing.create_app(settings)
        if args.mode == "marketing"
        else baselines.create_app(args.mode, settings),
        host="127.0.0.1",
        port=args.port,
        log_level="warning",
        access_log=False,
    )


if __name__ == "__main__":
    main()
