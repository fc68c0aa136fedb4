// The offline counter's check of a QR code: with the network down, the browser checks the
// code's agency signature itself against the trust list it cached, the agencies' public keys
// from the on-chain directory with their suites and compromise and retirement times. The raw
// r||s signature is checked by the key's suite: "intl" with WebCrypto (ECDSA P-256 / SHA-256),
// "sm" with sm-crypto's SM2 (SM3, default signer ID 1234567812345678; /static/sm2.js, the
// locked npm package copied there by `make setup`), never both. It can say whether the code is the
// agency's genuine code, never whether the licence is valid now (revocation, supersession and
// suspension live on the chain): its answer is never VALID.
// The token rules are those of verifier/qr.py: LL1.<claims>.<signature>, base64url without
// padding, the claims exactly the canonical JSON the issuer writes, the signature low-S.
"use strict";
(function () {
  const PREFIX = "LL1";
  // A holder's presentation code (verifier/presentation.py): LP1.<claims>.<signature>, the
  // signature over "LP1\0" + claims, counting for 120 s after it was made (30 s of clock skew).
  const LP_PREFIX = "LP1";
  const LP_DOMAIN = [0x4c, 0x50, 0x31, 0x00];
  const LP_MAX_AGE = 120;
  const LP_SKEW = 30;
  const MAX_TOKEN_LENGTH = 1024;
  const P256_N = BigInt("0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551");
  const SM2_N = BigInt("0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123");
  const SM2_SIGNER_ID = "1234567812345678"; // GM/T 0009's default, the only one signing/sm2.py uses
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
  function hex(bytes) {
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }
  function bigint(bytes) {
    return BigInt("0x" + hex(bytes));
  }
  function wellFormed(s) {
    return typeof s === "string" && !/[\ud800-\udbff](?![\udc00-\udfff])|(^|[^\ud800-\udbff])[\udc00-\udfff]/.test(s);
  }

  // The claims' bytes, the signature and the claims of a token's parts, or Error("damaged").
  function decode(parts) {
    try {
      const raw = unb64(parts[1]);
      const signature = unb64(parts[2]);
      const body = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(raw));
      return { raw: raw, signature: signature, body: body };
    } catch (e) {
      throw new Error("damaged");
    }
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
    if (token.startsWith(LP_PREFIX + ".")) return parsePresentation(token);
    const parts = token.split(".");
    if (parts.length !== 3 || parts[0] !== PREFIX) throw new Error("not_payload");
    if (token.length > MAX_TOKEN_LENGTH) throw new Error("too_long");
    const { raw, signature, body } = decode(parts);
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

  // Python's json.dumps(sort_keys=True) of a presentation's claims: keys sorted at every level.
  function sortedJson(v) {
    if (Array.isArray(v)) return "[" + v.map(sortedJson).join(",") + "]";
    if (v && typeof v === "object") {
      return "{" + Object.keys(v).sort().map((k) => JSON.stringify(k) + ":" + sortedJson(v[k])).join(",") + "}";
    }
    return JSON.stringify(v);
  }

  // {claims, message, signature, presentation: true} of an LP1 code, or throws as parse().
  function parsePresentation(token) {
    const parts = token.split(".");
    if (parts.length !== 3 || parts[0] !== LP_PREFIX) throw new Error("not_payload");
    if (token.length > MAX_TOKEN_LENGTH) throw new Error("too_long");
    const { raw, signature, body } = decode(parts);
    const f = body && body.f;
    if (!f || typeof f !== "object" || !Number.isSafeInteger(body.s) || !Number.isSafeInteger(body.r)
        || !Object.values(f).every((v) => Array.isArray(v) && v.length === 2)) {
      throw new Error("damaged");
    }
    if (!sameBytes(new TextEncoder().encode(sortedJson(body)), raw) || b64(raw) !== parts[1]
        || b64(signature) !== parts[2]) {
      throw new Error("not_canonical");
    }
    const message = new Uint8Array(LP_DOMAIN.length + raw.length);
    message.set(LP_DOMAIN);
    message.set(raw, LP_DOMAIN.length);
    return { claims: body, message: message, signature: signature, presentation: true };
  }

  async function p256SignedBy(entry, message, signature, r, s) {
    // Low-S only: (r, n - s) verifies too; a genuine code has one encoding.
    if (!(r > 0n && r < P256_N && s > 0n && s <= P256_N / 2n)) return false;
    if (!entry.jwk || entry.jwk.crv !== "P-256") return false;
    if (!(window.crypto && crypto.subtle)) throw new Error("WebCrypto is not available");
    const key = await crypto.subtle.importKey(
      "jwk",
      entry.jwk,
      { name: "ECDSA", namedCurve: "P-256" },
      false,
      ["verify"],
    );
    return crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, key, signature, message);
  }

  function sm2SignedBy(entry, message, signature, r, s) {
    // As signing/sm2.py: 0 < r, s < n. SM2 has no (r, n - s) twin (the check adds r + s).
    if (!(r > 0n && r < SM2_N && s > 0n && s < SM2_N)) return false;
    const jwk = entry.jwk || {};
    if (jwk.kty !== "EC" || jwk.crv !== "SM2") return false;
    let x, y;
    try {
      x = unb64(String(jwk.x));
      y = unb64(String(jwk.y));
    } catch (e) {
      return false;
    }
    if (x.length !== 32 || y.length !== 32) return false;
    const lib = window.sm2;
    if (!lib || typeof lib.doVerifySignature !== "function") {
      throw new Error("the SM2 verifier (/static/sm2.js) is not loaded");
    }
    // doVerifySignature checks the point is on the curve, hashes SM3(Z || M) with Z of the
    // signer ID and the key, and takes the signature as 128 hex digits r || s.
    return lib.doVerifySignature(Array.from(message), hex(signature), "04" + hex(x) + hex(y), {
      hash: true,
      userId: SM2_SIGNER_ID,
    });
  }

  // Whether the key of ``entry`` signed ``message``, by the entry's suite; an entry of a suite
  // this page does not know signs nothing.
  async function signedBy(entry, message, signature) {
    if (signature.length !== 64) return false;
    const r = bigint(signature.slice(0, 32));
    const s = bigint(signature.slice(32));
    const suite = entry.suite || "intl"; // a list from before suites held P-256 keys only
    if (suite === "intl") return p256SignedBy(entry, message, signature, r, s);
    if (suite === "sm") return sm2SignedBy(entry, message, signature, r, s);
    return false;
  }

  // The offline outcome for a scanned code: GENUINE (the agency's signature, its key never
  // reported compromised), KEY_COMPROMISED (signed with a key reported lost: anyone may
  // have signed it, and offline nothing dates the signature), NOT_GENUINE (no key of the agency
  // it names signed these claims), UNKNOWN_ISSUER (the cached list has no key of that agency)
  // or UNREADABLE (not a genuine token's encoding). Throws only when the suite's verifier is
  // missing (WebCrypto for an intl key, sm2.js for an sm key).
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
    const result = { claims: c, key: null, outcome: "UNKNOWN_ISSUER", presentation: !!token.presentation };
    if (!keys.length) return result;
    result.outcome = "NOT_GENUINE";
    for (const entry of keys) {
      if (await signedBy(entry, token.message, token.signature)) {
        result.key = entry;
        result.outcome = entry.compromised_at ? "KEY_COMPROMISED" : "GENUINE";
        if (token.presentation && result.outcome === "GENUINE") {
          // a screenshot replayed later: genuine, but no longer the holder presenting it
          const age = Date.now() / 1000 - c.s;
          if (age > LP_MAX_AGE || age < -LP_SKEW) result.outcome = "PRESENTATION_EXPIRED";
        }
        break;
      }
    }
    return result;
  }

  window.LLOffline = { check: check, parse: parse };
})();
