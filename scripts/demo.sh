#!/bin/sh
# demo.sh BUILD — start sleuteld, the demo bank and the demo RP on loopback,
# show the SMS outbox, print the URLs and how to run the phone app.
# Ports: SLEUTEL_PORT (8443), SLEUTEL_EID_PORT (8444), RP_PORT (8080),
# BANK_PORT (8090), SLEUTEL_PKI_PORT (8889).
set -eu
cd "$(dirname "$0")/.."
BUILD=${1:-build}
PORT=${SLEUTEL_PORT:-8443}
EID_PORT=${SLEUTEL_EID_PORT:-8444}
PKI_PORT=${SLEUTEL_PKI_PORT:-8889}
RP_PORT=${RP_PORT:-8080}
BANK_PORT=${BANK_PORT:-8090}
DIR="$BUILD/demo"

rm -rf "$DIR"
"$BUILD/sleutel" init "$DIR" --port "$PORT" --eid-port "$EID_PORT" --demo --pki-port "$PKI_PORT" >/dev/null 2>&1
# Two virtual eID cards of the demo PKI, PIN 1234.
"$BUILD/sleutel" pki card "$DIR/pki" --name "Demo Citizen" --rrn 85073003328 --out "$DIR/citizen.p12" --pin 1234 >/dev/null
"$BUILD/sleutel" pki card "$DIR/pki" --name "Anna Vreemdeling" --rrn 90020199704 --foreigner \
	--out "$DIR/foreigner.p12" --pin 1234 >/dev/null
# The demo RP shows the national register number: it is allowed the eid scope
# (a client gets "openid profile" unless the operator lists more).  It is
# listed on the public site's Partners page (http on loopback is allowed).
CLIENT=$("$BUILD/sleutel" --config "$DIR/sleutel.ini" client add --name "Mijn gezondheid" \
	--scopes "openid profile eid" --redirect-uri "http://127.0.0.1:$RP_PORT/callback" \
	--partner-url "http://127.0.0.1:$RP_PORT/" \
	--post-logout-redirect-uri "http://127.0.0.1:$RP_PORT/" --json)
CLIENT_ID=$(printf '%s' "$CLIENT" | jq -r .client_id)
CLIENT_SECRET=$(printf '%s' "$CLIENT" | jq -r .client_secret)

# The demo bank: sleutel is its OIDC client for identity proofing.
BANK_SECRET=$(openssl rand -hex 24)
cat >>"$DIR/sleutel.ini" <<INI

[bank.demo]
name = Demobank
issuer = http://127.0.0.1:$BANK_PORT
client_id = sleutel
client_secret = $BANK_SECRET
scope = openid profile rrn
INI
BANK_CLIENT_SECRET=$BANK_SECRET node demo/bank.mjs --port "$BANK_PORT" --client-id sleutel \
	--redirect-uri "https://127.0.0.1:$PORT/proofing/bank/callback" >"$DIR/bank.log" 2>&1 &
BANK=$!

"$BUILD/sleuteld" --config "$DIR/sleutel.ini" 2>"$DIR/sleuteld.log" &
SLEUTELD=$!
trap 'kill "$SLEUTELD" "$BANK" ${SMS:-} 2>/dev/null; wait "$SLEUTELD" 2>/dev/null' EXIT INT TERM
i=0
until curl -fs --cacert "$DIR/tls/ca.pem" "https://127.0.0.1:$PORT/healthz" >/dev/null; do
	i=$((i + 1))
	if [ "$i" -gt 100 ] || ! kill -0 "$SLEUTELD" 2>/dev/null; then
		echo "demo: sleuteld did not start:" >&2
		cat "$DIR/sleuteld.log" >&2
		exit 1
	fi
	sleep 0.1
done

cat <<MSG

sleutel demo is running.
  Open the demo site:   http://127.0.0.1:$RP_PORT/   ("Mijn gezondheid", click Aanmelden)
  sleutel portal:       https://127.0.0.1:$PORT/   (issuer)
  Your browser will warn about the local certificate: trust $DIR/tls/ca.pem
  (Chromium: Settings > Privacy and security > Security > Manage certificates >
  Authorities > Import; Firefox: Settings > Certificates > View Certificates >
  Authorities > Import) or accept the warning once for 127.0.0.1:$PORT.
  eID login with a virtual card (PIN 1234): import one of
      $DIR/citizen.p12     (Demo Citizen)
      $DIR/foreigner.p12   (Anna Vreemdeling, foreigner's card)
    Chromium: Settings > Privacy and security > Security > Manage certificates >
      Your certificates > Import (or: pk12util -i $DIR/citizen.p12 -d sql:\$HOME/.pki/nssdb)
    Firefox: Settings > Privacy & Security > Certificates > View Certificates >
      Your Certificates > Import
    then choose "eID kaartlezer" on the portal; the browser asks which certificate.
  sleutel app: in a second terminal, enrol a phone and then wait for requests:
      $BUILD/sleutel-app --state $DIR/phone.json --server https://127.0.0.1:$PORT \\
          --ca $DIR/tls/ca.pem
    Type any Belgian mobile number (e.g. 470 12 34 56); the activation code is
    shown below as "SMS to ...". Link your identity at the demo bank (open the
    link the app prints; account jan, els or zoe, password demo), type the code
    the last page shows (XXXX-XXXX) in the app, choose a 5-digit code twice. Then choose "sleutel app" on the portal, type the same number, and
    confirm in the app: pick the code the browser shows, "Bevestig", your code.
  Smart-ID: in a third terminal, register a split-key account:
      $BUILD/sleutel-app --state $DIR/smartid.json --server https://127.0.0.1:$PORT \\
          --ca $DIR/tls/ca.pem smartid register
    Choose PIN1 (4+ digits) and PIN2 (5+ digits); the app shows a registration code
    and a link. Open https://127.0.0.1:$PORT/smartid/register in the browser with
    the virtual card imported, log in with it, answer the questions, type the code,
    "Bevestig", then type PIN1 and PIN2 again in the app. Log in with "Smart-ID" on
    the portal (national register number of the card) and approve in the app:
      $BUILD/sleutel-app --state $DIR/smartid.json smartid pending --wait 180
      $BUILD/sleutel-app --state $DIR/smartid.json smartid approve ID
  This demo build also offers the test key: it logs in as whichever person you type.
  Logs: $DIR/sleuteld.log $DIR/bank.log     Stop: Ctrl-C
MSG
# The SMS outbox, shown here as messages arrive (the demo has no SMS gateway).
"$BUILD/sleutel" --config "$DIR/sleutel.ini" sms tail --follow | sed -u 's/^/  SMS: /' &
SMS=$!
NODE_EXTRA_CA_CERTS="$DIR/tls/ca.pem" node demo/rp.mjs --issuer "https://127.0.0.1:$PORT" \
	--client-id "$CLIENT_ID" --client-secret "$CLIENT_SECRET" --port "$RP_PORT"
