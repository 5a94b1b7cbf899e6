#!/usr/bin/env bash
# Installs the package and scans the sample media: the product's main job.
source "$(dirname "$0")/_venv.sh" ""
# The demo's own database and configuration (see demo/README.md): a bank that
# lists one known fake, and a watermark registry with one partner generator.
rm -f data/demo.db
export AIGC_DATABASE_URL="sqlite:///$root/data/demo.db"
export AIGC_WATERMARK_KEYS="$root/demo/watermark-keys.yaml"
aigc bank import demo/known-fakes.csv --by demo >/dev/null
echo
aigc scan samples/
