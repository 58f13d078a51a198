"""The CSS of an HTML fragment, read with a real CSS parser: which selectors escape its class.

A notebook fragment sits inside a page it does not own (Jupyter's), so every rule it ships must
match only inside its own root element: each selector has to start with ``.utxo-truth`` (that
class, not one that merely begins with the same letters, such as ``.utxo-truth-report``).
"""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

import tinycss2

SCOPE = "utxo-truth"


class _Styles(HTMLParser):
    """The text of every <style> element and the tags of the fragment, in order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.styles: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.depth = 0
        self.roots = 0
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if self.depth == 0:
            self.roots += 1
        if tag not in ("br", "meta", "link", "img", "hr", "input"):
            self.depth += 1
        if tag == "style":
            self._in_style = True
            self.styles.append("")

    def handle_endtag(self, tag: str) -> None:
        self.depth -= 1
        if tag == "style":
            self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.styles[-1] += data


def read_fragment(fragment: str) -> _Styles:
    """Parse ``fragment``: its <style> texts, its tags and how many top-level elements it has."""
    p = _Styles()
    p.feed(fragment)
    p.close()
    return p


def _split_selectors(prelude: list[Any]) -> list[list[Any]]:
    """The comma-separated selectors of a rule's prelude, each without surrounding whitespace."""
    out: list[list[Any]] = [[]]
    for tok in prelude:
        if tok.type == "literal" and tok.value == ",":
            out.append([])
        else:
            out[-1].append(tok)
    return [_strip(sel) for sel in out]


def _strip(sel: list[Any]) -> list[Any]:
    while sel and sel[0].type in ("whitespace", "comment"):
        sel = sel[1:]
    while sel and sel[-1].type in ("whitespace", "comment"):
        sel = sel[:-1]
    return sel


def _scoped(sel: list[Any]) -> bool:
    """True when the selector's first compound is ``.utxo-truth`` (possibly with more classes)
    and what follows it is a descendant or child of it (``+``/``~`` would reach its siblings)."""
    if not (
        len(sel) >= 2
        and sel[0].type == "literal"
        and sel[0].value == "."
        and sel[1].type == "ident"
        and sel[1].value == SCOPE
    ):
        return False
    rest = sel[2:]
    while (
        rest
        and rest[0].type != "whitespace"
        and not (rest[0].type == "literal" and rest[0].value in (">", "+", "~"))
    ):
        rest = rest[1:]  # the rest of the first compound: .page, :hover, [attr]
    rest = [t for t in rest if t.type != "whitespace"]
    return not (rest and rest[0].type == "literal" and rest[0].value in ("+", "~"))


def unscoped_selectors(css: str) -> list[str]:
    """Every selector of ``css`` (nested @media / @container / @supports included) not under
    ``.utxo-truth``; an at-rule that is not a grouping rule (``@import``, ``@font-face``) or a
    parse error counts as unscoped too."""
    bad: list[str] = []

    def walk(rules: list[Any]) -> None:
        for rule in rules:
            if rule.type in ("whitespace", "comment"):
                continue
            if rule.type == "qualified-rule":
                for sel in _split_selectors(rule.prelude):
                    if not _scoped(sel):
                        bad.append(tinycss2.serialize(sel).strip() or "(empty selector)")
            elif rule.type == "at-rule" and rule.lower_at_keyword in (
                "media",
                "container",
                "supports",
            ):
                walk(tinycss2.parse_rule_list(rule.content or []))
            else:
                bad.append(tinycss2.serialize([rule])[:80])

    walk(tinycss2.parse_stylesheet(css, skip_comments=True, skip_whitespace=True))
    return bad


def selectors(css: str) -> list[str]:
    """Every selector of ``css`` as text (to show the parser did read rules at all)."""
    found: list[str] = []
    for rule in tinycss2.parse_stylesheet(css, skip_comments=True, skip_whitespace=True):
        if rule.type == "qualified-rule":
            found += [tinycss2.serialize(s).strip() for s in _split_selectors(rule.prelude)]
    return found


def assert_scoped_fragment(fragment: str) -> None:
    """One root element of class ``utxo-truth``; every CSS rule inside scoped to it."""
    p = read_fragment(fragment)
    assert p.roots == 1, f"a fragment is one element, not {p.roots}"
    tag, attrs = p.tags[0]
    assert tag == "div" and SCOPE in (attrs.get("class") or "").split(), p.tags[0]
    assert p.styles, "the fragment carries its CSS"
    assert not any(t == "link" for t, _ in p.tags), "nothing fetched"
    for css in p.styles:
        assert len(selectors(css)) >= 10, "the parser read the rules"
        assert unscoped_selectors(css) == []
