/**
 * Orders strings by code point, which is the byte order of their UTF-8 encodings: the order
 * SentencePiece (C++ std::string) uses to break ties. JS's `<` compares UTF-16 code units, which
 * differs for characters above U+FFFF.
 */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // Only surrogates (U+D800-U+DFFF) sort differently: as code points they are above every
    // other BMP unit.
    const xs = x >= 0xd800 && x <= 0xdfff;
    const ys = y >= 0xd800 && y <= 0xdfff;
    if (xs !== ys) return xs ? 1 : -1;
    return x - y;
  }
  return a.length - b.length;
}
