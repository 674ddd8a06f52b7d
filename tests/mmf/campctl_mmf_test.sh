#!/bin/sh
# Runs the real campctl: decode the draft's section 5.6.1 example, encode the JSON back, compare;
# then check that bad input exits 1 with one line on stderr.
set -u
campctl="$1"
example=801e84800a054060008002980f406102406201800186a040630080009c4040640080009c40800186a005030101577002024096044320
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

"$campctl" mmf decode --hex "$example" >"$tmp/json" || fail "decode exited $?"
grep -q '"recv_ts_delta_us":-85000' "$tmp/json" || fail "decoded JSON lacks the -85000 delta: $(cat "$tmp/json")"
"$campctl" mmf encode <"$tmp/json" >"$tmp/hex" || fail "encode exited $?"
[ "$(cat "$tmp/hex")" = "$example" ] || fail "round trip gave $(cat "$tmp/hex")"

# Hex on stdin, spread over lines.
printf '801e8480 0a05\n4060008002980f406102406201800186a040630080009c4040640080009c40\n800186a005030101577002024096044320\n' \
  | "$campctl" mmf decode - >"$tmp/json2" || fail "decode - exited $?"
cmp -s "$tmp/json" "$tmp/json2" || fail "stdin decode differs"

# Bad input: truncated report, and JSON whose totals do not add up.
"$campctl" mmf decode --hex 801e84 >/dev/null 2>"$tmp/err"
rc=$?
[ $rc -eq 1 ] || fail "truncated hex exited $rc"
[ "$(wc -l <"$tmp/err")" -eq 1 ] || fail "expected one stderr line, got: $(cat "$tmp/err")"
grep -q truncated "$tmp/err" || fail "error does not say truncated: $(cat "$tmp/err")"
sed 's/"lost":1/"lost":2/' "$tmp/json" | "$campctl" mmf encode >/dev/null 2>"$tmp/err"
rc=$?
[ $rc -eq 1 ] || fail "bad totals exited $rc"
grep -q summary_total_mismatch "$tmp/err" || fail "error does not name the mismatch: $(cat "$tmp/err")"
echo ok
