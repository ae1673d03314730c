// pdf.mjs — small, valid PDFs for the signing tests (ISO 32000-1): a
// one-page document, and the same with an empty signature field whose
// /Contents a detached CMS fills (a PAdES signature, ETSI EN 319 142-1:
// /SubFilter /ETSI.CAdES.detached, /ByteRange over everything but the
// /Contents hex string).
//
//   const doc = makePdf('Koopakte');                       // Buffer
//   const p = signablePdf('Koopakte', { when: new Date() });
//   const cms = ...sign p.signedBytes()...;
//   const signed = p.withContents(cms);                    // Buffer
import assert from 'node:assert/strict';

const CONTENTS_BYTES = 8192; // room for the CMS: certificate, attributes, a 6144-bit signature
const BYTE_RANGE_PLACEHOLDER = '[0 0000000000 0000000000 0000000000]';

// The objects of a one-page document with `text` (1 Catalog, 2 Pages,
// 3 Page, 4 Font, 5 content stream); `catalogExtra`/`pageExtra` add keys.
function pageObjects(text, { catalogExtra = '', pageExtra = '' } = {}) {
  const stream = `BT /F1 14 Tf 72 760 Td (${text}) Tj ET`;
  return [
    `<< /Type /Catalog /Pages 2 0 R${catalogExtra} >>`,
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> ' +
      `/Contents 5 0 R${pageExtra} >>`,
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
    `<< /Length ${stream.length} >>\nstream\n${stream}\nendstream`,
  ];
}

// The objects, numbered from 1, with a cross-reference table and trailer.
function writePdf(objs) {
  let out = '%PDF-1.7\n';
  const offsets = [];
  objs.forEach((o, i) => {
    offsets.push(out.length);
    out += `${i + 1} 0 obj\n${o}\nendobj\n`;
  });
  const xref = out.length;
  out += `xref\n0 ${objs.length + 1}\n0000000000 65535 f \n`;
  for (const off of offsets) out += `${String(off).padStart(10, '0')} 00000 n \n`;
  out += `trailer\n<< /Size ${objs.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return out;
}

export function makePdf(text) {
  return Buffer.from(writePdf(pageObjects(text)), 'latin1');
}

// D:YYYYMMDDHHmmSSZ
const pdfDate = (d) => `D:${d.toISOString().replace(/[-:T]/g, '').slice(0, 14)}Z`;

// A document with one signature field (6, the widget) and its value (7,
// the /Sig dictionary) ready to be signed: the /ByteRange is final, the
// /Contents a run of zeros.  signedBytes() is what the CMS covers;
// withContents(cms) the signed file.
export function signablePdf(text, { when = new Date(), reason = 'Akkoord' } = {}) {
  const objs = pageObjects(text, { catalogExtra: ' /AcroForm << /Fields [6 0 R] /SigFlags 3 >>',
    pageExtra: ' /Annots [6 0 R]' });
  objs.push('<< /Type /Annot /Subtype /Widget /FT /Sig /T (Handtekening) /Rect [0 0 0 0] /F 132 /P 3 0 R ' +
    '/V 7 0 R >>');
  objs.push(`<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached /ByteRange ${BYTE_RANGE_PLACEHOLDER} ` +
    `/Contents <${'0'.repeat(2 * CONTENTS_BYTES)}> /M (${pdfDate(when)}) /Reason (${reason}) >>`);
  let pdf = writePdf(objs);
  const start = pdf.indexOf('/Contents <') + '/Contents '.length; // the '<'
  const end = start + 2 * CONTENTS_BYTES + 2; // after the '>'
  const range = `[0 ${String(start).padStart(10, '0')} ${String(end).padStart(10, '0')} ` +
    `${String(pdf.length - end).padStart(10, '0')}]`;
  assert.equal(range.length, BYTE_RANGE_PLACEHOLDER.length);
  pdf = pdf.replace(BYTE_RANGE_PLACEHOLDER, range);
  const bytes = Buffer.from(pdf, 'latin1');
  return {
    signedBytes: () => Buffer.concat([bytes.subarray(0, start), bytes.subarray(end)]),
    withContents(cms) {
      assert.ok(cms.length <= CONTENTS_BYTES, `a CMS of ${cms.length} bytes does not fit`);
      const hex = cms.toString('hex').padEnd(2 * CONTENTS_BYTES, '0');
      return Buffer.concat([bytes.subarray(0, start + 1), Buffer.from(hex, 'latin1'), bytes.subarray(end - 1)]);
    },
  };
}
