"""GUI-independent core: everything trtgui does, without Qt. The CLI and the GUI call this."""
