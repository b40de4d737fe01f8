#!/usr/bin/env bash
# A throwaway certificate authority and the certificates the secured local stack uses.
#   infra/secure/certs.sh DIR    make them under DIR once (kept while DIR exists)
# DIR/ca.crt          the CA clients trust (ONEXGEN_KAFKA_SSL_CAFILE, sslrootcert=)
# DIR/server.{crt,key} 127.0.0.1/localhost: the broker, Postgres and the worker's web server
# DIR/broker.p12      the same key and chain for the broker's keystore (password in DIR/store.pass)
# DIR/broker-expired.{crt,key} like server.*, but expired in 2020; DIR/expired.p12 holds
#                     them for the broker's EXPIRED listener (Postgres swaps them in for a
#                     test: `infra/postgres.sh server-cert broker-expired`)
# DIR/client.{crt,key} CN=onexgen, a client certificate for no Postgres role the stack uses
# DIR/worker.{crt,key} CN=onexgen_worker: the worker role's Postgres client certificate
# DIR/worker-expired.{crt,key} the same name, expired in 2020
# DIR/other-ca.crt    an unrelated CA: a client trusting only it must refuse the servers
set -euo pipefail
DIR="${1:?usage: infra/secure/certs.sh DIR}"
MARK=.complete-2  # bumped when the set of files changes: an older set is made anew
mkdir -p "$DIR"; cd "$DIR"
[ -f "$MARK" ] && exit 0
rm -f ./*.crt ./*.key ./*.p12 ./*.srl ./store.pass ./.complete*
umask 077
command -v openssl >/dev/null || { echo "[infra] error: openssl not found: apt-get install openssl" >&2; exit 1; }
q() { "$@" >/dev/null 2>&1 || { echo "[infra] error: $* failed" >&2; exit 1; }; }

ca() {  # ca NAME CN
  q openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
      -subj "/CN=$2" -keyout "$1.key" -out "$1.crt" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
}
request() {  # request NAME CN EXT: a key, a signing request and its extensions
  q openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$2" \
      -keyout "$1.key" -out "$1.csr"
  printf '%s\n' "$3" >"$1.ext"
}
leaf() {  # leaf NAME CN EXT: valid for 30 days
  request "$@"
  q openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 30 \
      -extfile "$1.ext" -out "$1.crt"
  rm -f "$1.csr" "$1.ext"
}
expired() {  # expired NAME CN EXT: valid in January 2020 only (`openssl ca` sets the dates)
  request "$@"
  mkdir -p ca-db; : >ca-db/index.txt; openssl rand -hex 16 >ca-db/serial
  printf '%s\n' "[ca]" "default_ca = local" "[local]" "database = ca-db/index.txt" \
      "new_certs_dir = ca-db" "serial = ca-db/serial" "default_md = sha256" "policy = any" \
      "[any]" "commonName = supplied" >ca.cnf
  q openssl ca -batch -config ca.cnf -cert ca.crt -keyfile ca.key -in "$1.csr" -out "$1.crt" \
      -startdate 20200101000000Z -enddate 20200201000000Z -extfile "$1.ext" -notext
  rm -rf "$1.csr" "$1.ext" ca-db ca.cnf
}
SERVER="subjectAltName=IP:127.0.0.1,DNS:localhost
extendedKeyUsage=serverAuth,clientAuth"
ca ca "onexgen local CA"
ca other-ca "unrelated CA"
leaf server onexgen-broker "$SERVER"
leaf client onexgen "extendedKeyUsage=clientAuth"
leaf worker onexgen_worker "extendedKeyUsage=clientAuth"
expired broker-expired onexgen-broker "$SERVER"
expired worker-expired onexgen_worker "extendedKeyUsage=clientAuth"
python3 -c 'import secrets; print(secrets.token_urlsafe(18))' >store.pass
q openssl pkcs12 -export -in server.crt -inkey server.key -certfile ca.crt -name broker \
    -passout "file:store.pass" -out broker.p12
q openssl pkcs12 -export -in broker-expired.crt -inkey broker-expired.key -certfile ca.crt \
    -name broker -passout "file:store.pass" -out expired.p12
rm -f other-ca.key
chmod 644 ca.crt other-ca.crt server.crt broker-expired.crt client.crt worker.crt worker-expired.crt
touch "$MARK"
