// djb's constant database format (https://cr.yp.to/cdb.html), read side only: the lookup walks the
// 256-entry header, one hash table and the records its slots point at. Pure: the bytes come from a
// `ReadAt` function, so the same code serves a file (few small reads) and a Buffer (tests).
//
// Layout: 256 × (table offset u32le, slot count u32le); records (key length, data length, key,
// data); then the hash tables, whose slots are (hash u32le, record offset u32le). A key hashing to
// h lives in table h & 255, probed linearly from slot (h >>> 8) % slots; an empty slot (offset 0)
// ends the search.

export const CDB_HEADER_BYTES = 2048;

/** Thrown when an offset or length in the file points outside it: the file is broken. */
export class CdbFormatError extends Error {}

/** Returns exactly `length` bytes at `offset`, or throws CdbFormatError when they are not there. */
export type ReadAt = (offset: number, length: number) => Buffer;

/** The cdb hash: h = ((h << 5) + h) ^ byte, from 5381, unsigned 32-bit. */
export function cdbHash(key: Buffer): number {
  let h = 5381;
  for (const byte of key) h = (((h << 5) + h) ^ byte) >>> 0;
  return h;
}

/** The data stored under `key`, or null when the key is absent. Throws CdbFormatError for a broken file. */
export function cdbGet(read: ReadAt, key: Buffer): Buffer | null {
  const h = cdbHash(key);
  const head = read((h & 255) * 8, 8);
  const tablePos = head.readUInt32LE(0);
  const slots = head.readUInt32LE(4);
  if (slots === 0) return null;
  let slot = (h >>> 8) % slots;
  // at most `slots` probes: a full table without the key must not loop forever
  for (let probe = 0; probe < slots; probe++) {
    const entry = read(tablePos + slot * 8, 8);
    const recordPos = entry.readUInt32LE(4);
    if (recordPos === 0) return null;
    if (entry.readUInt32LE(0) === h) {
      const lengths = read(recordPos, 8);
      const keyLength = lengths.readUInt32LE(0);
      if (keyLength === key.length && read(recordPos + 8, keyLength).equals(key)) {
        return read(recordPos + 8 + keyLength, lengths.readUInt32LE(4));
      }
    }
    slot = slot + 1 === slots ? 0 : slot + 1;
  }
  return null;
}

/** A ReadAt over bytes already in memory. */
export function bufferReader(data: Buffer): ReadAt {
  return (offset, length) => {
    if (offset < 0 || length < 0 || offset + length > data.length)
      throw new CdbFormatError(
        `${length} bytes at offset ${offset} lie outside the ${data.length}-byte file`,
      );
    return data.subarray(offset, offset + length);
  };
}
