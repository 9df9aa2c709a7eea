"""Functions in the crate's Rust that run past a number of lines (issue 11: none past ~80).

    python3 tests/fn_length.py [--max 80] [PATH ...]     (default PATH: src/)
    python3 tests/fn_length.py --self-test

Prints `file:line: fn NAME is N lines (max M)` for each one and exits 1 if there is any.
A function's length runs from the line of its `fn` to the line of its closing brace, both
counted; a nested function or closure counts within the one holding it. Comments, strings
(raw ones too) and character literals are blanked first, so a brace inside them counts
for nothing. --self-test runs the checker on made-up sources, one over the limit, so
tests/lint.sh knows it can fail.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from pathlib import Path

FN = re.compile(r"\bfn\s+([A-Za-z_][A-Za-z0-9_]*)")
RAW_STRING = re.compile(r'b?r(#*)"')
# A char literal ('{', '\n', '\u{7b}'); a lifetime ('a) has no closing quote.
CHAR = re.compile(r"'(\\.[^']*|[^\\'])'")


def blank(source: str) -> str:
    """The source with comments, strings and char literals replaced by spaces (newlines kept)."""
    out: list[str] = []
    i, n = 0, len(source)

    def keep_lines(text: str) -> str:
        return re.sub(r"[^\n]", " ", text)

    while i < n:
        c = source[i]
        if source.startswith("//", i):
            end = source.find("\n", i)
            end = n if end == -1 else end
            out.append(keep_lines(source[i:end]))
            i = end
        elif source.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if source.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif source.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            out.append(keep_lines(source[i:j]))
            i = j
        elif (raw := RAW_STRING.match(source, i)) and not (i and (source[i - 1].isalnum() or source[i - 1] == "_")):
            close = '"' + raw.group(1)
            end = source.find(close, raw.end())
            end = n if end == -1 else end + len(close)
            out.append(keep_lines(source[i:end]))
            i = end
        elif c == '"':
            j = i + 1
            while j < n and source[j] != '"':
                j += 2 if source[j] == "\\" else 1
            out.append(keep_lines(source[i : j + 1]))
            i = j + 1
        elif c == "'" and (char := CHAR.match(source, i)):
            out.append(" " * (char.end() - i))
            i = char.end()
        else:
            out.append(c)
            i += 1
    return "".join(out)


def long_functions(path: Path, limit: int) -> list[str]:
    text = blank(path.read_text())
    line_of = [0]
    for ch in text:
        line_of.append(line_of[-1] + (ch == "\n"))
    found = []
    for m in FN.finditer(text):
        # The body opens at the first `{` after the signature; a `;` first means a declaration.
        j = m.end()
        while j < len(text) and text[j] not in "{;":
            j += 1
        if j >= len(text) or text[j] == ";":
            continue
        depth, k = 0, j
        while k < len(text):
            if text[k] == "{":
                depth += 1
            elif text[k] == "}":
                depth -= 1
                if depth == 0:
                    break
            k += 1
        lines = line_of[k] - line_of[m.start()] + 1
        if lines > limit:
            found.append(f"{path}:{line_of[m.start()] + 1}: fn {m.group(1)} is {lines} lines (max {limit})")
    return found


def check(paths: list[Path], limit: int) -> list[str]:
    files = sorted(f for p in paths for f in ([p] if p.is_file() else p.rglob("*.rs")))
    return [line for f in files for line in long_functions(f, limit)]


def self_test() -> None:
    body = "\n".join(f"    let x{i} = {i};" for i in range(6))
    tricky = (
        "fn tricky() {\n    let a = \"}}}\";\n    let b = '}';\n    // }\n    /* } */\n"
        '    let c = r#"}"#;\n    let d: &\'static str = "x";\n' + body + "\n}\n"
    )
    short = "fn short() {\n    let a = 1;\n}\n"
    decl = "trait T {\n    fn declared(&self);\n}\n"
    with tempfile.TemporaryDirectory() as d:
        src = Path(d) / "lib.rs"
        src.write_text(short + decl + tricky + "fn after() {\n}\n")
        found = check([src], 8)
        # tricky: its own 7 lines, the 6 of `body` and the closing brace.
        expected = [f"{src}:7: fn tricky is 14 lines (max 8)"]
        if found != expected:
            sys.exit(f"fn_length self-test failed: expected {expected}, got {found}")
        if check([src], 14):
            sys.exit("fn_length self-test failed: a 14-line function flagged with max 14")
    print("fn_length self-test: a long function is flagged; braces in strings, chars and comments are not counted")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="*", type=Path, default=[Path("src")])
    parser.add_argument("--max", type=int, default=80)
    parser.add_argument("--self-test", action="store_true")
    args = parser.parse_args()
    if args.self_test:
        self_test()
        return
    found = check(args.paths, args.max)
    for line in found:
        print(line)
    if found:
        sys.exit(f"{len(found)} function(s) over {args.max} lines: split them into named steps (issue 11)")


if __name__ == "__main__":
    main()
