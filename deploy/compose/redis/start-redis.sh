#!/bin/sh
# Starts redis-server with the users of acl.rules. Each user's password comes from the
# environment, REDIS_PASSWORD_<USER> (upper case, '-' as '_'), and is written to the ACL
# file only as its SHA-256. Extra arguments go to redis-server.
set -eu
rules="${ARENA_ACL_RULES:-$(dirname "$0")/acl.rules}"
aclfile="${ARENA_ACL_FILE:-/tmp/arena-users.acl}"
umask 077
: > "$aclfile"
while read -r keyword user rest; do
  case "$keyword" in ''|'#'*) continue ;; esac
  if [ "$user" = default ]; then
    echo "user default $rest" >> "$aclfile"
    continue
  fi
  var="REDIS_PASSWORD_$(printf %s "$user" | tr 'a-z-' 'A-Z_')"
  password=$(printenv "$var" || true)
  if [ -z "$password" ]; then
    echo "start-redis: $var is not set; it is the password of the Redis user '$user'" >&2
    exit 2
  fi
  hash=$(printf %s "$password" | sha256sum | cut -d' ' -f1)
  echo "user $user #$hash $rest" >> "$aclfile"
done < "$rules"
exec redis-server --aclfile "$aclfile" "$@"
