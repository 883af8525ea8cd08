"""HTML pages → title and blocks: headings, tables, <dl> and label/value grids of portal pages.
"""

from __future__ import annotations

import re

from bs4 import BeautifulSoup, Comment, Doctype, NavigableString, Tag

from ingest.guide_parser import Block, classify_heading

_HTML_DROP = ["script", "style", "nav", "noscript", "template", "iframe", "svg", "object", "head"]
_HTML_HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
_HTML_BLOCKS = {
    "p", "div", "li", "ul", "ol", "section", "article", "main", "header", "footer", "aside", "blockquote",
    "pre", "dl", "dt", "dd", "form", "hr", "tr", "td", "th", "table", "tbody", "thead", "caption",
    "center", "address", "figure", "figcaption", "fieldset", "body",
}  # fmt: skip


def _clean_inline(text: str) -> str:
    return re.sub(r"[\s\u3000\xa0]+", " ", text).strip()


def _html_cell(cell: Tag) -> str:
    lines = (_clean_inline(line) for line in cell.get_text("\n").split("\n"))
    return "\n".join(line for line in lines if line)


def _html_rows(table: Tag) -> list[list[str]]:
    rows: list[list[str]] = []
    for tr in table.find_all("tr"):
        if tr.find_parent("table") is not table:
            continue  # belongs to a nested table
        cells = [_html_cell(cell) for cell in tr.find_all(["td", "th"], recursive=False)]
        if any(cells):
            rows.append(cells)
    return rows


def _dl_rows(dl: Tag) -> list[list[str]]:
    """<dl><dt>label</dt><dd>value</dd>…</dl> → [[label, value], …]; several <dd> join with newlines."""
    rows: list[list[str]] = []
    for child in dl.find_all(["dt", "dd"]):
        if child.find_parent("dl") is not dl:
            continue
        text = _html_cell(child)
        if child.name == "dt":
            rows.append([text, ""])
        elif rows:
            rows[-1][1] = f"{rows[-1][1]}\n{text}".strip("\n")
        elif text:
            rows.append(["", text])
    return [row for row in rows if any(row)]


_PAIR_LABEL_MAX = 16


def _label_value_pair(node: Tag) -> list[str] | None:
    """[label, value] for an element made of exactly a label element and a value element, as CSS
    grids of portals are built (<div><span class="k">实施机构</span><span class="v">…</span></div>)."""
    if any(isinstance(c, NavigableString) and c.strip() for c in node.children):
        return None
    children = [c for c in node.children if isinstance(c, Tag) and c.name not in {"br"}]
    if len(children) != 2 or any(c.name in {"table", "ul", "ol", "dl", *_HTML_HEADINGS} for c in children):
        return None
    if children[0].find(True) and children[0].find(["div", "p", "table", "ul", "ol"]):
        return None  # the label is itself a container: a layout block, not a field
    label = _clean_inline(children[0].get_text(" "))
    if not label or len(label) > _PAIR_LABEL_MAX or not re.search(r"[\u4e00-\u9fff]", label):
        return None
    if re.search(r"[，,。；;！？]", label):
        return None
    return [label.rstrip("：:").strip(), _html_cell(children[1])]


_TITLE_CLASS_RE = re.compile(r"(?:^|[-_])(?:title|tit|hd|head|header|caption)(?:$|[-_])", re.IGNORECASE)


def _styled_heading(node: Tag) -> str | None:
    """Text of a <div class="panel-title">申报材料</div>: portals built of divs mark headings by class."""
    classes = node.get("class") or []
    if not any(_TITLE_CLASS_RE.search(name) for name in classes):
        return None
    if node.find(["div", "p", "table", "ul", "ol", "dl", "li", *_HTML_HEADINGS]):
        return None
    text = _clean_inline(node.get_text(" "))
    return text if text and len(text) <= 20 else None


def _is_navigation(node: Tag) -> bool:
    """A list of section names (the tab bar of a portal page): short items that name guide sections."""
    items = [_clean_inline(li.get_text(" ")) for li in node.find_all("li")]
    if len(items) < 3 or any(len(item) > 12 for item in items):
        return False
    return sum(1 for item in items if classify_heading(item)) * 2 >= len(items)


def _html_blocks(text: str) -> tuple[str, list[Block]]:
    title, root = _parse_page(text)
    walker = _HtmlWalker()
    walker.walk(root)
    walker.flush()
    return title, walker.blocks


def _parse_page(text: str) -> tuple[str, Tag]:
    """(title, the element to walk) with scripts, navigation, comments and the like removed."""
    soup = BeautifulSoup(text, "lxml")
    title_tag = soup.find("title")
    title = _clean_inline(title_tag.get_text()) if title_tag else ""
    for tag in soup.find_all(_HTML_DROP):
        tag.decompose()
    for comment in soup.find_all(string=lambda value: isinstance(value, (Comment, Doctype))):
        comment.extract()
    if not title:
        h1 = soup.find("h1")
        title = _clean_inline(h1.get_text(" ")) if h1 else ""
    return title, soup.body or soup


def _whole_element(child: Tag) -> list[Block] | None:
    """The block of an element that stands as one unit (heading, data table, <dl>, tab bar, styled
    heading): [] when that unit is empty, None when the element is not one (it is walked instead)."""
    name = child.name
    if name in _HTML_HEADINGS:
        heading = _clean_inline(child.get_text(" "))
        return [Block("heading", level=int(name[1]), text=heading)] if heading else []
    # Layout tables (a table holding headings or other tables) are walked, not flattened.
    if name == "table" and not child.find(["table", *_HTML_HEADINGS]):
        rows = _html_rows(child)
        return [Block("table", rows=rows)] if rows else []
    if name == "dl":
        rows = _dl_rows(child)
        return [Block("table", rows=rows)] if rows else []
    if name in {"ul", "ol"} and _is_navigation(child):
        items = [_clean_inline(li.get_text(" ")) for li in child.find_all("li")]
        return [Block("paragraph", text=" | ".join(item for item in items if item))]
    styled = _styled_heading(child) if name in _HTML_BLOCKS else None
    return [Block("heading", level=3, text=styled)] if styled else None


class _HtmlWalker:
    """Walks the page in document order: inline text gathers in a buffer that block boundaries flush
    into paragraph lines; consecutive label/value elements grow one table."""

    def __init__(self) -> None:
        self.blocks: list[Block] = []
        self.buffer: list[str] = []
        self.pair_table: Block | None = None  # the table that consecutive label/value elements extend

    def flush(self) -> None:
        for line in "".join(self.buffer).split("\n"):
            line = _clean_inline(line)
            if line:
                self.blocks.append(Block("paragraph", text=line))
                self.pair_table = None
        self.buffer.clear()

    def add(self, block: Block) -> None:
        self.blocks.append(block)
        self.pair_table = None

    def add_pair(self, pair: list[str]) -> None:
        if self.pair_table is not None:
            self.pair_table.rows.append(pair)
        else:
            self.add(Block("table", rows=[pair]))
            self.pair_table = self.blocks[-1]

    def walk(self, node: Tag) -> None:
        for child in node.children:
            if isinstance(child, NavigableString):
                self.buffer.append(re.sub(r"\s+", " ", str(child)))
                continue
            if not isinstance(child, Tag):
                continue
            if child.name == "br":
                self.buffer.append("\n")
                continue
            whole = _whole_element(child)
            if whole is not None:
                self.flush()
                for block in whole:
                    self.add(block)
                continue
            is_block = child.name in _HTML_BLOCKS
            pair = _label_value_pair(child) if is_block else None
            if pair is not None:
                self.flush()
                self.add_pair(pair)
                continue
            if is_block:
                self.flush()
            self.walk(child)
            if is_block:
                self.flush()
