// Text as the relay counts it: UTF-8 bytes, whole code points, no U+0000 and
// no lone surrogate (PROTOCOL.md section 1, "Text rule").

/** utf8Length is the UTF-8 byte length of s (a lone surrogate counts 3, as U+FFFD). */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 4;
        i++;
      } else n += 3;
    } else n += 3;
  }
  return n;
}

const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** wellFormed: no lone UTF-16 surrogate, so the text has a UTF-8 encoding. */
export function wellFormed(s: string): boolean {
  const f = (s as { isWellFormed?: () => boolean }).isWellFormed;
  return f ? f.call(s) : !loneSurrogate.test(s);
}

/** validText: text the relay stores unchanged. */
export function validText(s: string): boolean {
  return typeof s === "string" && wellFormed(s) && !s.includes("\u0000");
}

/** truncate cuts s to at most max UTF-8 bytes at a code point boundary. */
export function truncate(s: string, max: number): string {
  if (utf8Length(s) <= max) return s;
  let n = 0;
  let i = 0;
  for (const cp of s) {
    const b = utf8Length(cp);
    if (n + b > max) break;
    n += b;
    i += cp.length;
  }
  return s.slice(0, i);
}

/** toWellFormed replaces lone surrogates with U+FFFD and drops U+0000. */
export function clean(s: string): string {
  let out = "";
  for (const cp of s) {
    const c = cp.codePointAt(0) ?? 0;
    if (c === 0) continue;
    out += c >= 0xd800 && c <= 0xdfff ? "\uFFFD" : cp;
  }
  return out;
}
