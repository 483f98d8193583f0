"""The cyclic garbage collector runs on the GUI thread only (trtgui.gui.gc_guard).

Without it, `tests/gui/test_workers.py tests/gui/test_inference_inputs.py` run together
crashed with SIGSEGV every time on 2026-12-01: a worker thread's allocation triggered a
collection that freed a widget's wrapper, and PySide6 deleted the widget again in the main
thread (`Shiboken::BindingManager::runDeletionInMainThread` in the native backtrace).
"""

from __future__ import annotations

import gc
import threading

from trtgui.gui import gc_guard


def test_installed_collection_is_off_and_the_timer_runs(qapp) -> None:  # type: ignore[no-untyped-def]
    collector = gc_guard.install(qapp)
    assert not gc.isenabled()
    assert collector.timer.isActive()
    assert gc_guard.install(qapp) is collector  # one collector for the process


def test_a_worker_threads_garbage_waits_for_the_gui_thread(qapp) -> None:  # type: ignore[no-untyped-def]
    collector = gc_guard.install(qapp)
    freed = threading.Event()

    class Cycle:
        def __init__(self) -> None:
            self.me = self

        def __del__(self) -> None:
            freed.set()

    def allocate() -> None:
        Cycle()
        # Containers kept alive count towards the threshold (700): far past it, automatic
        # collection would run here, in this thread, and free the cycle.
        kept = [[] for _ in range(50_000)]
        assert kept

    worker = threading.Thread(target=allocate)
    worker.start()
    worker.join()
    assert not freed.is_set()  # nothing collected in the worker thread
    while collector.collect_due() != -1:  # what the GUI thread's timer does
        pass
    gc.collect()
    assert freed.is_set()
