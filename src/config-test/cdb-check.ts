// Structural check of a constant database (qmail's morercpthosts.cdb, spec §6 step 7): header
// table, hash tables and records must all lie inside the file, and every record must sit in the
// slot its key hashes to. Pure: works on the file's bytes.

const HEADER_BYTES = 2048;

/** djb's cdb hash. */
export function cdbHash(key: Buffer): number {
  let h = 5381;
  for (const byte of key) h = (((h << 5) + h) ^ byte) >>> 0;
  return h;
}

export interface CdbCheck {
  records: number;
  /** first structural problem found, if any */
  problem?: string;
}

export function checkCdb(data: Buffer): CdbCheck {
  if (data.length < HEADER_BYTES)
    return { records: 0, problem: `file is ${data.length} bytes, shorter than the 2048-byte header` };
  let recordsEnd = data.length;
  const tables: { index: number; pos: number; slots: number }[] = [];
  for (let i = 0; i < 256; i++) {
    const pos = data.readUInt32LE(i * 8);
    const slots = data.readUInt32LE(i * 8 + 4);
    if (slots === 0) continue;
    if (pos < HEADER_BYTES || pos + slots * 8 > data.length) {
      return { records: 0, problem: `hash table ${i} (offset ${pos}, ${slots} slots) lies outside the file` };
    }
    tables.push({ index: i, pos, slots });
    recordsEnd = Math.min(recordsEnd, pos);
  }
  // records run from the header to the first hash table
  let records = 0;
  for (let p = HEADER_BYTES; p < recordsEnd;) {
    if (p + 8 > recordsEnd) return { records, problem: `truncated record header at offset ${p}` };
    const klen = data.readUInt32LE(p);
    const dlen = data.readUInt32LE(p + 4);
    if (p + 8 + klen + dlen > recordsEnd)
      return { records, problem: `record at offset ${p} runs past the records area` };
    p += 8 + klen + dlen;
    records++;
  }
  let slotted = 0;
  for (const t of tables) {
    for (let s = 0; s < t.slots; s++) {
      const hash = data.readUInt32LE(t.pos + s * 8);
      const rpos = data.readUInt32LE(t.pos + s * 8 + 4);
      if (rpos === 0) continue;
      if (rpos < HEADER_BYTES || rpos + 8 > recordsEnd) {
        return { records, problem: `hash table slot points to offset ${rpos}, outside the records area` };
      }
      const klen = data.readUInt32LE(rpos);
      if (rpos + 8 + klen > recordsEnd)
        return { records, problem: `key at offset ${rpos} runs past the records area` };
      const key = data.subarray(rpos + 8, rpos + 8 + klen);
      if (cdbHash(key) !== hash || (hash & 255) !== t.index) {
        return { records, problem: `hash mismatch for the key at offset ${rpos}` };
      }
      slotted++;
    }
  }
  if (slotted !== records)
    return { records, problem: `${records} records but ${slotted} hash table entries` };
  return { records };
}
