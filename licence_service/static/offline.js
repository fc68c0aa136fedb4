// The offline counter's check of a QR code: with the network down, the browser checks the
// code's agency signature itself (WebCrypto, ECDSA P-256 / SHA-256 over the raw r||s
// signature) against the trust list it cached, the agencies' public keys from the on-chain
// directory with their compromise and retirement times. It can say whether the code is the
// agency's genuine code, never whether the licence is valid now (revocation, supersession and
// suspension live on the chain): its answer is never VALID.
// The token rules are those of verifier/qr.py: LL1.<claims>.<signature>, base64url without
// padding, the claims exactly the canonical JSON the issuer writes, the signature low-S.
"use strict";
(function () {
  const PREFIX = "LL1";
  const MAX_TOKEN_LENGTH = 1024;
  const P256_N = BigInt("0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551");
  const B64URL = /^[A-Za-z0-9_-]*$/;

  function unb64(text) {
    if (!B64URL.test(text) || text.length % 4 === 1) throw new Error("not base64url");
    const bin = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
    return Uint8Array.from(bin, (c) => c.charCodeAt(0));
  }
  function b64(bytes) {
    let bin = "";
    for (const b of bytes) bin += String.fromCharCode(b);
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function sameBytes(a, b) {
    return a.length === b.length && a.every((v, i) => v === b[i]);
  }
  function bigint(bytes) {
    return BigInt("0x" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(""));
  }
  function wellFormed(s) {
    return typeof s === "string" && !/[\ud800-\udbff](?![\udc00-\udfff])|(^|[^\ud800-\udbff])[\udc00-\udfff]/.test(s);
  }

  // The claims as the issuer writes them: every key, sorted, no spaces, non-ASCII unescaped
  // (Python's json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False)).
  function canonical(body) {
    const strings = ["a", "d", "h", "i", "t", "x"];
    for (const k of strings) if (!wellFormed(body[k])) return null;
    if (!Number.isSafeInteger(body.r)) return null;
    return JSON.stringify({
      a: body.a, d: body.d, h: body.h, i: body.i, r: body.r, t: body.t, x: body.x,
    });
  }

  // {claims, message, signature} or throws Error(reason) for a code that is not a genuine
  // token's encoding (a genuine code is never re-encoded).
  function parse(text) {
    const token = String(text).trim().split("/").pop();
    const parts = token.split(".");
    if (parts.length !== 3 || parts[0] !== PREFIX) throw new Error("not_payload");
    if (token.length > MAX_TOKEN_LENGTH) throw new Error("too_long");
    let raw, signature, body;
    try {
      raw = unb64(parts[1]);
      signature = unb64(parts[2]);
      body = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(raw));
    } catch (e) {
      throw new Error("damaged");
    }
    if (!body || typeof body !== "object" || !/^\d{8}$/.test(String(body.x))) {
      throw new Error("damaged");
    }
    if (body.t === undefined) body.t = "";
    if (body.h === undefined) body.h = "";
    const canon = canonical(body);
    if (
      canon === null ||
      !sameBytes(new TextEncoder().encode(canon), raw) ||
      b64(raw) !== parts[1] ||
      b64(signature) !== parts[2]
    ) {
      throw new Error("not_canonical");
    }
    return { claims: body, message: raw, signature: signature };
  }

  async function signedBy(entry, message, signature) {
    if (signature.length !== 64) return false;
    const r = bigint(signature.slice(0, 32));
    const s = bigint(signature.slice(32));
    // Low-S only: (r, n - s) verifies too; a genuine code has one encoding.
    if (!(r > 0n && r < P256_N && s > 0n && s <= P256_N / 2n)) return false;
    const key = await crypto.subtle.importKey(
      "jwk",
      entry.jwk,
      { name: "ECDSA", namedCurve: "P-256" },
      false,
      ["verify"],
    );
    return crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, key, signature, message);
  }

  // The offline outcome for a scanned code: GENUINE (the agency's signature, its key never
  // reported compromised), KEY_COMPROMISED (signed with a key reported lost: anyone may
  // have signed it, and offline nothing dates the signature), NOT_GENUINE (no key of the agency
  // it names signed these claims), UNKNOWN_ISSUER (the cached list has no key of that agency)
  // or UNREADABLE (not a genuine token's encoding). Throws only when WebCrypto is missing.
  async function check(text, trust) {
    let token;
    try {
      token = parse(text);
    } catch (e) {
      return { outcome: "UNREADABLE", why: e.message };
    }
    const c = token.claims;
    const keys = ((trust && trust.keys) || []).filter(
      (k) => k.issuer_code === c.a && k.region === c.r,
    );
    const result = { claims: c, key: null, outcome: "UNKNOWN_ISSUER" };
    if (!keys.length) return result;
    if (!(window.crypto && crypto.subtle)) throw new Error("WebCrypto is not available");
    result.outcome = "NOT_GENUINE";
    for (const entry of keys) {
      if (await signedBy(entry, token.message, token.signature)) {
        result.key = entry;
        result.outcome = entry.compromised_at ? "KEY_COMPROMISED" : "GENUINE";
        break;
      }
    }
    return result;
  }

  window.LLOffline = { check: check, parse: parse };
})();
