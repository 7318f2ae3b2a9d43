#!/bin/sh
# linli restore: put a backup folder of deploy/backup.sh back.
#   deploy/restore.sh /var/backups/linli/20261207T023000Z
# Into the database LINLI_DATABASE_URL names, which must be new and empty (createdb as in
# docs/deployment.md); SQLite: the data folder's linli.sqlite3 must not exist. The keys must
# be the ones of the backup (the same linli.env / secrets.json): check with `linli audit
# verify` and a person page afterwards (docs/deployment.md, "Restore").
set -eu

src="${1:?usage: restore.sh BACKUP_FOLDER}"
env_file="${LINLI_ENV_FILE:-/etc/linli/linli.env}"
if [ -z "${LINLI_DATABASE_URL:-}${LINLI_DATA_DIR:-}" ] && [ -r "$env_file" ]; then
    set -a; . "$env_file"; set +a
fi
data_dir="${LINLI_DATA_DIR:-/var/lib/linli}"
(cd "$src" && sha256sum --quiet --check SHA256SUMS)

case "${LINLI_DATABASE_URL:-}" in
    postgres://*|postgresql://*)
        tables=$(psql -XAtq -d "$LINLI_DATABASE_URL" -c \
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'")
        if [ "$tables" != "0" ]; then
            echo "restore.sh: the target database is not empty ($tables tables): create a new one" >&2
            exit 1
        fi
        pg_restore --no-owner --no-privileges --exit-on-error --single-transaction \
            --dbname "$LINLI_DATABASE_URL" "$src/linli.dump"
        ;;
    "")
        if [ -e "$data_dir/linli.sqlite3" ]; then
            echo "restore.sh: $data_dir/linli.sqlite3 exists: move it away first" >&2
            exit 1
        fi
        mkdir -p "$data_dir"
        cp "$src/linli.sqlite3" "$data_dir/linli.sqlite3"
        ;;
    *)
        echo "restore.sh: unsupported LINLI_DATABASE_URL scheme" >&2; exit 2 ;;
esac

if [ -f "$src/files.tar.gz" ]; then
    mkdir -p "$data_dir"
    tar -C "$data_dir" -xzf "$src/files.tar.gz"
fi
echo "restored $src; now run: linli migrate && linli audit verify"
