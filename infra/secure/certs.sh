#!/usr/bin/env bash
# A throwaway certificate authority and the certificates the secured local stack uses.
#   infra/secure/certs.sh DIR    make them under DIR once (kept while DIR exists)
# DIR/ca.crt          the CA clients trust (ONEXGEN_KAFKA_SSL_CAFILE, sslrootcert=)
# DIR/server.{crt,key} 127.0.0.1/localhost: the broker, Postgres and the worker's web server
# DIR/broker.p12      the same key and chain for the broker's keystore (password in DIR/store.pass)
# DIR/client.{crt,key} CN=onexgen, for Postgres client-certificate tests
# DIR/other-ca.crt    an unrelated CA: a client trusting only it must refuse the servers
set -euo pipefail
DIR="${1:?usage: infra/secure/certs.sh DIR}"
mkdir -p "$DIR"; cd "$DIR"
[ -f .complete ] && exit 0
umask 077
command -v openssl >/dev/null || { echo "[infra] error: openssl not found: apt-get install openssl" >&2; exit 1; }
q() { "$@" >/dev/null 2>&1 || { echo "[infra] error: $* failed" >&2; exit 1; }; }

ca() {  # ca NAME CN
  q openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
      -subj "/CN=$2" -keyout "$1.key" -out "$1.crt" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
}
leaf() {  # leaf NAME CN EXT
  q openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$2" \
      -keyout "$1.key" -out "$1.csr"
  printf '%s\n' "$3" >"$1.ext"
  q openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 30 \
      -extfile "$1.ext" -out "$1.crt"
  rm -f "$1.csr" "$1.ext"
}
ca ca "onexgen local CA"
ca other-ca "unrelated CA"
leaf server onexgen-broker "subjectAltName=IP:127.0.0.1,DNS:localhost
extendedKeyUsage=serverAuth,clientAuth"
leaf client onexgen "extendedKeyUsage=clientAuth"
python3 -c 'import secrets; print(secrets.token_urlsafe(18))' >store.pass
q openssl pkcs12 -export -in server.crt -inkey server.key -certfile ca.crt -name broker \
    -passout "file:store.pass" -out broker.p12
chmod 644 ca.crt other-ca.crt server.crt client.crt
rm -f other-ca.key
touch .complete
