// CDB lookups on a file: only the header entry, the probed slots and the matching record are read
// (a morercpthosts.cdb can be large and levee starts once per connection).
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { CdbFormatError, cdbGet, type ReadAt } from './lookup';

export { CdbFormatError, cdbGet, cdbHash, bufferReader } from './lookup';

/**
 * Looks up each key in turn and returns the first one present, or null. Throws the file system's
 * error when the file cannot be read, CdbFormatError when it is broken.
 */
export function cdbFindFirst(path: string, keys: readonly Buffer[]): Buffer | null {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const read: ReadAt = (offset, length) => {
      if (offset < 0 || length < 0 || offset + length > size)
        throw new CdbFormatError(`${length} bytes at offset ${offset} lie outside the ${size}-byte file`);
      const b = Buffer.alloc(length);
      let done = 0;
      while (done < length) {
        const n = readSync(fd, b, done, length - done, offset + done);
        if (n === 0) throw new CdbFormatError(`file ended at offset ${offset + done}`);
        done += n;
      }
      return b;
    };
    for (const key of keys) if (cdbGet(read, key) !== null) return key;
    return null;
  } finally {
    closeSync(fd);
  }
}
