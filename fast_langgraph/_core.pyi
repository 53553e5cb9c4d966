"""Type stubs for the Rust core, ``fast_langgraph._core``."""

from typing import TypedDict

class _BuildInfo(TypedDict):
    version: str
    profile: str  # "release" or "debug"
    pyo3_abi: str

__version__: str

def build_info() -> _BuildInfo:
    """Version and build profile of the loaded Rust core."""
