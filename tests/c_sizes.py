#!/usr/bin/env python3
"""The project's size rules for its C half: no file over 500 lines, no function over 80.

Usage: c_sizes.py ROOT [DIR...] ; walks the .c and .h files below each DIR of the tree at
ROOT (engine, tools, tests and bench when none is named; any third_party directory is
skipped: vendored code keeps its own shape), prints every file and function past its limit
that ALLOWED does not name, and exits 1 when there is one. An ALLOWED entry that is no
longer over its limit is reported too, so that the list only shrinks. A function runs from
the line of its name to its closing brace; functions are found by brace depth, with
comments, string and character literals and preprocessor lines skipped. Fewer functions
found than .c files read fails too: a reader that finds none would pass everything.
"""
import os
import re
import sys

MAX_FILE, MAX_FUNCTION = 500, 80

# What cannot be split now, each with its reason: "path" for a file, "path:function" for a
# function (paths from ROOT).
ALLOWED = {}

DEFAULT_DIRS = ["engine", "tools", "tests", "bench"]


def c_files(root):
    found = []
    for top, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d != "third_party" and not d.startswith("."))
        found += [os.path.join(top, f) for f in sorted(files) if f.endswith((".c", ".h"))]
    return found


def code_only(text):
    """text with comments, string and character literals and preprocessor lines blanked
    (newlines kept, so line numbers hold)."""
    out, i, n = [], 0, len(text)
    at_line_start = True
    while i < n:
        c = text[i]
        if at_line_start and c in " \t":
            out.append(c)
            i += 1
            continue
        if at_line_start and c == "#":  # a directive, with its continuation lines
            while i < n and text[i] != "\n":
                if text[i] == "\\" and i + 1 < n and text[i + 1] == "\n":
                    out.append("\n")
                    i += 2
                    continue
                i += 1
            continue
        at_line_start = False
        if text.startswith("/*", i):
            stop = text.find("*/", i + 2)
            stop = n if stop < 0 else stop + 2
            out.append(re.sub(r"[^\n]", " ", text[i:stop]))
            i = stop
        elif text.startswith("//", i):
            stop = text.find("\n", i)
            i = n if stop < 0 else stop
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            out.append(" ")
            i = j + 1
        else:
            out.append(c)
            at_line_start = c == "\n"
            i += 1
    return "".join(out)


def functions(text):
    """(name, first line, lines) of every function definition."""
    code = code_only(text)
    found, depth, line = [], 0, 1
    head, head_line = "", None  # the top-level text since the last ';', '}' or '{'
    start = None
    for c in code:
        if c == "\n":
            line += 1
        if depth == 0:
            if c in ";}":
                head, head_line = "", None
                continue
            if c == "{":
                name = function_name(head)
                start = (name, name_line(head, name, head_line, line)) if name else None
                depth = 1
                head, head_line = "", None
                continue
            if head_line is None and not c.isspace():
                head_line = line
            if head_line is not None:
                head += c
        elif c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0 and start:
                found.append((start[0], start[1], line - start[1] + 1))
                start = None
    return found


def function_name(head):
    """The name a top-level '{' defines when it opens a function body, else None."""
    head = head.strip()
    if not head.endswith(")") or "=" in head:
        return None
    depth = 0
    for k in range(len(head) - 1, -1, -1):  # the '(' opening the parameter list
        if head[k] == ")":
            depth += 1
        elif head[k] == "(":
            depth -= 1
            if depth == 0:
                m = re.search(r"([A-Za-z_]\w*)\s*\)*\s*$", head[:k])
                return m.group(1) if m else None
    return None


def name_line(head, name, head_line, brace_line):
    """The line of name in head (head starts on head_line)."""
    m = re.search(r"\b%s\s*\(" % re.escape(name), head)
    return head_line + head[: m.start()].count("\n") if m else brace_line


def problems_of(path, shown):
    """(ALLOWED key, message) of each limit the file passes, and how many functions it defines."""
    with open(path, encoding="utf-8", errors="replace") as f:
        text = f.read()
    found = []
    lines = text.count("\n")
    if lines > MAX_FILE:
        found.append((shown, "%s: %d lines (at most %d)" % (shown, lines, MAX_FILE)))
    defined = functions(text)
    for name, first, count in defined:
        if count > MAX_FUNCTION:
            found.append(("%s:%s" % (shown, name),
                          "%s:%d: function %s is %d lines (at most %d)" % (shown, first, name, count, MAX_FUNCTION)))
    return found, len(defined)


def main(root, dirs):
    problems, seen, c_sources, defined = 0, set(), 0, 0
    for d in dirs:
        for path in c_files(os.path.join(root, d)):
            shown = os.path.relpath(path, root)
            found, count = problems_of(path, shown)
            c_sources += path.endswith(".c")
            defined += count
            for key, message in found:
                seen.add(key)
                if key in ALLOWED:
                    continue
                problems += 1
                print(message)
    if c_sources and defined < c_sources:  # fewer functions than .c files: the reader is broken
        problems += 1
        print("c sizes: %d functions found in %d .c files: the function reader missed them" % (defined, c_sources))
    for key in sorted(k for k in ALLOWED if k not in seen and k.split("/")[0] in dirs):
        problems += 1
        print("%s: allowed over the limits, and no longer over: take it off ALLOWED" % key)
    print("c sizes: every file and function within its limit" if problems == 0 else
          "c sizes: %d over the limits" % problems)
    return 0 if problems == 0 else 1


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: c_sizes.py ROOT [DIR...]")
    sys.exit(main(sys.argv[1], sys.argv[2:] or DEFAULT_DIRS))
