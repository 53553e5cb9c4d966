"""The graph the LangGraph server serves in compat_matrix/langgraph_server/drive.py: the async
chat agent of ``python -m fast_langgraph.bench production`` (async nodes, an async fake chat
model with a tool call per turn); the server supplies its own checkpointer."""

from fast_langgraph.bench.production import build_graph

graph = build_graph(False, None)
