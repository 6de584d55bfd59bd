#!/usr/bin/env bash
# Run before `npm test`: the analytics.js test drives Debian's headless Chromium (playwright-core never
# downloads a browser). Installs it when missing and we may (root with apt-get); otherwise says how.
set -euo pipefail
[ -x /usr/bin/chromium ] && exit 0
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing Chromium for the browser test (apt-get install chromium)..."
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  exit 0
fi
echo "The browser test needs /usr/bin/chromium: install it with 'sudo apt-get install chromium'." >&2
exit 1
