"""Fixes of Rust rules: byte-range edits of the source, checked by parsing the result again.

A fix (a `RustFix` subclass in `flowfix.codemods`, paired with its rule by `CODE`) receives the
pass's model and, for each finding, the node at the finding's span; it returns the edits that
rewrite it, or the reason it cannot. The edits of all findings that do not overlap are applied
together; a `use` whose name a fix took out of the code and that nothing else uses any more is
then removed. The fix loop (`flowfix.fixes`) verifies the text (no new syntax error), detects
again and merges the passes, as for Python.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from tree_sitter import Node

from flowfix.config import Config
from flowfix.rules import Finding
from flowfix.rust.model import RustModel, Use, path_segments

if TYPE_CHECKING:
    from flowfix.rules import Rule

# The items whose code a fix refuses to change when tree-sitter found an error in them.
_ITEMS = ("function_item", "impl_item", "mod_item", "trait_item", "source_file")


@dataclass(frozen=True, order=True)
class Edit:
    """Replace the bytes `start`..`end` (UTF-8 offsets into the source) by `text`."""

    start: int
    end: int
    text: str


class RustFix:
    """Base of every Rust rule's fix. Subclasses set CODE, DESCRIPTION and TARGET (the node
    type its detector reports) and implement `fix`."""

    CODE: ClassVar[str] = ""
    DESCRIPTION: ClassVar[str] = ""
    TARGET: ClassVar[str] = "call_expression"

    def __init__(self, model: RustModel, config: Config) -> None:
        self.model = model
        self.config = config
        # `use` bindings whose name an edit removed from the code: dropped if now unused.
        self.released: list[Use] = []

    def fix(self, node: Node, finding: Finding) -> list[Edit] | str:
        """The edits that fix `finding` at `node`, or why it cannot be fixed here."""
        raise NotImplementedError

    # --- helpers ------------------------------------------------------------------------

    def replace(self, node: Node, text: str) -> Edit:
        return Edit(node.start_byte, node.end_byte, text)

    def insert_after(self, node: Node, text: str) -> Edit:
        return Edit(node.end_byte, node.end_byte, text)

    def replace_path(self, path: Node, qualified: str) -> Edit:
        """Write `qualified` in place of the path expression `path`, releasing the `use` its
        first segment went through."""
        first = path_segments(self.model.source(path))[0]
        use = self.model.use_for(first, path)
        if use is not None:
            self.released.append(use)
        return self.replace(path, qualified)

    def awaited_call_to(self, call: Node, qualified: str) -> list[Edit] | str:
        """`call` rewritten to call `qualified` (same arguments) and `.await` its result,
        where `.await` may be written."""
        context = self.model.async_context(call)
        callee = call.child_by_field_name("function")
        if context is None or not context.direct or callee is None:
            return "`.await` cannot be written there"
        return [self.replace_path(callee, qualified), self.insert_after(call, ".await")]

    def newline(self) -> str:
        return "\r\n" if "\r\n" in self.model.text else "\n"


def apply_edits(data: bytes, edits: Sequence[Edit]) -> bytes:
    """`data` with `edits` (not overlapping) applied."""
    out: list[bytes] = []
    cursor = 0
    for edit in sorted(edits):
        out.append(data[cursor : edit.start])
        out.append(edit.text.encode("utf-8"))
        cursor = edit.end
    out.append(data[cursor:])
    return b"".join(out)


def _overlaps(edit: Edit, others: Sequence[Edit]) -> bool:
    return any(edit.start < other.end and other.start < edit.end for other in others) or any(
        edit.start == edit.end == other.start or edit.start == edit.end == other.end
        for other in others
    )


def apply_rust_fix(
    rule: Rule, text: str, findings: Sequence[Finding], config: Config
) -> tuple[str, str]:
    """Run `rule`'s fix on `text` for `findings`; returns (new text, reason if unchanged).

    A finding in an item where tree-sitter found a syntax error is left alone, and so is one
    whose edits overlap those of an earlier finding (the next pass takes it).
    """
    fix_class = rule.codemod
    assert fix_class is not None and issubclass(fix_class, RustFix)
    model = RustModel(text)
    fixer = fix_class(model, config)
    accepted: list[Edit] = []
    reasons: list[str] = []
    for finding in sorted(findings, key=lambda f: f.span):
        node = model.node_at(finding.span, fix_class.TARGET)
        if node is None:
            reasons.append(f"no {fix_class.TARGET} at {finding.span.line}:{finding.span.column}")
            continue
        item = model.enclosing(node, *_ITEMS)
        if item is not None and item.has_error:
            reasons.append("the code around it does not parse")
            continue
        edits = fixer.fix(node, finding)
        if isinstance(edits, str):
            reasons.append(edits)
            continue
        if not any(_overlaps(edit, accepted) for edit in edits):
            accepted.extend(edits)
    reason = "; ".join(dict.fromkeys(reasons)) or "the fix changed nothing"
    if not accepted:
        return text, reason
    new_text = apply_edits(model.data, accepted).decode("utf-8")
    return remove_unused_uses(new_text, fixer.released), reason


def remove_unused_uses(text: str, released: Sequence[Use]) -> str:
    """`text` without the `use` bindings of `released` that no code uses any more. A `pub
    use` (a re-export) and a `use` under an attribute (`#[cfg]`) are kept."""
    if not released:
        return text
    model = RustModel(text)
    unused = {(use.name, use.path) for use in released if not model.used_outside_uses(use.name)}
    if not unused:
        return text
    edits: list[Edit] = []
    for declaration in model.nodes("use_declaration"):
        dead = {
            binding.item
            for binding in model.uses_of(declaration)
            if (binding.name, binding.path) in unused and _removable(binding)
        }
        argument = declaration.child_by_field_name("argument")
        if not dead or argument is None:
            continue
        gone, inner = _prune(argument, dead)
        edits.extend([_remove_line(model, declaration)] if gone else inner)
    return apply_edits(model.data, edits).decode("utf-8") if edits else text


def _removable(use: Use) -> bool:
    declaration = use.declaration
    if any(child.type == "visibility_modifier" for child in declaration.children):
        return False
    previous = declaration.prev_named_sibling
    return previous is None or previous.type != "attribute_item"


def _prune(node: Node, dead: set[Node]) -> tuple[bool, list[Edit]]:
    """Whether the `use` tree `node` binds only `dead` names (then it goes as a whole), and
    otherwise the edits that remove its dead parts, separators included."""
    if node in dead:
        return True, []
    if node.type == "scoped_use_list":
        items = node.child_by_field_name("list")
        return _prune(items, dead) if items is not None else (False, [])
    if node.type != "use_list":
        return False, []
    children = node.named_children
    pruned = [_prune(child, dead) for child in children]
    alive = [index for index, (gone, _) in enumerate(pruned) if not gone]
    if not alive:
        return True, []
    edits = [edit for gone, inner in pruned if not gone for edit in inner]
    last = alive[-1]
    for index, (gone, _) in enumerate(pruned[:last]):
        if gone:  # up to the next item, its comma and spacing with it
            edits.append(Edit(children[index].start_byte, children[index + 1].start_byte, ""))
    if last + 1 < len(children):  # the dead tail, from the end of the last item kept
        edits.append(Edit(children[last].end_byte, children[-1].end_byte, ""))
    return False, edits


def _remove_line(model: RustModel, declaration: Node) -> Edit:
    """Remove a whole declaration, with its line when it stands alone on it."""
    start, end = declaration.start_byte, declaration.end_byte
    line_start = model.line_start(start)
    data = model.data
    line_end = data.find(b"\n", end)
    line_end = len(data) if line_end < 0 else line_end + 1
    if not data[line_start:start].strip() and not data[end:line_end].strip():
        return Edit(line_start, line_end, "")
    return Edit(start, end, "")
