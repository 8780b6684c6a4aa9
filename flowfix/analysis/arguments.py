"""A call's arguments in source order: `ast` keeps positional and keyword ones apart (and
Python allows `f(k=1, *rest)`), rules read them as written."""

from __future__ import annotations

import ast


def ordered_arguments(call: ast.Call) -> list[ast.expr | ast.keyword]:
    """The positional (`Starred` included) and keyword arguments of `call`, in source order."""
    arguments: list[ast.expr | ast.keyword] = [*call.args, *call.keywords]
    arguments.sort(key=lambda arg: (arg.lineno, arg.col_offset))
    return arguments


def argument_value(argument: ast.expr | ast.keyword) -> ast.expr:
    """What an argument passes: a keyword's value, `a` for `*a`, else the argument itself."""
    return argument.value if isinstance(argument, (ast.Starred, ast.keyword)) else argument


def argument_values(call: ast.Call) -> list[ast.expr]:
    """The expressions passed to `call`, in source order (`*a` and `**k` give `a` and `k`)."""
    return [argument_value(argument) for argument in ordered_arguments(call)]


def first_argument_value(call: ast.Call) -> ast.expr | None:
    """The value of `call`'s first argument in source order (positional, starred or keyword),
    None without arguments."""
    values = argument_values(call)
    return values[0] if values else None
