"""The package's layers: every import of `resilinet` (inside functions too) goes down, and none goes round;
the test files named for scheduling exist."""
import ast

import networkx as nx
from conftest import REPO, SLOWEST_FILES_FIRST

# Lowest first; a module imports only from its own subpackage or from a lower one.
LAYERS = {"base": 0, "core": 1, "networks": 2, "data": 3, "runs": 4, "report": 5, "deployment": 5, "custom": 6,
          "cli": 7}


def imports() -> nx.DiGraph:
    graph = nx.DiGraph()
    for path in (REPO / "resilinet").rglob("*.py"):
        module = ".".join(path.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__")
        graph.add_node(module)
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module] if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 else []
            graph.add_edges_from((module, name) for name in names if name.startswith("resilinet."))
    return graph


def layer(module: str) -> str:
    return module.split(".")[1]


def test_every_module_sits_in_a_layer():
    assert {layer(m) for m in imports() if m != "resilinet"} == set(LAYERS)
    assert [p.name for p in (REPO / "resilinet").glob("*.py")] == ["__init__.py"]


def test_imports_only_go_down():
    upward = [(a, b) for a, b in imports().edges if LAYERS[layer(b)] > LAYERS[layer(a)]
              or (LAYERS[layer(b)] == LAYERS[layer(a)] and layer(a) != layer(b))]
    assert upward == []


def test_no_import_cycle():
    assert list(nx.simple_cycles(imports())) == []


def test_the_graph_holds_imports_inside_functions():
    graph = imports()
    assert ("resilinet.report.tables", "resilinet.report.pooled") in graph.edges
    assert ("resilinet.runs.parallel", "resilinet.runs.jobs") in graph.edges  # imported inside run_job_task


def test_the_slowest_files_named_for_scheduling_exist():
    assert [name for name in SLOWEST_FILES_FIRST if not (REPO / "tests" / name).is_file()] == []
    assert len(set(SLOWEST_FILES_FIRST)) == len(SLOWEST_FILES_FIRST)
