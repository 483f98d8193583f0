"""`trtgui-cli`: the headless twin of the app, over trtgui.core."""
