// Directory trees --config-test validates in depth (spec §6 step 7): config-dir trees (§4.7),
// rDNS directory trees (§4.3) and the graylist tree (§4.8). The walks never follow symbolic links
// and stop at a fixed depth and entry count, so a looping or huge tree cannot hang the test.
import { lstatSync, readdirSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { domain2path } from '../match/rdns';
import { errnoText } from '../log';
import type { Report } from './report';

/** Entries looked at per tree; beyond this the test says it stopped. */
const MAX_ENTRIES = 20_000;
const MAX_DEPTH = 24;

export interface TreeEntry {
  /** path relative to the root, `/`-separated */
  rel: string;
  isDir: boolean;
  isFile: boolean;
  isSymlink: boolean;
}

/** Depth-first listing of a tree without following links; `truncated` when it hit the limits. */
export function walkTree(
  root: string,
  maxEntries = MAX_ENTRIES,
): { entries: TreeEntry[]; truncated: boolean } {
  const entries: TreeEntry[] = [];
  let truncated = false;
  const visit = (rel: string, depth: number): void => {
    let names: string[];
    try {
      names = readdirSync(rel ? join(root, rel) : root).sort();
    } catch {
      return;
    }
    for (const name of names) {
      if (entries.length >= maxEntries || depth > MAX_DEPTH) {
        truncated = true;
        return;
      }
      const childRel = rel ? `${rel}/${name}` : name;
      let st: Stats;
      try {
        st = lstatSync(join(root, childRel));
      } catch {
        continue;
      }
      const entry = {
        rel: childRel,
        isDir: st.isDirectory(),
        isFile: st.isFile(),
        isSymlink: st.isSymbolicLink(),
      };
      entries.push(entry);
      if (entry.isDir) visit(childRel, depth + 1);
    }
  };
  visit('', 0);
  return { entries, truncated };
}

const CRITERIA = new Set(['_ip_', '_rdns_', '_sender_', '_recipient_']);
const OCTET = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

/**
 * Problems in one config-dir tree path (pure; `parts` are the path's components, `isDir` whether it
 * is a directory). Returns null when the path is well-formed.
 */
export function configDirPathProblem(parts: readonly string[], isDir: boolean): string | null {
  let criterion = '';
  let depth = 0; // components since the criterion name
  let seenAt = false;
  const used = new Set<string>();
  for (let i = 0; i < parts.length; i++) {
    const name = parts[i];
    const last = i === parts.length - 1;
    if (criterion === '' || (CRITERIA.has(name) && depth > 0)) {
      if (!CRITERIA.has(name))
        return `unknown name "${name}" where _ip_, _rdns_, _sender_ or _recipient_ was expected`;
      if (used.has(name)) return `${name} appears twice in one path`;
      if (last && !isDir) return `${name} must be a directory`;
      used.add(name);
      criterion = name;
      depth = 0;
      seenAt = false;
      continue;
    }
    depth++;
    if (criterion === '_ip_') {
      if (!OCTET.test(name)) return `"${name}" is not an IP octet (0-255)`;
      if (depth > 4) return 'an IP address has only four octets';
    } else if (name === '_at_') {
      if (criterion === '_rdns_') return '_at_ is only used under _sender_ or _recipient_';
      if (seenAt) return '_at_ appears twice';
      if (last && !isDir) return 'a file named _at_ is never read';
      seenAt = true;
      depth = 0;
    } else if (seenAt && depth > 1) {
      return 'only one user name may follow _at_';
    }
  }
  return null;
}

export function checkConfigDir(report: Report, option: string, root: string): void {
  const { entries, truncated } = walkTree(root);
  let problems = 0;
  for (const e of entries) {
    if (e.isSymlink || (!e.isDir && !e.isFile)) {
      report.warning(`Not a regular file or directory, it will be ignored: ${join(root, e.rel)}`, option);
      problems++;
      continue;
    }
    const problem = configDirPathProblem(e.rel.split('/'), e.isDir);
    if (problem) {
      report.error(`Bad configuration directory entry: ${join(root, e.rel)}: ${problem}`, option);
      problems++;
    }
  }
  if (truncated) report.warning(`Stopped after ${entries.length} entries: ${root}`, option);
  if (problems === 0) report.success(`Configuration directory is valid: ${root}`, option);
}

/**
 * Problems of one file in an rDNS directory tree (pure): the file is named after a host name and must
 * sit exactly where domain2path puts that name (`com/e/example/mail.example.com`).
 */
export function rdnsDirFileProblem(rel: string): string | null {
  const parts = rel.split('/');
  const name = parts[parts.length - 1];
  const expected = domain2path(name, false);
  if (expected === rel) return null;
  return `file name does not match its directory; "${name}" belongs at ${expected}`;
}

export function checkRdnsDir(report: Report, option: string, root: string): void {
  const { entries, truncated } = walkTree(root);
  let problems = 0;
  for (const e of entries) {
    if (e.isDir) {
      const parts = e.rel.split('/');
      if (parts.length === 2 && parts[1].length !== 1) {
        report.error(`Second-level directory must be one letter: ${join(root, e.rel)}`, option);
        problems++;
      }
      continue;
    }
    const problem = e.isFile ? rdnsDirFileProblem(e.rel) : 'not a regular file';
    if (problem) {
      report.error(`Bad rDNS directory entry: ${join(root, e.rel)}: ${problem}`, option);
      problems++;
    }
  }
  if (truncated) report.warning(`Stopped after ${entries.length} entries: ${root}`, option);
  if (problems === 0) report.success(`rDNS directory structure is valid: ${root}`, option);
}

export interface GraylistTreeInput {
  level: string;
  dirs: readonly string[];
  /** domains levee accepts mail for (rcpthosts lines, without leading dots) */
  localDomains: readonly string[];
}

/** Domain directories of the graylist roots: non-directories, foreign domains and missing local ones. */
export function checkGraylistTree(report: Report, g: GraylistTreeInput): void {
  const creates = g.level.endsWith('-create-dir');
  const local = new Set(g.localDomains.map((d) => d.toLowerCase()));
  const present = new Set<string>();
  for (const root of g.dirs) {
    let names: string[];
    try {
      names = readdirSync(root);
    } catch (e) {
      report.error(`Failed to read graylist directory: ${root}: ${errnoText(e)}`, 'graylist-level');
      continue;
    }
    for (const name of names.sort()) {
      let st: Stats;
      try {
        st = lstatSync(join(root, name));
      } catch {
        continue;
      }
      if (!st.isDirectory()) {
        report.error(`Not a directory, graylisting cannot use it: ${join(root, name)}`, 'graylist-level');
        continue;
      }
      present.add(name.toLowerCase());
      if (local.size > 0 && !local.has(name.toLowerCase())) {
        report.info(
          `Graylist domain directory for a domain that is not local: ${join(root, name)}`,
          'graylist-level',
        );
      }
    }
  }
  for (const domain of [...local].sort()) {
    if (present.has(domain)) continue;
    report.info(
      creates
        ? `Local domain ${domain} has no graylist directory; levee will create it.`
        : `Local domain ${domain} has no graylist directory; no graylisting will take place for it.`,
      'graylist-level',
    );
  }
}
