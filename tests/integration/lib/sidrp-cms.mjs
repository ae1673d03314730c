// sidrp-cms.mjs — what a signing RP does around RAW_DIGEST_SIGNATURE: a
// detached CMS SignedData (RFC 5652) whose signed attributes' SHA-256 is
// the digest sent to Smart-ID, assembled afterwards with the signature and
// certificate the session returned, so a standard tool (openssl cms
// -verify) can check it.  A few lines of DER, no library.
import crypto from 'node:crypto';

// ---- DER writing ----

function len(n) {
  if (n < 0x80) return Buffer.from([n]);
  const bytes = [];
  for (let v = n; v > 0; v >>= 8) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}
const tlv = (tag, ...parts) => {
  const body = Buffer.concat(parts);
  return Buffer.concat([Buffer.from([tag]), len(body.length), body]);
};
const seq = (...p) => tlv(0x30, ...p);
const set = (...p) => tlv(0x31, ...p);
const octets = (b) => tlv(0x04, b);
const nul = () => Buffer.from([0x05, 0x00]);
const int = (n) => tlv(0x02, Buffer.from([n]));
const explicit = (n, ...p) => tlv(0xa0 + n, ...p);
function oid(dotted) {
  const [a, b, ...rest] = dotted.split('.').map(Number);
  const out = [40 * a + b];
  for (const v of rest) {
    const groups = [];
    for (let x = v; ; x = Math.floor(x / 128)) {
      groups.unshift(x % 128);
      if (x < 128) break;
    }
    out.push(...groups.map((g, i) => (i < groups.length - 1 ? g | 0x80 : g)));
  }
  return tlv(0x06, Buffer.from(out));
}
const utcTime = (d) => tlv(0x17, Buffer.from(`${d.toISOString().replace(/[-:T]/g, '').slice(2, 14)}Z`));

// ---- DER reading: just enough to take the issuer and serial of a cert ----

function readTlv(buf, off) {
  const tag = buf[off];
  let l = buf[off + 1];
  let hdr = 2;
  if (l & 0x80) {
    const n = l & 0x7f;
    l = 0;
    for (let i = 0; i < n; i++) l = l * 256 + buf[off + 2 + i];
    hdr += n;
  }
  return { tag, start: off, body: off + hdr, end: off + hdr + l };
}

// IssuerAndSerialNumber of certificate `der`.
function issuerAndSerial(der) {
  const cert = readTlv(der, 0);
  const tbs = readTlv(der, cert.body);
  let f = readTlv(der, tbs.body);
  if (f.tag === 0xa0) f = readTlv(der, f.end); // [0] version
  const serial = der.subarray(f.start, f.end);
  const sigAlg = readTlv(der, f.end);
  const issuer = readTlv(der, sigAlg.end);
  return seq(der.subarray(issuer.start, issuer.end), serial);
}

const OID = {
  data: '1.2.840.113549.1.7.1', signedData: '1.2.840.113549.1.7.2', contentType: '1.2.840.113549.1.9.3',
  messageDigest: '1.2.840.113549.1.9.4', signingTime: '1.2.840.113549.1.9.5', sha256: '2.16.840.1.101.3.4.2.1',
  pss: '1.2.840.113549.1.1.10', mgf1: '1.2.840.113549.1.1.8',
};
const sha256Alg = () => seq(oid(OID.sha256), nul());

// The signed attributes of `content` (contentType, signingTime,
// messageDigest) as their SET; { attrs, digest }: digest = SHA-256 of the
// SET's DER, what RAW_DIGEST_SIGNATURE signs (Base64).
export function signedAttributes(content, when = new Date()) {
  const attrs = set(
    seq(oid(OID.contentType), set(oid(OID.data))),
    seq(oid(OID.signingTime), set(utcTime(when))),
    seq(oid(OID.messageDigest), set(octets(crypto.createHash('sha256').update(content).digest()))),
  );
  return { attrs, digest: crypto.createHash('sha256').update(attrs).digest('base64') };
}

// The detached CMS (DER) of signer `certDer` with `signature` (RSASSA-PSS,
// SHA-256, MGF1-SHA-256, salt 32) over `attrs`; `chain`: the intermediate
// CA certificates (DER) to carry, as signers do.
export function assembleCms(attrs, certDer, signature, chain = []) {
  const pssParams = seq(explicit(0, sha256Alg()), explicit(1, seq(oid(OID.mgf1), sha256Alg())),
    explicit(2, tlv(0x02, Buffer.from([32]))));
  const signerInfo = seq(int(1), issuerAndSerial(certDer), sha256Alg(),
    Buffer.concat([Buffer.from([0xa0]), attrs.subarray(1)]), // [0] IMPLICIT SET
    seq(oid(OID.pss), pssParams), octets(signature));
  const signedData = seq(int(1), set(sha256Alg()), seq(oid(OID.data)), explicit(0, certDer, ...chain), set(signerInfo));
  return seq(oid(OID.signedData), explicit(0, signedData));
}
