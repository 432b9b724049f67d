#!/usr/bin/env python3
"""Checks that the shells use only dusk's public headers.

The shells are the command line (tools/), the Python bindings (python/src)
and the C API (src/capi). Each quoted #include must name a public header
(include/dusk/...) or one of the shell's own files, written relative to
the including file (tools/serve says "../cli_common.hpp"); a header of the
library's insides (src/util, src/engine, src/eval, ...) fails, so the shells
stay adapters over the public API.

    shell_includes.py SOURCE_DIR
"""
import os
import re
import sys

SHELLS = ("tools", "python/src", "src/capi")
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.MULTILINE)


def main():
    source = os.path.realpath(sys.argv[1])
    public = os.path.join(source, "include")
    checked, private = 0, []
    for shell in SHELLS:
        root = os.path.join(source, shell)
        for folder, _, files in os.walk(root):
            for name in sorted(files):
                if not name.endswith((".cpp", ".hpp", ".h", ".c")):
                    continue
                path = os.path.join(folder, name)
                for header in INCLUDE.findall(open(path).read()):
                    checked += 1
                    own = os.path.isfile(os.path.join(folder, header))  # relative to the including file
                    if os.path.isfile(os.path.join(public, header)) or own:
                        continue
                    private.append(f"{os.path.relpath(path, source)}: includes \"{header}\", which is not in "
                                   "include/dusk/ nor the shell's own; make what it needs public or the shell's own")
    if checked < 50:
        print(f"only {checked} includes found in {', '.join(SHELLS)}; the search is broken")
        return 1
    for line in private:
        print(line)
    print(f"{checked} includes in {', '.join(SHELLS)}, {len(private)} private")
    return 1 if private else 0


if __name__ == "__main__":
    sys.exit(main())
