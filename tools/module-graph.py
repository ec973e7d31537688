#!/usr/bin/env python3
"""The module graph of Sources/ (who imports whom), as Package.swift declares it.

    tools/module-graph.py          check that README.md's graph matches Package.swift (exit 1 if not)
    tools/module-graph.py --write  rewrite the graph in README.md from Package.swift
"""
import json
import subprocess
import sys

BEGIN, END = "<!-- module-graph -->", "<!-- /module-graph -->"


def graph() -> str:
    package = json.loads(subprocess.run(["swift", "package", "dump-package"], capture_output=True, text=True, check=True).stdout)
    sources = {t["name"] for t in package["targets"] if t["type"] in ("regular", "executable", "system") and not (t.get("path") or "").startswith(("tools", "Tests"))}
    lines = []
    for target in package["targets"]:
        if target["name"] not in sources:
            continue
        deps = sorted(next(iter(d.values()))[0] for d in target["dependencies"] if next(iter(d.values()))[0] in sources)
        lines.append(f"{target['name']:<14} → {', '.join(deps) if deps else '(nothing of ours)'}")
    return "```\n" + "\n".join(lines) + "\n```"


def undeclared_imports() -> list[str]:
    """Imports of our own modules that Package.swift does not declare (SwiftPM would let a transitive one through)."""
    import glob
    import os
    import re
    package = json.loads(subprocess.run(["swift", "package", "dump-package"], capture_output=True, text=True, check=True).stdout)
    ours = {t["name"] for t in package["targets"]}
    problems = []
    for target in package["targets"]:
        path = target.get("path") or ("Tests/" if target["type"] == "test" else "Sources/") + target["name"]
        declared = {next(iter(d.values()))[0] for d in target["dependencies"]}
        for file in glob.glob(os.path.join(path, "**", "*.swift"), recursive=True):
            for module in re.findall(r"^(?:@testable |@_exported |public |package )?import (\w+)", open(file, encoding="utf-8").read(), re.M):
                if module in ours and module != target["name"] and module not in declared:
                    problems.append(f"{file} imports {module}, which {target['name']} does not declare")
    return problems


def main() -> int:
    problems = undeclared_imports()
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 1
    readme = open("README.md", encoding="utf-8").read()
    start, end = readme.index(BEGIN) + len(BEGIN), readme.index(END)
    wanted = "\n" + graph() + "\n"
    if "--write" in sys.argv:
        open("README.md", "w", encoding="utf-8").write(readme[:start] + wanted + readme[end:])
        return 0
    if readme[start:end] != wanted:
        print("README.md's module graph differs from Package.swift; run tools/module-graph.py --write\n" + wanted, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
