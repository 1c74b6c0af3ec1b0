#!/bin/sh
# Regenerates the fake kubelet's certificates (committed; valid for 100 years, so this is
# needed only to change them). A CA, and a serving certificate for 127.0.0.1 and localhost
# signed by it, as a kubelet's self-signed CA + serving pair. EC P-256 keys, PKCS#8.
set -eu
cd "$(dirname "$0")"
openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
  -keyout ca.key -out ca.pem -days 36500 -subj "/CN=fake-kubelet-ca" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
  -keyout server.key -out server.csr -subj "/CN=node-a"
printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n' > server.ext
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem \
  -days 36500 -extfile server.ext
rm -f server.csr server.ext ca.srl ca.key
