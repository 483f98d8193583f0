"""Print the import graph of trtgui.core, grouped by stage folder, as Graphviz DOT.

    python tools/core_import_graph.py | dot -Tpng -o core.png

Arrows point from the importing group to the imported one; the stages (predict, engine,
build, model) must only point downwards (import-linter checks the same in CI).
"""

from __future__ import annotations

import grimp

STAGES = ("predict", "engine", "build", "model")


def group(module: str) -> str:
    parts = module.split(".")
    return "core." + parts[2] if len(parts) > 2 else "core"


def main() -> None:
    graph = grimp.build_graph("trtgui")
    edges: set[tuple[str, str]] = set()
    for module in graph.modules:
        if not module.startswith("trtgui.core."):
            continue
        for imported in graph.find_modules_directly_imported_by(module):
            if imported.startswith("trtgui.core.") and group(module) != group(imported):
                edges.add((group(module), group(imported)))
    print("digraph core { rankdir=TB; node [shape=box, fontname=Helvetica];")
    stages = "; ".join(f'"core.{s}"' for s in STAGES)
    print(f'  subgraph cluster_stages {{ label="stages"; style=dashed; {stages}; }}')
    for a, b in sorted(edges):
        print(f'  "{a}" -> "{b}";')
    print("}")


if __name__ == "__main__":
    main()
