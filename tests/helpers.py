"""Helpers every test folder shares: the repository's scripts (benchmarks/, tools/) loaded as modules."""

import functools
import importlib.util
from pathlib import Path
from types import ModuleType

REPO_ROOT = Path(__file__).resolve().parents[1]


@functools.cache
def load_script(relative_path: str) -> ModuleType:
    """The script at ``relative_path`` (from the repository root) as a module, executed once per path.

    benchmarks/ and tools/ are not packages, so their scripts are loaded from their files, as a user runs them.
    Module-scoped fixtures and repeated calls share one module object; a test that changes it uses monkeypatch,
    so the next test sees it as loaded. The module is named after its path (``benchmarks/matting.py`` is
    ``benchmarks_matting``) and left out of sys.modules, where it could shadow an importable name.
    """
    path = REPO_ROOT / relative_path
    name = Path(relative_path).with_suffix("").as_posix().replace("/", "_")
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
