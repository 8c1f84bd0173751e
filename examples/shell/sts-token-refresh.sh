#!/bin/sh
# Keeps a Seed STS access token fresh in a file, with curl and jq only: the simplest client, for a
# container with a shell and nothing else. (Workloads in Node use @seed-sts/client; any other
# language can run `sts agent`, which adds single flight per token, metrics and a health endpoint.)
#
# Each round exchanges the attestation (a Kubernetes projected service-account token, re-read every
# time because the kubelet rotates it) for an access token, writes it atomically (a new file with
# mode 0600, renamed over the old one, so a reader never sees half a token), and sleeps until about
# 80 % of the token's lifetime, less a random part so that a fleet started together does not
# refresh in step. A refusal by the STS (400/401/403: a wrong grant, an expired attestation) stops
# the loop with the STS's error: retrying would not help and would only load the STS. Overload and
# outages (429, 5xx, no answer) are retried with exponential backoff and full jitter, up to a
# minute apart, honouring Retry-After; the token already in the file stays in use meanwhile.
#
# Environment:
#   STS_URL            e.g. https://sts.example.org (required)
#   STS_AUDIENCE       the service the token is for (required)
#   STS_SCOPE          space-separated scopes (optional: every scope the grants give)
#   TOKEN_FILE         where the access token is kept (required)
#   ATTESTATION_FILE   default /var/run/secrets/tokens/sts-token
#   ONCE               set to 1: one exchange, then exit (0 on success)
set -eu

: "${STS_URL:?set STS_URL}" "${STS_AUDIENCE:?set STS_AUDIENCE}" "${TOKEN_FILE:?set TOKEN_FILE}"
ATTESTATION_FILE=${ATTESTATION_FILE:-/var/run/secrets/tokens/sts-token}
STS_SCOPE=${STS_SCOPE:-}
ONCE=${ONCE:-}

# A random whole number in [0, $1] (awk's rand, seeded from the clock and this process).
random_upto() { awk -v max="$1" -v seed="$$$(date +%N 2>/dev/null || echo 0)" 'BEGIN { srand(seed % 2147483647); print int(rand() * (max + 1)) }'; }

backoff=1
while :; do
  headers=$(mktemp) body=$(mktemp)
  status=$(curl -sS -o "$body" -D "$headers" -w '%{http_code}' --max-time 10 "$STS_URL/oauth2/token" \
    -d grant_type=urn:ietf:params:oauth:grant-type:token-exchange \
    -d subject_token_type=urn:ietf:params:oauth:token-type:jwt \
    --data-urlencode "subject_token=$(cat "$ATTESTATION_FILE")" \
    --data-urlencode "audience=$STS_AUDIENCE" \
    ${STS_SCOPE:+--data-urlencode "scope=$STS_SCOPE"}) || status=000
  case "$status" in
    200)
      token=$(jq -er .access_token "$body")
      expires_in=$(jq -er .expires_in "$body")
      tmp=$(umask 077 && mktemp "$TOKEN_FILE.XXXXXX")
      printf '%s' "$token" >"$tmp"
      mv -f "$tmp" "$TOKEN_FILE"
      backoff=1
      # About 80 % of the lifetime, less up to a tenth of it at random; at least a second.
      wait=$((expires_in * 8 / 10 - $(random_upto $((expires_in / 10)))))
      [ "$wait" -ge 1 ] || wait=1
      echo "sts-token-refresh: token for $STS_AUDIENCE written to $TOKEN_FILE, valid ${expires_in}s; next in ${wait}s" >&2
      ;;
    400 | 401 | 403)
      echo "sts-token-refresh: the STS refused (HTTP $status): $(jq -c '{error, error_description}' "$body" 2>/dev/null || cat "$body")" >&2
      rm -f "$headers" "$body"
      exit 1
      ;;
    *)
      retry_after=$(awk -F': *' 'tolower($1) == "retry-after" { gsub(/\r/, "", $2); print $2 }' "$headers")
      wait=$(random_upto "$backoff")
      case "$retry_after" in '' | *[!0-9]*) ;; *) [ "$retry_after" -le "$wait" ] || wait=$retry_after ;; esac
      echo "sts-token-refresh: no token this time (HTTP $status); retrying in ${wait}s" >&2
      backoff=$((backoff * 2 > 60 ? 60 : backoff * 2))
      ;;
  esac
  rm -f "$headers" "$body"
  if [ -n "$ONCE" ] && [ "$status" = 200 ]; then exit 0; fi
  sleep "$wait"
done
