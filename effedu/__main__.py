"""effedu's commands (``course.py`` calls them inside the course's virtual environment).

    python -m effedu scorecard [--out FILE] [--device cpu|cuda]
    python -m effedu class FILE [FILE …] [--out PAGE]
    python -m effedu reference [--lessons 00 01 …]
    python -m effedu html [--lessons 00 01 …] [--student]
    python -m effedu advise PACKAGE.MODULE:FUNCTION --input 1,3,224,224 [--device cuda] [--threads N] [--html FILE]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ._console import printable


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m effedu", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    card = commands.add_parser("scorecard", help="the course's headline experiments on this machine")
    card.add_argument("--out", help="where to save the JSON file (default: a name from the machine)")
    card.add_argument("--device", help="cpu or cuda (default: the GPU when there is one)")
    card.add_argument("--threads", type=int, default=1)
    card.add_argument("--processes", type=int, default=None, help="fresh processes per experiment (default 5)")
    card.add_argument("--no-pin", action="store_true", help="leave glibc's allocator as it comes (see the README)")
    card.add_argument("--one-process", action="store_true", help=argparse.SUPPRESS)  # a measuring child
    card.add_argument("--keys", nargs="*", help=argparse.SUPPRESS)
    merge = commands.add_parser("class", help="merge scorecard files into one HTML page")
    merge.add_argument("files", nargs="+", help="scorecard files, or folders holding them")
    merge.add_argument("--out", default="class-scorecard.html")
    for name in ("reference", "html"):
        sub = commands.add_parser(name, help=f"run the lessons: {name}")
        sub.add_argument("--lessons", nargs="*", help="lesson numbers, e.g. 00 03 (default: all)")
        sub.add_argument("--out-dir", help="where to write (default: instructor/reference or site)")
        if name == "html":
            sub.add_argument("--student", action="store_true", help="the student edition: no solutions")
    advise = commands.add_parser("advise", help="the design advisor on any CNN")
    advise.add_argument("model", help="package.module:function that returns the model, e.g. effedu.models:resnet50")
    advise.add_argument("--input", required=True, help="the input shape, e.g. 1,3,224,224")
    advise.add_argument("--device", help="cpu or cuda (default: where the model's parameters are)")
    advise.add_argument("--threads", type=int, default=1)
    advise.add_argument("--html", help="also write an HTML report with the time-share plot")
    advise.add_argument("--compile", action="store_true", help="also time torch.compile (tens of seconds)")
    args = parser.parse_args(argv)
    printable()  # a cp1252 console gets stand-ins for ✗, ⚠ and →, never a UnicodeEncodeError

    if args.command == "scorecard":
        from . import scorecard  # `python -m effedu` has imported the package (torch too), not the compiler

        if args.one_process:  # one of scorecard.in_processes' measuring processes: results to --out, nothing shown
            measured = scorecard.one_process(args.keys or list(scorecard.EXPERIMENTS), args.device, args.threads,
                                             pin=not args.no_pin)
            Path(args.out).write_text(json.dumps(measured), encoding="utf-8")
            return 0
        result = scorecard.run(device=args.device, threads=args.threads, pin=not args.no_pin,
                               processes=args.processes or scorecard.PROCESSES)
        print(scorecard.table(result).to_string())
        for line in scorecard.unstable_notes(result):
            print(f"unstable — {line}")
        print(f"allocator: {result['allocator']['library']}, {result['allocator']['settings']}")
        try:
            out = scorecard.save(result, Path(args.out) if args.out else None)
        except FileExistsError as err:
            print(f"effedu scorecard: {err}", file=sys.stderr)
            return 2
        print(f"measured in {result['seconds']:.0f} s; saved {out} — share it with your instructor "
              "(it holds the machine description and the results, nothing else)")
    elif args.command == "class":
        from . import scorecard
        from ._text import plural

        cards, problems = scorecard.load(args.files)
        for problem in problems:
            print(f"skipped {problem}", file=sys.stderr)
        Path(args.out).write_text(scorecard.class_page(args.files), encoding="utf-8")
        print(f"{plural(len(cards), 'scorecard')} merged into {args.out}")
    elif args.command == "advise":
        from . import advisor

        try:
            model, shape = advisor.build_from(args.model), advisor.parse_shape(args.input)
            findings = advisor.advise(model, shape, device=args.device, threads=args.threads, compile=args.compile,
                                     name=args.model)
        except (TypeError, ValueError, RuntimeError) as err:
            print(f"effedu advise: {err}", file=sys.stderr)
            return 2
        print(findings.attrs["summary"].replace("**", ""))
        for number, sentence in enumerate(findings["sentence"], 1):
            print(f"{number}. {sentence.replace('**', '')}")
        if args.html:
            Path(args.html).write_text(advisor.report_html(findings, args.model), encoding="utf-8")
            print(f"wrote {args.html}")
    else:
        from . import lessons

        where = {"out_dir": Path(args.out_dir)} if args.out_dir else {}
        target = (lessons.reference(args.lessons, **where) if args.command == "reference"
                  else lessons.site(args.lessons, student=args.student, **where))
        print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
