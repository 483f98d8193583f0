#!/usr/bin/env bash
# Install (or remove) trtgui's desktop entry, AppStream metadata, MIME types and icons.
#
#   bash packaging/linux/install.sh                      # for this user, into ~/.local
#   sudo bash packaging/linux/install.sh --prefix /usr/local
#   bash packaging/linux/install.sh --exec /opt/trtgui/trtgui   # a bundle not on PATH
#   bash packaging/linux/install.sh --uninstall [--prefix ...]
#
# The program itself is installed separately (`pip install .` or the bundle in dist/trtgui/);
# by default the desktop entry runs `trtgui` from PATH.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
app_id=io.github.trtgui.trtgui
prefix="${XDG_DATA_HOME:-$HOME/.local/share}"
prefix=${prefix%/share}
exec_path=""
uninstall=0
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) prefix=$2; shift 2 ;;
    --exec) exec_path=$2; shift 2 ;;
    --uninstall) uninstall=1; shift ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "unknown option: $1" >&2; exit 2 ;;
  esac
done
share="$prefix/share"
icons="$share/icons/hicolor"
sizes="16 32 48 64 128 256"

files=(
  "$share/applications/$app_id.desktop"
  "$share/metainfo/$app_id.metainfo.xml"
  "$share/mime/packages/$app_id.xml"
  "$icons/scalable/apps/$app_id.svg"
)
for s in $sizes; do files+=("$icons/${s}x${s}/apps/$app_id.png"); done

refresh() {
  # Caches are optional: a desktop without these tools rescans on its own.
  if command -v update-desktop-database >/dev/null; then
    update-desktop-database -q "$share/applications" || true
  fi
  if command -v update-mime-database >/dev/null; then
    update-mime-database "$share/mime" >/dev/null || true
  fi
  if command -v gtk-update-icon-cache >/dev/null && [ -f "$icons/index.theme" ]; then
    gtk-update-icon-cache -q -t "$icons" || true
  fi
}

if [ "$uninstall" = 1 ]; then
  rm -f "${files[@]}"
  refresh
  echo "removed trtgui's desktop files from $prefix"
  exit 0
fi

install -D -m 644 "$here/$app_id.desktop" "$share/applications/$app_id.desktop"
if [ -n "$exec_path" ]; then
  exec_path=$(realpath -m "$exec_path")
  sed -i -e "s|^Exec=trtgui |Exec=\"$exec_path\" |" -e "s|^TryExec=trtgui$|TryExec=$exec_path|" \
    "$share/applications/$app_id.desktop"
fi
install -D -m 644 "$here/$app_id.metainfo.xml" "$share/metainfo/$app_id.metainfo.xml"
install -D -m 644 "$here/$app_id.mime.xml" "$share/mime/packages/$app_id.xml"
install -D -m 644 "$root/resources/icons/trtgui.svg" "$icons/scalable/apps/$app_id.svg"
for s in $sizes; do
  install -D -m 644 "$root/resources/icons/png/trtgui-$s.png" "$icons/${s}x${s}/apps/$app_id.png"
done
refresh
echo "installed trtgui's desktop entry, metadata, MIME types and icons into $prefix"
