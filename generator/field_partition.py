"""The modules of a fields package, pure: the models' top-level statements, and which module
each goes into.

Importing a generated workflow module builds only the classes it uses: each input struct (with
its ``Ivk`` class) anchors a module, and a model goes into the module of its only user, else into
a module of its own.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from graphlib import TopologicalSorter

from ivkgen.generator import GeneratorError
from ivkgen.generator.field_closure import FieldClass, reachable
from ivkgen.generator.naming import numbered


@dataclass(frozen=True)
class Definition:
    """One top-level statement of the models' module: the name it defines (for a statement that
    defines none, such as ``Model.model_rebuild()``, the first name it uses), its source and
    the names its code reads."""

    name: str
    source: str
    uses: frozenset[str]
    defines: bool


def definitions(body: str) -> list[Definition]:
    """The top-level statements of ``body``, in order."""
    lines = body.splitlines()
    found: list[Definition] = []
    for node in ast.parse(body).body:
        uses = [n.id for n in ast.walk(node) if isinstance(n, ast.Name) and type(n.ctx) is ast.Load]
        name = _defined_name(node) or next((u for u in uses if u in {d.name for d in found}), "")
        if not name:
            raise GeneratorError(f"unexpected statement in the generated models: {ast.dump(node)}")
        start = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
        found.append(
            Definition(
                name=name,
                source="\n".join(lines[start - 1 : node.end_lineno]),
                uses=frozenset(uses),
                defines=_defined_name(node) is not None,
            )
        )
    return found


def _defined_name(node: ast.stmt) -> str | None:
    if isinstance(node, ast.ClassDef):
        return node.name
    target: ast.expr
    if isinstance(node, ast.AnnAssign):
        target = node.target
    elif isinstance(node, ast.Assign) and len(node.targets) == 1:
        target = node.targets[0]
    else:
        return None
    return target.id if isinstance(target, ast.Name) else None


def module_heads(defs: list[Definition], anchors: set[str]) -> dict[str, str]:
    """Defined name -> the name its module is named after. Each of ``anchors`` (the input
    structs) heads a module; models that use each other share one; a model that the code of one
    module only uses joins that module; any other model heads a module of its own."""
    order = [d.name for d in defs if d.defines]
    deps = {d.name: sorted((d.uses & set(order)) - {d.name}) for d in defs if d.defines}
    reach = {name: reachable(deps[name], deps.__getitem__) for name in order}
    cycle = {
        name: next(m for m in order if m == name or (m in reach[name] and name in reach[m]))
        for name in order
    }
    after: dict[str, set[str]] = {cycle[name]: set() for name in order}
    users: dict[str, set[str]] = {cycle[name]: set() for name in order}
    for name in order:
        for dep in deps[name]:
            if cycle[dep] != cycle[name]:
                after[cycle[name]].add(cycle[dep])
                users[cycle[dep]].add(cycle[name])
    anchored = {cycle[name] for name in anchors}
    head: dict[str, str] = {}
    for name in reversed(list(TopologicalSorter(after).static_order())):
        user_heads = {head[user] for user in users[name]}
        head[name] = user_heads.pop() if len(user_heads) == 1 and name not in anchored else name
    return {name: head[cycle[name]] for name in order}


@dataclass
class FieldsPart:
    """One private module of the ``fields`` package."""

    module: str
    definitions: list[Definition] = field(default_factory=list)
    classes: list[FieldClass] = field(default_factory=list)

    def names(self) -> list[str]:
        """The public names this module defines, in order."""
        models = [d.name for d in self.definitions if d.defines]
        return models + [cls.name for cls in self.classes]


def field_parts(defs: list[Definition], classes: list[FieldClass]) -> list[FieldsPart]:
    """The modules of the ``fields`` package, in the order of their first model."""
    heads = module_heads(defs, {cls.schema for cls in classes})
    order = list(dict.fromkeys(heads[d.name] for d in defs))
    modules = numbered(f"_{head.lower()}" for head in order)
    parts = {head: FieldsPart(module) for head, module in zip(order, modules, strict=True)}
    for definition in sorted(defs, key=lambda d: not d.defines):
        parts[heads[definition.name]].definitions.append(definition)
    for cls in classes:
        parts[heads[cls.schema]].classes.append(cls)
    return list(parts.values())
