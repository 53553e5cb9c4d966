"""A custom route in the LangGraph server's own process: GET /fast_langgraph/doctor returns
``python -m fast_langgraph.doctor``'s data (autoload state, patches applied) as seen there."""

import os

from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route


async def doctor(request):
    from fast_langgraph import _bootstrap, _patching

    status = _patching.status()
    return JSONResponse(
        {
            "pid": os.getpid(),
            "FAST_LANGGRAPH": os.environ.get("FAST_LANGGRAPH"),
            "bootstrap": _bootstrap.state,
            "patches": {e["name"]: e["status"] for e in status},
        }
    )


app = Starlette(routes=[Route("/fast_langgraph/doctor", doctor)])
