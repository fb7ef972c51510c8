// A standard wallet we did not write: @openid4vc/openid4vci takes a citycard credential offer
// through the pre-authorized code flow (tests/test_oid4vci.py runs it under Node).
//
//   node oid4vci_wallet.mjs '<openid-credential-offer://...>' <tx code>
//
// It makes its own P-256 key, redeems the offer with the transaction code, asks the nonce
// endpoint, proves its key for each offered configuration and prints JSON on stdout:
// {"holder_jwk": {...}, "credentials": {"<configuration id>": "<credential>"}}.
// Any failure: the library's error on stderr and exit code 1.

import { createHash, generateKeyPairSync, randomBytes, sign } from "node:crypto";
import { clientAuthenticationAnonymous } from "@openid4vc/oauth2";
import { Openid4vciClient } from "@openid4vc/openid4vci";
import { setGlobalConfig } from "@openid4vc/utils";

const [offerUri, txCode] = process.argv.slice(2);
setGlobalConfig({ allowInsecureUrls: true }); // the test's issuer is plain http on loopback

const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
const { kty, crv, x, y } = publicKey.export({ format: "jwk" });
const publicJwk = { kty, crv, x, y };
const b64u = (data) => Buffer.from(data).toString("base64url");

const callbacks = {
  fetch,
  hash: (data, alg) => createHash(alg.replace("-", "").toLowerCase()).update(data).digest(),
  generateRandom: (n) => randomBytes(n),
  clientAuthentication: clientAuthenticationAnonymous(),
  signJwt: async (signer, { header, payload }) => {
    const input = `${b64u(JSON.stringify(header))}.${b64u(JSON.stringify(payload))}`;
    const signature = sign("sha256", Buffer.from(input), { key: privateKey, dsaEncoding: "ieee-p1363" });
    return { jwt: `${input}.${b64u(signature)}`, signerJwk: publicJwk };
  },
};

try {
  const client = new Openid4vciClient({ callbacks });
  const credentialOffer = await client.resolveCredentialOffer(offerUri);
  const issuerMetadata = await client.resolveIssuerMetadata(credentialOffer.credential_issuer);
  const { accessTokenResponse } = await client.retrievePreAuthorizedCodeAccessTokenFromOffer({
    credentialOffer,
    issuerMetadata,
    txCode,
  });
  const credentials = {};
  for (const credentialConfigurationId of credentialOffer.credential_configuration_ids) {
    const { c_nonce: nonce } = await client.requestNonce({ issuerMetadata });
    const { jwt } = await client.createCredentialRequestJwtProof({
      issuerMetadata,
      credentialConfigurationId,
      nonce,
      signer: { method: "jwk", alg: "ES256", publicJwk },
    });
    const response = await client.retrieveCredentials({
      issuerMetadata,
      credentialConfigurationId,
      accessToken: accessTokenResponse.access_token,
      proofs: { jwt: [jwt] },
    });
    const body = response.credentialResponse;
    credentials[credentialConfigurationId] = body.credentials[0].credential;
  }
  process.stdout.write(JSON.stringify({ holder_jwk: publicJwk, credentials }));
} catch (error) {
  const detail = error.response ? ` ${JSON.stringify(error.errorResponse ?? error.response)}` : "";
  process.stderr.write(`${error.name}: ${error.message}${detail}\n`);
  process.exit(1);
}
