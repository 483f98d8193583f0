"""The log view: thread-safe buffer, batched appends (never one signal per line), severity
filter, find, copy, save, line cap."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from PySide6.QtWidgets import QApplication

from trtgui.gui.log_view import LogBuffer, LogView


def test_buffer_is_thread_safe() -> None:
    buf = LogBuffer(maxlen=100_000)

    def produce(k: int) -> None:
        for i in range(5000):
            buf.append(logging.INFO, f"{k}-{i}")

    threads = [threading.Thread(target=produce, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert buf.total == 20_000
    assert len(buf.drain()) == 20_000
    assert buf.drain() == []


def test_one_batch_per_drain(qtbot) -> None:
    view = LogView()
    qtbot.addWidget(view)
    view.timer.stop()
    batches: list[int] = []
    view.lines_shown.connect(batches.append)
    for i in range(5000):
        view.sink(logging.INFO, f"line {i}")
    assert view.flush() == 5000
    assert batches == [5000]
    assert view.text.line_count() == 5000
    assert view.plain_text().splitlines()[-1] == "[I] line 4999"


def test_a_burst_is_appended_in_chunks_through_the_event_loop(qtbot) -> None:
    from trtgui.gui.log_view import DRAIN_CHUNK

    view = LogView()
    qtbot.addWidget(view)
    view.timer.stop()
    batches: list[int] = []
    view.lines_shown.connect(batches.append)
    for i in range(5 * DRAIN_CHUNK + 7):
        view.sink(logging.INFO, f"line {i}")
    assert view.drain() == DRAIN_CHUNK
    qtbot.waitUntil(lambda: view.lines_displayed == 5 * DRAIN_CHUNK + 7, timeout=2000)
    assert max(batches) == DRAIN_CHUNK and len(batches) == 6
    assert view.plain_text().splitlines()[-1] == f"[I] line {5 * DRAIN_CHUNK + 6}"


def test_timer_drains_lines_from_another_thread(qtbot) -> None:
    view = LogView()
    qtbot.addWidget(view)
    t = threading.Thread(target=lambda: [view.sink(logging.WARNING, f"w{i}") for i in range(300)])
    t.start()
    t.join()
    qtbot.waitUntil(lambda: view.lines_displayed == 300, timeout=2000)


def test_severity_filter_rerenders(qtbot) -> None:
    view = LogView()
    qtbot.addWidget(view)
    for level, msg in (
        (logging.ERROR, "bad"),
        (logging.WARNING, "careful"),
        (logging.INFO, "ok"),
        (5, "verbose detail"),
    ):
        view.sink(level, msg)
    view.drain()
    assert "verbose detail" not in view.plain_text()  # Info is the default
    view.set_min_level(logging.ERROR)
    assert view.plain_text() == "[E] bad"
    view.set_min_level(1)
    assert view.plain_text().splitlines() == [
        "[E] bad",
        "[W] careful",
        "[I] ok",
        "[V] verbose detail",
    ]


def test_find_copy_save_clear(qtbot, tmp_path: Path) -> None:
    view = LogView()
    qtbot.addWidget(view)
    for i in range(10):
        view.sink(logging.INFO, f"layer {i}")
    view.drain()
    view.search.setText("layer 7")
    assert view.find_next()
    assert view.text.selected_text() == "layer 7"
    view.copy()
    assert QApplication.clipboard().text() == "layer 7"
    view.search.setText("absent")
    assert not view.find_next()
    out = tmp_path / "log.txt"
    view.save(out)
    assert out.read_text().splitlines()[0] == "[I] layer 0"
    view.clear()
    assert view.plain_text() == ""


def test_line_cap(qtbot) -> None:
    view = LogView(max_lines=100)
    qtbot.addWidget(view)
    for i in range(1000):
        view.sink(logging.INFO, f"{i}")
    view.flush()
    assert view.text.line_count() <= 100
    assert view.plain_text().splitlines()[-1] == "[I] 999"


def test_logging_handler_feeds_the_view(qtbot) -> None:
    view = LogView()
    qtbot.addWidget(view)
    logger = logging.getLogger("trtgui.test.logview")
    handler = view.handler()
    logger.addHandler(handler)
    try:
        logger.warning("from logging %d", 3)
    finally:
        logger.removeHandler(handler)
    view.drain()
    assert "[W] from logging 3" in view.plain_text()


def test_level_chooser_maps_any_level_to_the_entry_that_shows_it(qtbot) -> None:
    """The Build panel sets and reads the one log control by logging level."""
    view = LogView()
    qtbot.addWidget(view)
    # TensorRT's VERBOSE is 5 (trtgui.core.build.trt_log.VERBOSE), below logging.DEBUG (10).
    chosen = {}
    for level in (5, logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR, logging.CRITICAL):
        view.set_min_level(level)
        chosen[level] = (view.severity.currentText(), view.min_level())
    assert chosen == {
        5: ("Verbose", 1),
        logging.DEBUG: ("Verbose", 1),
        logging.INFO: ("Info", logging.INFO),
        logging.WARNING: ("Warnings", logging.WARNING),
        logging.ERROR: ("Errors", logging.ERROR),
        logging.CRITICAL: ("Errors", logging.ERROR),
    }


def _shown_view(qtbot) -> LogView:  # type: ignore[no-untyped-def]
    """A log view on screen at 600x300, closed with the test."""
    view = LogView()
    qtbot.addWidget(view)
    view.resize(600, 300)
    view.show()
    return view


def _settled(qtbot, view: LogView) -> None:  # type: ignore[no-untyped-def]
    view.flush()
    qtbot.waitUntil(lambda: not view.text.repainting(), timeout=2000)


def test_follows_the_tail_unless_scrolled_up(qtbot) -> None:
    view = _shown_view(qtbot)
    view.timer.stop()
    for i in range(500):
        view.sink(logging.INFO, f"line {i}")
    _settled(qtbot, view)
    bar = view.text.verticalScrollBar()
    assert bar.value() == bar.maximum() > 0
    assert view.text.painted_lines()[-1] == "[I] line 499"  # the tail is in sight
    bar.setValue(10)  # the user scrolls up to read
    _settled(qtbot, view)
    in_sight = view.text.painted_lines()
    assert in_sight[0] == "[I] line 10"
    for i in range(500, 900):
        view.sink(logging.INFO, f"line {i}")
    _settled(qtbot, view)
    assert bar.value() == 10 and view.text.painted_lines() == in_sight  # left where they were
    bar.setValue(bar.maximum())  # back at the end: follows again
    for i in range(900, 950):
        view.sink(logging.INFO, f"line {i}")
    _settled(qtbot, view)
    assert view.text.painted_lines()[-1] == "[I] line 949"


def test_the_cap_keeps_the_rows_being_read_in_place(qtbot) -> None:
    view = LogView(max_lines=300)
    qtbot.addWidget(view)
    view.resize(600, 300)
    view.show()
    view.timer.stop()
    for i in range(300):
        view.sink(logging.INFO, f"line {i}")
    _settled(qtbot, view)
    view.text.verticalScrollBar().setValue(100)
    _settled(qtbot, view)
    assert view.text.painted_lines()[0] == "[I] line 100"
    for i in range(300, 350):  # 50 lines fall off the start
        view.sink(logging.INFO, f"line {i}")
    _settled(qtbot, view)
    assert view.text.line_count() == 300
    assert view.text.painted_lines()[0] == "[I] line 100"


def test_find_selects_the_match_past_tabs_and_wraps_around(qtbot) -> None:
    view = LogView()
    qtbot.addWidget(view)
    view.sink(logging.INFO, "one\tneedle here")
    view.sink(logging.INFO, "two")
    view.sink(logging.INFO, "x\t\tNEEDLE again")
    view.flush()
    view.search.setText("needle")
    assert view.find_next() and view.text.selected_text() == "needle"
    assert view.find_next() and view.text.selected_text() == "NEEDLE"  # case-insensitive
    assert view.find_next() and view.text.selected_text() == "needle"  # wrapped to the top
    view.copy()
    assert QApplication.clipboard().text() == "needle"


def test_mouse_drag_selects_characters_and_ctrl_c_copies_them(qtbot) -> None:
    from PySide6.QtCore import QPoint, Qt
    from PySide6.QtGui import QFontMetricsF

    from trtgui.gui.log_lines import MARGIN

    view = _shown_view(qtbot)
    for i in range(3):
        view.sink(logging.INFO, f"row\t{i} text")
    _settled(qtbot, view)
    lines = view.text
    advance = QFontMetricsF(lines.font()).horizontalAdvance("M")
    row_h = lines.fontMetrics().lineSpacing()

    def at(row: int, col: int) -> QPoint:  # col in shown columns: "[I] row" then a tab to 8
        return QPoint(int(MARGIN + col * advance), int(MARGIN + row * row_h + row_h / 2))

    qtbot.mousePress(lines.viewport(), Qt.MouseButton.LeftButton, pos=at(0, 8))
    qtbot.mouseMove(lines.viewport(), at(1, 7))
    qtbot.mouseRelease(lines.viewport(), Qt.MouseButton.LeftButton, pos=at(1, 7))
    assert lines.selected_text() == "0 text\n[I] row"
    qtbot.keyClick(lines, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert QApplication.clipboard().text() == "0 text\n[I] row"
    qtbot.keyClick(lines, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    assert (
        lines.selected_text()
        == view.plain_text()
        == "\n".join(f"[I] row\t{i} text" for i in range(3))
    )  # tabs come back in a copy


def test_shown_columns_and_character_indexes_agree_across_tabs() -> None:
    from trtgui.gui.log_lines import shown, to_index, to_shown_col

    line = "ab\tc\t\td"
    # by hand: "ab" then a tab to column 8, "c" at 8, tabs to 16 and 24, "d" at 24
    assert shown(line) == "ab      c       " + " " * 8 + "d"
    assert [to_shown_col(line, i) for i in range(len(line) + 1)] == [0, 1, 2, 8, 9, 16, 24, 25]
    assert [to_index(line, c) for c in (0, 2, 5, 8, 24, 99)] == [0, 2, 3, 3, 6, 7]


def test_a_20000_character_line_and_the_placeholder_paint(qtbot) -> None:
    view = _shown_view(qtbot)
    empty = view.text.viewport().grab().toImage()
    first_row = {empty.pixel(x, y) for x in range(0, 300) for y in range(0, 20)}
    assert len(first_row) > 1  # the placeholder is drawn on the background
    view.sink(5, "t" * 20_000)  # 5: TensorRT's VERBOSE (trtgui.core.build.trt_log)
    view.set_min_level(1)
    _settled(qtbot, view)
    painted = view.text.painted_lines()
    assert len(painted) == 1 and len(painted[0]) < 200  # only the columns in sight
    assert view.text.horizontalScrollBar().maximum() > 100_000


def test_find_scrolls_a_match_far_right_into_sight(qtbot) -> None:
    view = _shown_view(qtbot)
    for i in range(200):
        view.sink(logging.INFO, f"line {i}")
    view.sink(logging.INFO, "x" * 500 + "needle")
    for i in range(200):
        view.sink(logging.INFO, f"more {i}")
    _settled(qtbot, view)
    view.search.setText("needle")
    assert view.find_next()
    _settled(qtbot, view)
    assert view.text.horizontalScrollBar().value() > 0
    assert any("needle" in row for row in view.text.painted_lines())  # in sight, not clipped
