#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Text written twice in the documentation: README.md and the manual's
topics (src/doc/*.md, or the files named). Each file is read as Markdown:
the lines of a paragraph or list item joined, then cut into sentences; a
code line and a table row are each one piece. A piece of 60 characters or
more (white space folded, inline marks dropped) that stands in two places,
in two files or twice in one, is printed with both places, and the exit
status is 1. The flag tables between <!-- flags: ... --> and
<!-- end flags --> are the program's own text (charnn help CMD --markdown)
and are left out: two commands share flags.

usage: tests/dupes.py [FILE.md...]   (default: README.md src/doc/*.md)
"""
import glob
import re
import sys

MIN = 60


def pieces(path):
    """(line number, text) of each sentence, code line and table row."""
    out, para, start, skip = [], [], 0, False

    def flush():
        text = " ".join(para)
        # sentences end at ". ", "? ", "! " or ": " before a capital or a mark
        for s in re.split(r"(?<=[.?!])\s+(?=[A-Z`(\"*])", text):
            out.append((start, s))
        para.clear()

    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if line.startswith("<!-- flags:"):
                skip = True
            if skip:
                if line.startswith("<!-- end flags"):
                    skip = False
                continue
            if line.startswith("    ") or line.startswith("|"):
                if para:
                    flush()
                out.append((n, line.strip()))
                continue
            if not line.strip() or line.startswith("#") or line.startswith("- "):
                if para:
                    flush()
                if line.startswith("- "):
                    para.append(line[2:].strip())
                    start = n
                continue
            if not para:
                start = n
            para.append(line.strip())
    if para:
        flush()
    return out


def norm(s):
    s = re.sub(r"[`*]", "", s)
    return re.sub(r"\s+", " ", s).strip()


def main():
    files = sys.argv[1:] or ["README.md"] + sorted(glob.glob("src/doc/*.md"))
    seen, dupes = {}, 0
    for path in files:
        for n, s in pieces(path):
            key = norm(s)
            if len(key) < MIN or set(key) <= set("|-: "):
                continue
            if key in seen:
                p, m = seen[key]
                print(f"{path}:{n} repeats {p}:{m}: {key[:100]}")
                dupes += 1
            else:
                seen[key] = (path, n)
    print(f"{dupes} repeated piece{'s' if dupes != 1 else ''} of {MIN} characters or more in "
          f"{len(files)} files")
    return 1 if dupes else 0


if __name__ == "__main__":
    sys.exit(main())
