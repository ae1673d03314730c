// der.mjs — just enough DER (X.690) to write a CMS SignedData (RFC 5652)
// by hand: the signing test builds signedAttrs, has them signed through
// the Smart-ID RP API, and assembles a detached CMS a Debian tool checks.
// Written from the standards, not from OpenSSL, so the tool's verdict
// checks our bytes.
//
//   const attrs = signedAttrs({ digest: sha256(doc), hash: 'SHA-256', time: new Date() });
//   const toSign = attrs.der;                // SET OF Attribute, tag 0x31
//   const cms = signedData({ hash: 'SHA-256', attrs, certDer, signature, pss: true });
import assert from 'node:assert/strict';
import crypto from 'node:crypto';

// ---- primitives ----

function lengthBytes(n) {
  if (n < 0x80) return Buffer.from([n]);
  const bytes = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

// A tag-length-value; `content` one Buffer or an array of them.
export function tlv(tag, content) {
  const body = Array.isArray(content) ? Buffer.concat(content) : content;
  return Buffer.concat([Buffer.from([tag]), lengthBytes(body.length), body]);
}

export const seq = (...items) => tlv(0x30, items);
// SET OF: DER orders the elements by their encodings (X.690 §11.6).
export const setOf = (...items) => tlv(0x31, [...items].sort(Buffer.compare));
export const nul = () => Buffer.from([0x05, 0x00]);
export const octets = (buf) => tlv(0x04, buf);
// [n] EXPLICIT (constructed) around `inner`.
export const explicit = (n, inner) => tlv(0xa0 | n, inner);

export function oid(dotted) {
  const parts = dotted.split('.').map(Number);
  const out = [40 * parts[0] + parts[1]];
  for (const p of parts.slice(2)) {
    const chunk = [p & 0x7f];
    for (let v = Math.floor(p / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift(0x80 | (v & 0x7f));
    out.push(...chunk);
  }
  return tlv(0x06, Buffer.from(out));
}

// A non-negative INTEGER from a number, a BigInt or big-endian bytes.
export function int(v) {
  let bytes;
  if (Buffer.isBuffer(v)) {
    bytes = v;
    while (bytes.length > 1 && bytes[0] === 0 && bytes[1] < 0x80) bytes = bytes.subarray(1);
  } else {
    let hex = BigInt(v).toString(16);
    if (hex.length % 2) hex = `0${hex}`;
    bytes = Buffer.from(hex, 'hex');
  }
  if (bytes[0] & 0x80) bytes = Buffer.concat([Buffer.from([0]), bytes]);
  return tlv(0x02, bytes);
}

// UTCTime YYMMDDHHMMSSZ (RFC 5280: years 1950-2049).
export function utcTime(date) {
  const p = (n) => String(n).padStart(2, '0');
  const s = `${p(date.getUTCFullYear() % 100)}${p(date.getUTCMonth() + 1)}${p(date.getUTCDate())}` +
    `${p(date.getUTCHours())}${p(date.getUTCMinutes())}${p(date.getUTCSeconds())}Z`;
  return tlv(0x17, Buffer.from(s, 'ascii'));
}

// ---- reading: one TLV at `at` of `buf` ----

export function readTlv(buf, at = 0) {
  const tag = buf[at];
  let len = buf[at + 1];
  let hdr = 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[at + 2 + i];
    hdr += n;
  }
  assert.ok(at + hdr + len <= buf.length, 'DER: a length past the end');
  return { tag, start: at, end: at + hdr + len, raw: buf.subarray(at, at + hdr + len),
    content: buf.subarray(at + hdr, at + hdr + len) };
}

// The children of a constructed TLV's content.
export function children(content) {
  const out = [];
  for (let at = 0; at < content.length;) {
    const t = readTlv(content, at);
    out.push(t);
    at = t.end;
  }
  return out;
}

// Issuer Name and serial INTEGER of a certificate, DER as they stand.
export function issuerAndSerial(certDer) {
  const tbs = children(readTlv(certDer).content)[0];
  const f = children(tbs.content);
  const i = f[0].tag === 0xa0 ? 1 : 0; // [0] version
  return { serial: f[i].raw, issuer: f[i + 2].raw };
}

// ---- algorithms ----

export const OID = {
  data: '1.2.840.113549.1.7.1',
  signedData: '1.2.840.113549.1.7.2',
  contentType: '1.2.840.113549.1.9.3',
  messageDigest: '1.2.840.113549.1.9.4',
  signingTime: '1.2.840.113549.1.9.5',
  signingCertificateV2: '1.2.840.113549.1.9.16.2.47',
  rsaEncryption: '1.2.840.113549.1.1.1',
  rsassaPss: '1.2.840.113549.1.1.10',
  mgf1: '1.2.840.113549.1.1.8',
  'SHA-256': '2.16.840.1.101.3.4.2.1',
  'SHA-384': '2.16.840.1.101.3.4.2.2',
  'SHA-512': '2.16.840.1.101.3.4.2.3',
};
export const HASH_LEN = { 'SHA-256': 32, 'SHA-384': 48, 'SHA-512': 64 };
export const NODE_HASH = { 'SHA-256': 'sha256', 'SHA-384': 'sha384', 'SHA-512': 'sha512' };

export const algId = (dotted, params) => (params === undefined ? seq(oid(dotted)) : seq(oid(dotted), params));
export const hashAlg = (hash) => algId(OID[hash], nul());

// RSASSA-PSS-params (RFC 4055 §3.1): the hash, MGF1 with the same hash,
// the salt as long as the hash, trailerField 1 (the default, omitted).
export function pssAlg(hash) {
  return algId(OID.rsassaPss, seq(
    explicit(0, hashAlg(hash)),
    explicit(1, algId(OID.mgf1, hashAlg(hash))),
    explicit(2, int(HASH_LEN[hash])),
  ));
}

// ---- CMS ----

// signedAttrs for a detached signature of data whose `hash` is `digest`:
// contentType id-data, signingTime (unless `time` is null: PAdES keeps
// the time in the PDF's /M), messageDigest, and with `certDer` the ESS
// signing-certificate-v2 (RFC 5035; SHA-256, the default, so no
// hashAlgorithm) that PAdES requires.  `der` is the SET OF (tag 0x31)
// that is hashed and signed; `items` the attributes.
export function signedAttrs({ digest, time = new Date(), certDer }) {
  const items = [
    seq(oid(OID.contentType), setOf(oid(OID.data))),
    seq(oid(OID.messageDigest), setOf(octets(digest))),
  ];
  if (time) items.push(seq(oid(OID.signingTime), setOf(utcTime(time))));
  if (certDer) {
    const certHash = crypto.createHash('sha256').update(certDer).digest();
    items.push(seq(oid(OID.signingCertificateV2), setOf(seq(seq(seq(octets(certHash)))))));
  }
  return { items, der: setOf(...items) };
}

// ContentInfo { signedData, [0] SignedData } with one signer, its
// certificate and no encapsulated content (detached).
export function signedData({ hash, attrs, certDer, signature, pss }) {
  const { issuer, serial } = issuerAndSerial(certDer);
  const signerInfo = seq(
    int(1),
    seq(issuer, serial),
    hashAlg(hash),
    tlv(0xa0, [...attrs.items].sort(Buffer.compare)), // [0] IMPLICIT SET OF: the same sorted content
    pss ? pssAlg(hash) : algId(OID.rsaEncryption, nul()),
    octets(signature),
  );
  const sd = seq(
    int(1),
    setOf(hashAlg(hash)),
    seq(oid(OID.data)),
    tlv(0xa0, certDer), // [0] IMPLICIT CertificateSet
    setOf(signerInfo),
  );
  return seq(oid(OID.signedData), explicit(0, sd));
}

// The hash of `data` with an RP API hash name.
export const digestOf = (hash, data) => crypto.createHash(NODE_HASH[hash]).update(data).digest();
