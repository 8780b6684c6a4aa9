"""Which functions of a module run per request: the methods of framework node and flow classes
(their init hooks and the helpers only those hooks reach aside), web route handlers, and every
function or method of the module that such code names (calls, or hands on as a callable)."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from flowfix.analysis import Model
from flowfix.analysis.frameworks import INIT_METHODS, find_method, framework_of, methods
from flowfix.analysis.methods import instance_name
from flowfix.analysis.model import FUNCTIONS, FunctionNode, walk
from flowfix.detectors.async_.loop_per_call import is_route_handler


class PerRequest:
    """The functions of one module that run per request, each with the root it is reached
    from (a node method or a route handler; itself for a root)."""

    def __init__(self, model: Model) -> None:
        self.model = model
        self.classes: dict[str, ast.ClassDef] = {}
        self.functions: dict[str, FunctionNode] = {}
        for statement in model.tree.body:
            if isinstance(statement, ast.ClassDef):
                self.classes[statement.name] = statement
            elif isinstance(statement, FUNCTIONS):
                self.functions[statement.name] = statement
        self._references: dict[FunctionNode, list[ast.Name | ast.Attribute]] = {}
        self._methods: dict[tuple[int, str], FunctionNode | None] = {}
        self.reached: dict[FunctionNode, FunctionNode] = {}
        queue = list(self._roots())
        for root in queue:
            self.reached.setdefault(root, root)
        while queue:
            current = queue.pop()
            for callee in self.named(current):
                if callee not in self.reached:
                    self.reached[callee] = self.reached[current]
                    queue.append(callee)

    def root_of(self, func: FunctionNode) -> FunctionNode | None:
        """The node method or route handler from which `func` is reached, if it is."""
        return self.reached.get(func)

    def _roots(self) -> Iterator[FunctionNode]:
        for cls in self.classes.values():
            if framework_of(self.model, cls) is None:
                continue
            once = self._init_only(cls)
            for name, method in methods(cls).items():
                if name not in INIT_METHODS and method not in once:
                    yield method
        for func in self.functions.values():
            if is_route_handler(self.model, func):
                yield func

    def _init_only(self, cls: ast.ClassDef) -> set[FunctionNode]:
        """The methods the class's own code names only from its init hooks (or from methods
        that are themselves init-only): they run once per object."""
        own = methods(cls)
        named_by: dict[FunctionNode, set[str]] = {}
        for name, method in own.items():
            for callee in self._own_methods(method, cls):
                named_by.setdefault(callee, set()).add(name)
        once: set[FunctionNode] = set()
        changed = True
        while changed:
            changed = False
            settled = INIT_METHODS | {method.name for method in once}
            for method, callers in named_by.items():
                if method not in once and method.name not in INIT_METHODS and callers <= settled:
                    once.add(method)
                    changed = True
        return once

    def _own_methods(self, func: FunctionNode, cls: ast.ClassDef) -> Iterator[FunctionNode]:
        this = instance_name(self.model, func)
        for node in self._referring(func):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in {this, cls.name}
            ):
                method = self._method(cls, node.attr)
                if method is not None:
                    yield method

    def named(self, func: FunctionNode) -> Iterator[FunctionNode]:
        """The functions and methods of the module that `func`'s code names: `helper`,
        `self.method`, `Class.method`, `Class(...).method`, `INSTANCE.method` (a module-level
        `INSTANCE = Class(...)`), called or passed on."""
        cls = self.model.class_of(func)
        this = instance_name(self.model, func) if cls is not None else None
        for node in self._referring(func):
            if isinstance(node, ast.Name):
                target = self.functions.get(node.id)
                if target is not None and self._is_module_binding(node):
                    yield target
            elif isinstance(node, ast.Attribute):
                owner = self._class_of_value(node.value, cls, this)
                if owner is not None:
                    method = self._method(owner, node.attr)
                    if method is not None:
                        yield method

    def _referring(self, func: FunctionNode) -> list[ast.Name | ast.Attribute]:
        """The names read and the attributes in `func` (nested code included), walked once."""
        found = self._references.get(func)
        if found is None:
            found = self._references[func] = [
                node
                for node in walk(func)
                if isinstance(node, ast.Attribute)
                or (isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load))
            ]
        return found

    def _class_of_value(
        self, value: ast.expr, cls: ast.ClassDef | None, this: str | None
    ) -> ast.ClassDef | None:
        """The module class whose method `value.<attr>` names."""
        if isinstance(value, ast.Call):
            value = value.func
            return self._module_class(value) if isinstance(value, ast.Name) else None
        if not isinstance(value, ast.Name):
            return None
        if cls is not None and value.id == this:
            return cls
        found = self._module_class(value)
        if found is not None:
            return found
        if self._is_module_binding(value):
            bindings = self.model.bindings_of(value)
            if len(bindings) == 1:
                assigned = self.model.parent(bindings[0].node)
                if (
                    isinstance(assigned, ast.Assign)
                    and isinstance(assigned.value, ast.Call)
                    and isinstance(assigned.value.func, ast.Name)
                ):
                    return self._module_class(assigned.value.func)
        return None

    def _module_class(self, name: ast.Name) -> ast.ClassDef | None:
        found = self.classes.get(name.id)
        return found if found is not None and self._is_module_binding(name) else None

    def _is_module_binding(self, name: ast.Name) -> bool:
        bindings = self.model.bindings_of(name)
        return bool(bindings) and all(binding.scope.kind == "module" for binding in bindings)

    def _method(self, cls: ast.ClassDef, name: str, depth: int = 0) -> FunctionNode | None:
        """Method `name` of `cls` or of a base class defined in the module (memoised for the
        lookups that start at a class: a deeper one may stop at the depth bound)."""
        if depth:
            return self._find_method(cls, name, depth)
        key = (id(cls), name)
        if key not in self._methods:
            self._methods[key] = self._find_method(cls, name, 0)
        return self._methods[key]

    def _find_method(self, cls: ast.ClassDef, name: str, depth: int) -> FunctionNode | None:
        found = find_method(cls, name)
        if found is not None or depth > 8:
            return found
        for base in cls.bases:
            parent = self._module_class(base) if isinstance(base, ast.Name) else None
            if parent is not None and parent is not cls:
                found = self._method(parent, name, depth + 1)
                if found is not None:
                    return found
        return None
