#!/usr/bin/env bash
# Lambda cold start, each function against the floor (a hello-world lambda_http, bin
# hello_lambda in tests/bench/coldstart, built with the same [profile.release] in the same cargo
# run): every bootstrap is spawned RUNS times against a minimal Lambda Runtime API on 127.0.0.1,
# with the SDK pointed at a moto server (static credentials, region ap-northeast-2, secrets read
# by ARN over the wire), and its init split into process start, configuration, SDK setup, init
# round trips and runtime start (tests/bench/coldstart/src/main.rs). Native build (timing only);
# the arm64 sizes are those of the last `make sam-build`, when there is one. Figures, not
# pass/fail: a missed goal says MISSED.
#
#   tests/bench/coldstart.sh [RUNS]        (VENV=.venv, CARGO_TARGET_DIR=target)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
runs=${1:-20}
venv=${VENV:-.venv}
target=${CARGO_TARGET_DIR:-$PWD/target}
functions=(redirect page survey redeem console coupon-issuer aggregator claim-sweeper privacy-purge)

start=$SECONDS
cargo build --release -q -p mcamp-coldstart $(printf -- '-p mcamp-%s ' "${functions[@]}")
echo "coldstart: native release build of the ${#functions[@]} functions and the floor took $((SECONDS - start)) s"

dir=$(mktemp -d)
moto=
trap '[ -z "$moto" ] || kill "$moto" 2>/dev/null || true; rm -rf "$dir"' EXIT
port=$("$venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$venv/bin/python" -m moto.server -p "$port" >"$dir/moto.log" 2>&1 &
moto=$!
for _ in $(seq 150); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.2; done

bins=("hello_lambda=$target/release/hello_lambda")
for f in "${functions[@]}"; do bins+=("$f=$target/release/$f"); done
AWS_ENDPOINT_URL="http://127.0.0.1:$port" AWS_REGION=ap-northeast-2 \
  AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_EC2_METADATA_DISABLED=true \
  "$target/release/coldstart" --runs "$runs" "${bins[@]}"

# Sizes: the arm64 bootstraps of the last `make sam-build`, zipped as Lambda receives them.
declare -A logical=([redirect]=Redirect [page]=Page [survey]=Survey [redeem]=Redeem
  [console]=Console [coupon-issuer]=CouponIssuer [aggregator]=Aggregator [claim-sweeper]=ClaimSweeper [privacy-purge]=PrivacyPurge)
if [ -d .aws-sam/build ] && command -v zip >/dev/null; then
  for f in "${functions[@]}"; do
    b=.aws-sam/build/${logical[$f]}Function/bootstrap
    [ -f "$b" ] || continue
    rm -f "$dir/b.zip"
    (cd "$(dirname "$b")" && zip -q -9 "$dir/b.zip" bootstrap)
    bytes=$(stat -c %s "$dir/b.zip")
    awk -v f="$f" -v b="$bytes" -v raw="$(stat -c %s "$b")" 'BEGIN {
      printf "bench: arm64 bootstrap zip %s (.aws-sam, zip -9; %.2f MB unzipped; MB = 10^6 bytes) | %.2f MB | <= 4 MB: %s | make sam-build\n",
        f, raw / 1e6, b / 1e6, (b <= 4e6 ? "ok" : "MISSED: see docs/coldstart.md")
    }'
  done
else
  echo "coldstart: no .aws-sam/build (or no zip): run make sam-build for the arm64 zip sizes"
fi
