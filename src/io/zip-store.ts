/**
 * A minimal ZIP writer for stored (uncompressed) entries whose data starts on an aligned offset,
 * the layout PyTorch's own writer produces (it pads the local header with an extra field "FB" so
 * every record can be memory-mapped). Reading uses fflate; fflate's writer cannot align records.
 * No zip64: the whole archive must stay under 4 GiB and 65535 entries.
 */

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

export function crc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) crc = CRC_TABLE[(crc ^ bytes[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

export interface ZipEntry {
  name: string;
  data: Uint8Array;
}

const LOCAL_HEADER = 30;
const CENTRAL_HEADER = 46;
const END_RECORD = 22;
const PAD_FIELD_ID = 0x4246; // "FB", as PyTorch writes it
const DOS_DATE_1980_01_01 = 0x21;

/** Builds a zip archive in memory; each entry's data starts at a multiple of `alignment`. */
export function buildStoredZip(entries: readonly ZipEntry[], alignment = 64): Uint8Array {
  const encoder = new TextEncoder();
  const names = entries.map((e) => encoder.encode(e.name));
  const layout: { offset: number; padding: number; crc: number }[] = [];
  let offset = 0;
  entries.forEach((entry, i) => {
    const headerEnd = offset + LOCAL_HEADER + names[i]!.length + 4;
    const padding = (alignment - (headerEnd % alignment)) % alignment;
    layout.push({ offset, padding, crc: crc32(entry.data) });
    offset = headerEnd + padding + entry.data.length;
  });
  const centralStart = offset;
  const centralSize = names.reduce((sum, n) => sum + CENTRAL_HEADER + n.length, 0);
  const total = centralStart + centralSize + END_RECORD;
  if (total >= 2 ** 32 || entries.length > 0xffff) {
    throw new Error(`archive too large for a zip without zip64 (${total} bytes, ${entries.length} entries)`);
  }

  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  const utf8Flag = (name: Uint8Array): number => (name.some((b) => b >= 0x80) ? 0x0800 : 0);
  entries.forEach((entry, i) => {
    const { offset: at, padding, crc } = layout[i]!;
    const name = names[i]!;
    view.setUint32(at, 0x04034b50, true);
    view.setUint16(at + 4, 20, true); // version needed: 2.0
    view.setUint16(at + 6, utf8Flag(name), true);
    view.setUint16(at + 8, 0, true); // stored
    view.setUint16(at + 10, 0, true); // time 00:00
    view.setUint16(at + 12, DOS_DATE_1980_01_01, true);
    view.setUint32(at + 14, crc, true);
    view.setUint32(at + 18, entry.data.length, true);
    view.setUint32(at + 22, entry.data.length, true);
    view.setUint16(at + 26, name.length, true);
    view.setUint16(at + 28, 4 + padding, true);
    out.set(name, at + LOCAL_HEADER);
    const extra = at + LOCAL_HEADER + name.length;
    view.setUint16(extra, PAD_FIELD_ID, true);
    view.setUint16(extra + 2, padding, true);
    out.fill(0x5a, extra + 4, extra + 4 + padding); // 'Z', like PyTorch
    out.set(entry.data, extra + 4 + padding);
  });

  let at = centralStart;
  entries.forEach((entry, i) => {
    const { offset: localOffset, crc } = layout[i]!;
    const name = names[i]!;
    view.setUint32(at, 0x02014b50, true);
    view.setUint16(at + 4, 20, true); // made by
    view.setUint16(at + 6, 20, true); // needed
    view.setUint16(at + 8, utf8Flag(name), true);
    view.setUint16(at + 10, 0, true);
    view.setUint16(at + 12, 0, true);
    view.setUint16(at + 14, DOS_DATE_1980_01_01, true);
    view.setUint32(at + 16, crc, true);
    view.setUint32(at + 20, entry.data.length, true);
    view.setUint32(at + 24, entry.data.length, true);
    view.setUint16(at + 28, name.length, true);
    // extra length, comment length, disk, internal and external attributes stay 0.
    view.setUint32(at + 42, localOffset, true);
    out.set(name, at + CENTRAL_HEADER);
    at += CENTRAL_HEADER + name.length;
  });

  view.setUint32(at, 0x06054b50, true);
  view.setUint16(at + 8, entries.length, true);
  view.setUint16(at + 10, entries.length, true);
  view.setUint32(at + 12, centralSize, true);
  view.setUint32(at + 16, centralStart, true);
  return out;
}
