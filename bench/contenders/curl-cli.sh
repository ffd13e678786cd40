#!/bin/sh
# The curl command line once per request, as a shell script would use it
# (a new process and a new connection each time; the body is not decoded).
#   curl-cli.sh URL TOKEN N
url=$1 token=$2 n=$3
i=0
while [ "$i" -lt "$n" ]; do
  body=$(curl -sS --fail -H "X-Auth-Token: $token" -H 'Accept: application/json' "$url") || exit 1
  i=$((i + 1))
done
[ -n "$body" ] || exit 1
