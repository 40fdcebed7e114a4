// Lookup outcomes shared by the resolver and the filters.

/**
 * Why a lookup found nothing. `nxdomain` (name does not exist) and `nodata` (name exists, no record
 * of that type) are permanent answers; the others are temporary, and filters log them differently.
 */
export type DnsFailure = 'nxdomain' | 'nodata' | 'timeout' | 'servfail' | 'refused' | 'error';

export type DnsAnswer<T> = { ok: true; value: T } | { ok: false; failure: DnsFailure; message: string };

export function isPermanentFailure(failure: DnsFailure): boolean {
  return failure === 'nxdomain' || failure === 'nodata';
}
