"""PySide6 desktop app over trtgui.core."""
