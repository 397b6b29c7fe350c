"""ember.compiler: ``ember.compile`` traces Python into graphs and runs them fast."""

from ember.compiler.api import CompiledFunction, compile, config
from ember.compiler.cache import RetraceWarning

__all__ = ["CompiledFunction", "RetraceWarning", "compile", "config"]
