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
    assert view.text.document().blockCount() == 5000
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
    assert view.text.textCursor().selectedText() == "layer 7"
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
    assert view.text.document().blockCount() <= 100
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
