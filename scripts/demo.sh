#!/usr/bin/env bash
# Installs the package and scans the sample media: the product's main job.
source "$(dirname "$0")/_venv.sh" ""
# The demo's own database and configuration (see demo/README.md): a bank that
# lists one known fake, and a watermark registry with one partner generator.
# They go into ./aigc.toml, which every `aigc` run in this folder reads, so the
# commands after the demo (README: "Using it") see the same bank and registry.
config="$root/aigc.toml"
marker="# written by scripts/demo.sh"
if [ -e "$config" ] && ! head -n 1 "$config" | grep -qF "$marker"; then
  echo "note: $config is not the demo's; the demo runs with its own settings in the environment" >&2
  export AIGC_CONFIG=none AIGC_DATABASE_URL="sqlite:///$root/data/demo.db" \
    AIGC_WATERMARK_KEYS="$root/demo/watermark-keys.yaml"
else
  cat >"$config" <<TOML
$marker: the demo's bank and watermark key registry.
# Delete this file (or set AIGC_CONFIG=none) to use the defaults; \`aigc config\`
# shows every setting and where it comes from. The environment wins over it.
database_url = "sqlite:///$root/data/demo.db"
watermark_keys = "$root/demo/watermark-keys.yaml"
TOML
fi
rm -f data/demo.db data/demo.db-wal data/demo.db-shm
aigc db init >/dev/null
aigc bank import demo/known-fakes.csv --by demo >/dev/null
echo
aigc scan samples/
