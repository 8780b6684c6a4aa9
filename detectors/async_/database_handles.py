"""Which sync SQLAlchemy handle (session, connection, engine) or other sync client an
expression holds, beyond the constructors of the table: the session a `sessionmaker` opens,
the connection a sync engine opens, and a parameter declared `Annotated[Session, ...]` or with
a type alias of one (defined in the module, or imported from another module of the run)."""

from __future__ import annotations

import ast
from collections.abc import Callable

from flowfix.analysis import Model
from flowfix.analysis.blocking import (
    CONNECTION_CLASS,
    ENGINE_CLASSES,
    ENGINE_CONNECTIONS,
    FACTORY_SESSIONS,
    SESSION_CLASS,
    SESSION_CLASSES,
    SESSION_FACTORIES,
    SYNC_CLIENT_NAMES,
)
from flowfix.analysis.queries import declared_class, wrapper_in
from flowfix.analysis.values import single_binding_value

# How deep aliases of aliases (`Db = Annotated[DbSession, ...]`) are followed.
MAX_ALIASES = 4
# The client an expression holds (a name or `self.attr` bound to one), for the recursion of
# `engine.connect()` into what `engine` holds.
Holds = Callable[[ast.expr], str | None]
# What an expression on a name imported from another module of the run stands for, if it is
# known: the class of a type alias (a name in an annotation), the sync client, SQLAlchemy
# handle or session factory a module-level name is bound to (a name, or `module.name`, read
# elsewhere), the sync client a factory returns (a call of one).
ImportedAlias = Callable[[ast.expr], str | None]


def opened_handle(
    model: Model, call: ast.Call, holds: Holds, imported: ImportedAlias | None
) -> str | None:
    """The sync SQLAlchemy handle `call` opens: `sessionmaker(...)()`, `SessionLocal()` or
    `SessionLocal.begin()` for a `SessionLocal = sessionmaker(...)` (of this module or
    imported), `engine.connect()` or `engine.begin()` on a sync engine."""
    func = call.func
    if _is_session_factory(model, func, imported):
        return SESSION_CLASS
    if not isinstance(func, ast.Attribute):
        return None
    if func.attr in FACTORY_SESSIONS and _is_session_factory(model, func.value, imported):
        return SESSION_CLASS
    if func.attr in ENGINE_CONNECTIONS and holds(func.value) in ENGINE_CLASSES:
        return CONNECTION_CLASS
    return None


def _is_session_factory(model: Model, expr: ast.expr, imported: ImportedAlias | None) -> bool:
    """`sessionmaker(...)` (not given an async `class_=`), or a name bound once to one."""
    if isinstance(expr, ast.Name):
        if imported is not None and _is_imported(model, expr):
            return imported(expr) in SESSION_FACTORIES
        value = single_binding_value(model, expr)
        expr = value if isinstance(value, ast.Call) else expr
    if not isinstance(expr, ast.Call) or model.resolves_to(expr.func, SESSION_FACTORIES) is None:
        return False
    made = next((k.value for k in expr.keywords if k.arg == "class_"), None)
    return made is None or model.resolves_to(made, SESSION_CLASSES) is not None


def declared_client(
    model: Model, annotation: ast.expr, imported: ImportedAlias | None, depth: int = 0
) -> str | None:
    """The sync client class an annotation declares: the class itself, `Annotated[C, ...]`,
    `Optional[C]`, `C | None`, or a module-level alias of one (`DbSession = Annotated[Session,
    Depends(get_db)]`); an imported alias is asked of `imported`."""
    found = model.resolves_to(annotation, SYNC_CLIENT_NAMES)
    if found is not None or depth > MAX_ALIASES:
        return found
    inner = declared_class(annotation, wrapper_in(model))
    if inner is not annotation:
        return declared_client(model, inner, imported, depth + 1) if inner is not None else None
    if not isinstance(annotation, ast.Name):
        return None
    if _is_imported(model, annotation):
        found = imported(annotation) if imported is not None else None
        return found if found in SYNC_CLIENT_NAMES else None
    value = single_binding_value(model, annotation)
    if isinstance(value, ast.Subscript) and model.is_module_level_name(annotation):
        return declared_client(model, value, imported, depth + 1)
    return None


def _is_imported(model: Model, name: ast.Name) -> bool:
    bindings = model.bindings_of(name)
    return bool(bindings) and all(binding.is_import for binding in bindings)


def imported_client(model: Model, expr: ast.expr, imported: ImportedAlias | None) -> str | None:
    """The sync client or SQLAlchemy handle a module-level name of another module of the run
    holds, imported by name (`from app.llm import client`, where `client = OpenAI()`; `from
    app.db import engine`, where `engine = create_engine(...)`) or read on its imported module
    (`llm.client`), or that an imported factory returns (`get_openai()`, where `def
    get_openai(): return OpenAI()`), or a factory of the module itself returns (`def
    get_client(): return OpenAI()`, or a cached global: `return _client`)."""
    target = expr.func if isinstance(expr, ast.Call) else expr
    if imported is None or not (_on_import(model, target) or is_module_function_call(model, expr)):
        return None
    found = imported(expr)
    return found if found in SYNC_CLIENT_NAMES else None


def is_module_function_call(model: Model, expr: ast.expr) -> bool:
    """A call of a function the module defines at top level (and binds no other way):
    `get_client()` for `def get_client(): ...`, a factory the run's call graph reads."""
    if not isinstance(expr, ast.Call) or not isinstance(expr.func, ast.Name):
        return False
    bindings = model.bindings_of(expr.func)
    return bool(bindings) and all(
        binding.kind == "function" and binding.scope.kind == "module" for binding in bindings
    )


def _on_import(model: Model, expr: ast.expr) -> bool:
    """`name` or `name.attr...` where `name` is only ever bound by imports."""
    while isinstance(expr, ast.Attribute):
        expr = expr.value
    return isinstance(expr, ast.Name) and _is_imported(model, expr)
