#!/usr/bin/env bash
# Fails when api/src/generated/openapi.ts no longer matches what openapi-typescript generates from
# openapi.yaml, i.e. the contract changed without `make gen-types`.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

committed=api/src/generated/openapi.ts
tmp_dir=$(mktemp -d)
trap 'rm -rf "$tmp_dir"' EXIT

npx --no-install openapi-typescript openapi.yaml -o "$tmp_dir/openapi.ts" >/dev/null

if [[ ! -f "$committed" ]]; then
  echo "$committed is missing" >&2
  echo "api/src/generated/openapi.ts is stale: run make gen-types" >&2
  exit 1
fi
if ! cmp -s "$committed" "$tmp_dir/openapi.ts"; then
  diff -u "$committed" "$tmp_dir/openapi.ts" | head -n 60 >&2 || true
  echo "api/src/generated/openapi.ts is stale: run make gen-types" >&2
  exit 1
fi
echo "api/src/generated/openapi.ts is up to date"
