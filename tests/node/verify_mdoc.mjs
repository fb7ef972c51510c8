// Verify a DeviceResponse with @auth0/mdl (an mdoc implementation we did not write).
// Usage: node verify_mdoc.mjs RESPONSE.cbor IACA.pem SESSION_TRANSCRIPT_HEX
// Prints JSON: {"ok": bool, "failed": [checks], "elements": {id: value}} and exits 0.
import fs from "node:fs";
import { Verifier } from "@auth0/mdl";

const [responsePath, iacaPath, transcriptHex] = process.argv.slice(2);
const checks = [];
const verifier = new Verifier([fs.readFileSync(iacaPath, "utf8")]);
let ok = true;
let elements = {};
try {
  const mdoc = await verifier.verify(fs.readFileSync(responsePath), {
    encodedSessionTranscript: Buffer.from(transcriptHex, "hex"),
    onCheck: (check) => checks.push(check),
  });
  for (const doc of mdoc.documents) {
    for (const items of Object.values(doc.issuerSigned.nameSpaces)) {
      for (const item of items) {
        const value = item.elementValue;
        elements[item.elementIdentifier] =
          value instanceof Uint8Array ? `bytes:${value.length}` : value;
      }
    }
  }
} catch (err) {
  ok = false;
  checks.push({ status: "FAILED", reason: String(err && err.message) });
}
const failed = checks.filter((c) => c.status === "FAILED").map((c) => c.reason || c.check);
process.stdout.write(JSON.stringify({ ok: ok && failed.length === 0, failed, elements }));
