#!/bin/sh
# linli backup: the database (pg_dump custom format, or SQLite's online backup), the uploaded
# files and import reports, with checksums, into $LINLI_BACKUP_DIR/<date-time>/.
# The keys are NOT copied: keep /etc/linli/linli.env (or secrets.json) on another medium
# (docs/deployment.md, "Backups"). Run by linli-backup.timer, by `linli upgrade` before it
# migrates, or by hand:  sudo -u linli env $(cat /etc/linli/linli.env | xargs) deploy/backup.sh
# Prints the backup folder on its last line.
set -eu

env_file="${LINLI_ENV_FILE:-/etc/linli/linli.env}"
if [ -z "${LINLI_DATABASE_URL:-}${LINLI_DATA_DIR:-}" ] && [ -r "$env_file" ]; then
    set -a; . "$env_file"; set +a
fi
data_dir="${LINLI_DATA_DIR:-/var/lib/linli}"
backup_dir="${LINLI_BACKUP_DIR:-/var/backups/linli}"
keep_days="${LINLI_BACKUP_KEEP_DAYS:-14}"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
target="$backup_dir/$stamp"
umask 077
mkdir -p "$target"

case "${LINLI_DATABASE_URL:-}" in
    postgres://*|postgresql://*)
        pg_dump --format=custom --no-owner --no-privileges --file "$target/linli.dump" "$LINLI_DATABASE_URL"
        pg_restore --list "$target/linli.dump" > /dev/null      # readable, or fail now
        ;;
    "")
        # SQLite: the online backup API gives a consistent copy while linli runs.
        python3 - "$data_dir/linli.sqlite3" "$target/linli.sqlite3" <<'PY'
import sqlite3, sys
source, copy = sqlite3.connect(sys.argv[1]), sqlite3.connect(sys.argv[2])
with copy:
    source.backup(copy)
assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
PY
        ;;
    *)
        echo "backup.sh: unsupported LINLI_DATABASE_URL scheme" >&2; exit 2 ;;
esac

folders=""
for folder in files fusion; do
    [ -d "$data_dir/$folder" ] && folders="$folders $folder"
done
if [ -n "$folders" ]; then
    # shellcheck disable=SC2086
    tar -C "$data_dir" -czf "$target/files.tar.gz" $folders
fi
(cd "$target" && sha256sum ./* > SHA256SUMS)

# Keep the last $keep_days days of backups (the newest is never removed).
find "$backup_dir" -mindepth 1 -maxdepth 1 -type d -name '20*' -mtime "+$keep_days" ! -path "$target" \
    -exec rm -rf {} +
echo "$target"
