#!/usr/bin/env bash
# Makes a throwaway CA and certificates for TLS tests and benchmarks, with
# the openssl command (EC P-256, valid 2 days). Never commit the output.
#
#   tools/make_test_certs.sh DIR
#
# Writes into DIR (which must exist):
#   ca.pem                      the CA (--tls_ca for clients and servers)
#   server.pem, server.key      a server certificate for IP:127.0.0.1 and
#                               DNS:localhost (--tls_cert, --tls_key)
#   client.pem, client.key      a client certificate (CN=mrpc-test-client)
#   ca.key, *.csr, *.ext        intermediate files
set -eu
dir=${1:?usage: make_test_certs.sh DIR}
cd "$dir"
ec=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes)

openssl req -x509 "${ec[@]}" -keyout ca.key -out ca.pem -days 2 \
  -subj "/CN=mrpc throwaway test CA" \
  -addext basicConstraints=critical,CA:TRUE \
  -addext keyUsage=critical,keyCertSign,cRLSign 2> /dev/null

# leaf <name> <subject CN> <extendedKeyUsage> [subjectAltName]
leaf() {
  local name=$1 cn=$2 eku=$3 san=${4:-}
  openssl req "${ec[@]}" -keyout "$name.key" -out "$name.csr" \
    -subj "/CN=$cn" 2> /dev/null
  {
    echo "basicConstraints = critical, CA:FALSE"
    echo "keyUsage = critical, digitalSignature"
    echo "extendedKeyUsage = $eku"
    if [[ -n "$san" ]]; then echo "subjectAltName = $san"; fi
  } > "$name.ext"
  openssl x509 -req -in "$name.csr" -CA ca.pem -CAkey ca.key \
    -set_serial "0x$(openssl rand -hex 8)" -days 2 -extfile "$name.ext" \
    -out "$name.pem" 2> /dev/null
}
leaf server localhost serverAuth "IP:127.0.0.1, DNS:localhost"
leaf client mrpc-test-client clientAuth
openssl verify -CAfile ca.pem server.pem client.pem > /dev/null
