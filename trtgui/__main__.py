"""`python -m trtgui` starts the desktop app (the same as the `trtgui` command)."""

from trtgui.gui.app import main

if __name__ == "__main__":
    raise SystemExit(main())
