"""A case folder on disk, imported as the package it is, for ``python -m app check-case PATH``."""
from __future__ import annotations

import importlib
import sys
from pathlib import Path

from app.core.cases import Case, all_cases


class CaseFolderError(ValueError):
    """A path that is not a case folder at all (missing, not a folder, not a package)."""


def _line(exc: BaseException) -> str:
    """An exception as one line: its type and the first line of its message."""
    text = " ".join(str(exc).split()) or "no message"
    return f"{type(exc).__name__}: {text[:300]}"


def package_of(folder: Path) -> tuple[Path, str]:
    """The folder on the Python path that holds the case package, and the package's dotted name."""
    names = [folder.name]
    root = folder.parent
    while (root / "__init__.py").is_file():
        names.insert(0, root.name)
        root = root.parent
    return root, ".".join(names)


def load_folder(path: str | Path) -> tuple[Case | None, list[str]]:
    """The case in the folder ``path`` and the problems found importing it. CaseFolderError when ``path`` is
    not a folder with an ``__init__.py``."""
    folder = Path(path).expanduser().resolve()
    if not folder.exists():
        raise CaseFolderError(f"{path}: no such folder")
    if not folder.is_dir():
        raise CaseFolderError(f"{path} is a file: give the case's folder")
    if not (folder / "__init__.py").is_file():
        raise CaseFolderError(f"{path} has no __init__.py: a case folder is a Python package exposing CASE")
    root, package = package_of(folder)
    if not all(part.isidentifier() for part in package.split(".")):
        return None, [f"the folder name {folder.name!r} is not a Python package name: use letters, digits and _"]
    loaded = sys.modules.get(package)
    if loaded is not None and Path(getattr(loaded, "__file__", "") or "").resolve().parent != folder:
        return None, [f"another package named {package} is loaded already: rename the folder"]
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    try:
        module = importlib.import_module(package)
    except Exception as exc:
        return None, [f"__init__.py: importing {package} fails: {_line(exc)}"]
    known = next((c for c in _others_all() if c.package == package), None)
    case = known or getattr(module, "CASE", None)
    if not isinstance(case, Case):
        return None, [f"__init__.py: {package} exposes no CASE = app.core.cases.Case(...)"]
    if not case.package:
        object.__setattr__(case, "package", package)
    return case, []


def _others_all() -> list[Case]:
    try:
        return all_cases()
    except Exception:
        return []


def registered(case: Case) -> bool:
    return any(c.package == case.package for c in _others_all())


