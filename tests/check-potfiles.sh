#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# po/POTFILES.in must list, sorted, every source file with a translatable
# string: a file missing there is never translated, silently.
set -eu
top=${1:?usage: check-potfiles.sh SOURCE_ROOT}
cd "$top"
listed=$(grep -v '^#' po/POTFILES.in | grep -v '^$' || true)
found=$( { grep -l -E '_\("|N_\("|ngettext ?\(|C_\("' $(find src -name '*.c') 2>/dev/null;
          grep -l 'translatable="yes"' $(find ui -name '*.ui' 2>/dev/null) 2>/dev/null; } | sort || true)
status=0
for f in $found; do
  if ! printf '%s\n' "$listed" | grep -qx "$f"; then
    echo "not ok: $f has translatable strings but is not in po/POTFILES.in"
    status=1
  fi
done
for f in $listed; do
  if [ ! -f "$f" ]; then
    echo "not ok: po/POTFILES.in lists $f, which does not exist"
    status=1
  fi
done
if [ "$listed" != "$(printf '%s\n' "$listed" | LC_ALL=C sort)" ]; then
  echo "not ok: po/POTFILES.in is not sorted"
  status=1
fi
[ $status -eq 0 ] && echo "ok: po/POTFILES.in lists $(printf '%s\n' "$listed" | wc -l) files"
exit $status
