"""Cell editors: speaker (combo with completion), line (multi-line, tags highlighted and
completed after "["), stability (named detents + scene default), language."""

from __future__ import annotations

import html
import re
from collections import OrderedDict
from typing import Any

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, QSize, Qt, Signal
from PySide6.QtGui import (
    QAbstractTextDocumentLayout,
    QColor,
    QFont,
    QKeyEvent,
    QPalette,
    QSyntaxHighlighter,
    QTextCharFormat,
    QTextCursor,
    QTextDocument,
)
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QCompleter,
    QPlainTextEdit,
    QSpinBox,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QWidget,
)

from editor.core.catalog import audio_tags, detents, languages
from editor.core.scene import MAX_PAUSE_MS, Scene
from editor.ui.scene.model import VALUE_ROLE

TAG = re.compile(r"\[[^\[\]\n]{1,40}\]")
TAG_COLOR = QColor("#7c3aed")


def tag_color() -> QColor:
    dark = QApplication.palette().color(QPalette.ColorRole.Base).lightness() < 128
    return QColor("#c4b5fd") if dark else TAG_COLOR


def commit_and_close(delegate: QStyledItemDelegate, editor: QWidget) -> None:
    """Write the editor's value to the model and close it, as Enter or a pick should."""
    delegate.commitData.emit(editor)
    delegate.closeEditor.emit(editor, QStyledItemDelegate.EndEditHint.NoHint)


class TagHighlighter(QSyntaxHighlighter):
    def highlightBlock(self, text: str) -> None:
        fmt = QTextCharFormat()
        fmt.setForeground(tag_color())
        fmt.setFontWeight(600)
        for m in TAG.finditer(text):
            self.setFormat(m.start(), m.end() - m.start(), fmt)


class LineEditor(QPlainTextEdit):
    """Enter commits, Shift+Enter breaks the line, Tab moves on; "[" offers the v3 tags."""

    commit_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTabChangesFocus(True)
        self.setFrameShape(QPlainTextEdit.Shape.NoFrame)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.highlighter = TagHighlighter(self.document())
        self.completer = QCompleter([f"[{t}]" for t in audio_tags()], self)
        self.completer.setWidget(self)
        self.completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self.completer.activated.connect(self._on_completer_activated)
        self.completer.popup().installEventFilter(self)  # Tab takes a tag, as Enter does

    def eventFilter(self, watched: QObject, event: Any) -> bool:
        popup = self.completer.popup()
        if watched is popup and event.type() == event.Type.KeyPress and \
                event.key() in (Qt.Key.Key_Tab, Qt.Key.Key_Backtab) and popup.isVisible():
            index = popup.currentIndex()
            popup.hide()
            if index.isValid():
                self._on_completer_activated(str(index.data()))
            return True
        return super().eventFilter(watched, event)

    def _tag_prefix(self) -> str | None:
        cursor = self.textCursor()
        block = cursor.block().text()[:cursor.positionInBlock()]
        start = block.rfind("[")
        if start < 0 or "]" in block[start:]:
            return None
        return block[start:]

    def keyPressEvent(self, e: QKeyEvent) -> None:
        popup = self.completer.popup()
        if popup.isVisible() and e.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Tab,
                                             Qt.Key.Key_Escape):
            e.ignore()
            return
        if e.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and \
                not e.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            self.commit_requested.emit()
            return
        super().keyPressEvent(e)
        prefix = self._tag_prefix()
        if prefix is None or len(prefix) > 30:
            popup.hide()
            return
        self.completer.setCompletionPrefix(prefix)
        rect = self.cursorRect()
        rect.setWidth(220)
        self.completer.complete(rect)
        # The first match is highlighted, so Enter or Tab takes it (with none current, the
        # completer swallowed the key and inserted nothing).
        first = self.completer.completionModel().index(0, 0)
        if first.isValid() and not popup.currentIndex().isValid():
            popup.setCurrentIndex(first)

    def _on_completer_activated(self, text: str) -> None:
        prefix = self._tag_prefix() or ""
        cursor = self.textCursor()
        cursor.movePosition(QTextCursor.MoveOperation.Left, QTextCursor.MoveMode.KeepAnchor,
                            len(prefix))
        cursor.insertText(text + " ")
        self.setTextCursor(cursor)


def _rich(text: str) -> str:
    color = tag_color().name()
    out, last = [], 0
    for m in TAG.finditer(text):
        out.append(html.escape(text[last:m.start()]))
        out.append(f'<span style="color:{color};font-weight:600">{html.escape(m.group())}</span>')
        last = m.end()
    out.append(html.escape(text[last:]))
    return "".join(out).replace("\n", "<br>")


class LineDelegate(QStyledItemDelegate):
    """Paints the line wrapped, with audio tags coloured; edits it in a LineEditor."""

    # Laid-out lines kept for repaints (a scroll paints the same few dozen again and again;
    # laying out rich text is most of a row's paint), the least recently used dropped first.
    KEEP = 400

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._docs: OrderedDict[tuple[str, int, str, int], QTextDocument] = OrderedDict()

    def _layout(self, option: QStyleOptionViewItem, text: str, width: int) -> QTextDocument:
        return self.layout(option.font, text, width)

    def layout(self, font: QFont, text: str, width: int) -> QTextDocument:
        width = max(40, width)
        key = (text, width, font.key(), tag_color().rgba())
        doc = self._docs.get(key)
        if doc is not None:
            self._docs.move_to_end(key)
            return doc
        doc = QTextDocument()
        doc.setDocumentMargin(4)
        doc.setDefaultFont(font)
        doc.setHtml(_rich(text) if text else "")
        doc.setTextWidth(width)
        self._docs[key] = doc
        if len(self._docs) > self.KEEP:
            self._docs.popitem(last=False)
        return doc

    def row_height(self, font: QFont, text: str, width: int) -> int:
        """The height of a row showing ``text`` wrapped in ``width`` pixels."""
        return max(26, int(self.layout(font, text, width).size().height()) + 2)

    def paint(self, painter: Any, option: QStyleOptionViewItem,
              index: QModelIndex | QPersistentModelIndex) -> None:
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        text = opt.text
        opt.text = ""
        style = opt.widget.style() if opt.widget else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, opt.widget)
        doc = self._layout(option, text, option.rect.width())
        ctx = QAbstractTextDocumentLayout.PaintContext()
        selected = bool(opt.state & QStyle.StateFlag.State_Selected)
        role = QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
        ctx.palette.setColor(QPalette.ColorRole.Text, opt.palette.color(role))
        painter.save()
        painter.translate(option.rect.topLeft())
        painter.setClipRect(option.rect.translated(-option.rect.topLeft()))
        doc.documentLayout().draw(painter, ctx)
        painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem,
                 index: QModelIndex | QPersistentModelIndex) -> QSize:
        text = index.data(Qt.ItemDataRole.DisplayRole) or ""
        width = option.rect.width() if option.rect.width() > 0 else 420
        return QSize(width, self.row_height(option.font, text, width))

    def createEditor(self, parent: QWidget, option: QStyleOptionViewItem,
                     index: QModelIndex | QPersistentModelIndex) -> QWidget:
        editor = LineEditor(parent)
        editor.commit_requested.connect(lambda: commit_and_close(self, editor))
        return editor

    def setEditorData(self, editor: QWidget, index: QModelIndex | QPersistentModelIndex) -> None:
        assert isinstance(editor, LineEditor)
        if editor.toPlainText() != (index.data(Qt.ItemDataRole.EditRole) or ""):
            editor.setPlainText(index.data(Qt.ItemDataRole.EditRole) or "")
            editor.moveCursor(QTextCursor.MoveOperation.End)

    def setModelData(self, editor: QWidget, model: Any,
                     index: QModelIndex | QPersistentModelIndex) -> None:
        assert isinstance(editor, LineEditor)
        model.setData(index, editor.toPlainText(), Qt.ItemDataRole.EditRole)

    def updateEditorGeometry(self, editor: QWidget, option: QStyleOptionViewItem,
                             index: QModelIndex | QPersistentModelIndex) -> None:
        rect = option.rect
        rect.setHeight(max(rect.height(), 56))
        editor.setGeometry(rect)


class NumberDelegate(QStyledItemDelegate):
    """The "#" column: the line's number (its row + 1) beside the play button."""

    def initStyleOption(self, option: QStyleOptionViewItem,
                        index: QModelIndex | QPersistentModelIndex) -> None:
        super().initStyleOption(option, index)
        option.text = str(index.row() + 1)  # type: ignore[attr-defined]
        option.displayAlignment = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter  # type: ignore[attr-defined]


class SpeakerDelegate(QStyledItemDelegate):
    def __init__(self, scene_of: Any, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._scene_of = scene_of  # callable: the current scene

    def createEditor(self, parent: QWidget, option: QStyleOptionViewItem,
                     index: QModelIndex | QPersistentModelIndex) -> QWidget:
        scene: Scene = self._scene_of()
        combo = QComboBox(parent)
        combo.setEditable(True)
        combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        combo.addItems(list(scene.cast))
        combo.completer().setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        combo.completer().setCompletionMode(QCompleter.CompletionMode.InlineCompletion)
        return combo

    def setEditorData(self, editor: QWidget, index: QModelIndex | QPersistentModelIndex) -> None:
        assert isinstance(editor, QComboBox)
        editor.setCurrentText(index.data(Qt.ItemDataRole.EditRole) or "")
        line_edit = editor.lineEdit()
        if line_edit is not None:
            line_edit.selectAll()

    def setModelData(self, editor: QWidget, model: Any,
                     index: QModelIndex | QPersistentModelIndex) -> None:
        assert isinstance(editor, QComboBox)
        name = editor.currentText().strip()
        if name:
            model.setData(index, name, Qt.ItemDataRole.EditRole)


MOVE_KEYS = (Qt.Key.Key_Up, Qt.Key.Key_Down)


def is_move_key(e: QKeyEvent) -> bool:
    """Alt+Up/Down: Move Lines Up/Down, wherever the focus is in the table."""
    mods = e.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
    return e.key() in MOVE_KEYS and mods == Qt.KeyboardModifier.AltModifier


class ChoiceCombo(QComboBox):
    """A cell's combo that leaves Alt+Up/Down to the window (QComboBox opens its list on
    Alt+Down and ate the Move Lines keys): the shortcut is not overridden here."""

    def event(self, e: Any) -> bool:
        if e.type() == e.Type.ShortcutOverride and is_move_key(e):
            e.ignore()
            return False
        return super().event(e)

    def keyPressEvent(self, e: QKeyEvent) -> None:
        if is_move_key(e):
            e.ignore()
            return
        super().keyPressEvent(e)


class ChoiceDelegate(QStyledItemDelegate):
    """A combo of (label, value) choices; value None is "the scene's value"."""

    def __init__(self, choices: list[tuple[str, Any]], parent: QObject | None = None, *,
                 tips: bool = False) -> None:
        super().__init__(parent)
        self.choices = choices
        self.tips = tips  # the stability column: each choice explains itself

    def createEditor(self, parent: QWidget, option: QStyleOptionViewItem,
                     index: QModelIndex | QPersistentModelIndex) -> QWidget:
        combo = ChoiceCombo(parent)
        for label, value in self.choices:
            combo.addItem(label, value)
            tip = stability_help(value) if self.tips else ""
            if tip:
                combo.setItemData(combo.count() - 1, tip, Qt.ItemDataRole.ToolTipRole)
        combo.activated.connect(lambda _i: commit_and_close(self, combo))
        return combo

    def setEditorData(self, editor: QWidget, index: QModelIndex | QPersistentModelIndex) -> None:
        assert isinstance(editor, QComboBox)
        value = index.data(VALUE_ROLE)
        for i, (_label, v) in enumerate(self.choices):
            if v == value:
                editor.setCurrentIndex(i)
                break

    def setModelData(self, editor: QWidget, model: Any,
                     index: QModelIndex | QPersistentModelIndex) -> None:
        assert isinstance(editor, QComboBox)
        model.setData(index, self.choices[editor.currentIndex()][1], Qt.ItemDataRole.EditRole)


class PauseDelegate(QStyledItemDelegate):
    """Milliseconds of silence after a line; the lowest value means "the scene's gap"."""

    def createEditor(self, parent: QWidget, option: QStyleOptionViewItem,
                     index: QModelIndex | QPersistentModelIndex) -> QWidget:
        spin = QSpinBox(parent)
        spin.setRange(-50, MAX_PAUSE_MS)
        spin.setSingleStep(50)
        spin.setSuffix(" ms")
        spin.setSpecialValueText("Scene gap")
        spin.setAccelerated(True)
        spin.setToolTip("Silence after this line. Step to the bottom for the scene's gap.")
        return spin

    def setEditorData(self, editor: QWidget, index: QModelIndex | QPersistentModelIndex) -> None:
        assert isinstance(editor, QSpinBox)
        value = index.data(VALUE_ROLE)
        editor.setValue(editor.minimum() if value is None else int(value))
        editor.selectAll()

    def setModelData(self, editor: QWidget, model: Any,
                     index: QModelIndex | QPersistentModelIndex) -> None:
        assert isinstance(editor, QSpinBox)
        editor.interpretText()
        value = editor.value()
        model.setData(index, None if value < 0 else value, Qt.ItemDataRole.EditRole)


def stability_help(value: Any) -> str:
    """What a stability choice does, for tooltips (resources/stability.json)."""
    if value is None:
        return "Use the scene's stability (Scene > Scene Settings)."
    for d in detents():
        if abs(d.value - float(value)) < 1e-9:
            return f"{d.name} ({d.value:g}): {d.help}"
    return ""


def stability_overview() -> str:
    """Every mode in one tooltip: the header's and the cell's."""
    return "\n".join(f"{d.name}: {d.help}" for d in detents())


def stability_choices() -> list[tuple[str, Any]]:
    return [("Scene default", None)] + [(f"{d.name} ({d.value:g})", d.value) for d in detents()]


def language_choices() -> list[tuple[str, Any]]:
    return [("Scene default", None)] + [(lang.name, lang.code) for lang in languages()]

