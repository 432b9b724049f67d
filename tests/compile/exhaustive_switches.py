#!/usr/bin/env python3
"""Checks that a new LayerKind or Activation cannot be added without handling it.

Every file that switches over LayerKind (or Activation) is compiled (syntax
only, with its exact flags from compile_commands.json) twice: as it is,
which must succeed, and with DUSK_TEST_EXTRA_LAYER_KIND (or
DUSK_TEST_EXTRA_ACTIVATION) defined, which adds an enumerator no switch lists
and must fail with -Werror=switch naming it (names.cpp fails its
static_assert instead, as layer_kind_table.cpp does for a kind: the new
kind or activation has no row in its table).

    exhaustive_switches.py BUILD_DIR SOURCE_DIR
"""
import json
import re
import os
import shlex
import subprocess
import sys

EXTRA = "UnhandledTestKind"
EXTRA_ACTIVATION = "UnhandledTestActivation"


def main():
    build_dir, source_dir = sys.argv[1], os.path.realpath(sys.argv[2])
    with open(os.path.join(build_dir, "compile_commands.json")) as f:
        commands = {os.path.realpath(entry["file"]): entry for entry in json.load(f)}
    # Every library and tool file with `switch (... kind)` over LayerKind, and every one with an Activation case.
    switching, activations = [], []
    for folder in ("src", "tools"):
        for root, _, files in os.walk(os.path.join(source_dir, folder)):
            for name in files:
                path = os.path.join(root, name)
                text = open(path).read() if name.endswith(".cpp") else ""
                if "switch (layer.kind)" in text or re.search(r"LayerKind kind[,)][^{;]*\{\s*switch \(kind\)", text):
                    switching.append(path)
                if "case Activation::" in text:
                    activations.append(path)
    switching.append(os.path.join(source_dir, "src/graph/layer_kind_table.cpp"))
    if len(switching) < 7 or len(activations) < 3:
        print(f"only {len(switching)} files switch over LayerKind, {len(activations)} over Activation; the search is broken")
        return 1
    failures = 0
    checks = [(path, "DUSK_TEST_EXTRA_LAYER_KIND", EXTRA, "LayerKind") for path in sorted(switching)]
    checks += [(path, "DUSK_TEST_EXTRA_ACTIVATION", EXTRA_ACTIVATION, "Activation")
               for path in sorted(set(activations) | {os.path.join(source_dir, "src/graph/names.cpp")})]
    for path, macro, extra_name, enum in checks:
        entry = commands.get(path)
        if entry is None:
            print(f"{path}: not in compile_commands.json")
            failures += 1
            continue
        args = shlex.split(entry["command"]) if "command" in entry else entry["arguments"]
        base = []
        skip = False
        for arg in args:  # drop the object output; keep flags, defines and includes
            if skip:
                skip = False
                continue
            if arg == "-o":
                skip = True
                continue
            if arg == "-c":
                continue
            base.append(arg)
        base.append("-fsyntax-only")
        plain = subprocess.run(base, cwd=entry["directory"], capture_output=True, text=True)
        extra = subprocess.run(base + [f"-D{macro}={extra_name}"], cwd=entry["directory"],
                               capture_output=True, text=True)
        relative = os.path.relpath(path, source_dir)
        if plain.returncode != 0:
            print(f"{relative}: does not compile as it is:\n{plain.stderr[-2000:]}")
            failures += 1
        elif extra.returncode == 0:
            print(f"{relative}: compiles with an unhandled {enum}; list every value in its switches (no default:)")
            failures += 1
        elif extra_name not in extra.stderr and "static assertion" not in extra.stderr:
            print(f"{relative}: failed for another reason:\n{extra.stderr[-2000:]}")
            failures += 1
        else:
            print(f"{relative}: refuses an unhandled {enum}")
    print(f"{len(checks)} checks of {len(set(switching) | set(activations))} files, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
