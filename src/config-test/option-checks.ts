// Step 7 of --config-test (spec §6): for every option that is set, in table order, the generic
// checks its value role asks for — files open for reading, directories readable or writable,
// commands executable, long entry lists and long files. The option table decides; nothing here
// knows individual options except the few that need write access or have a directory alternative.
import { accessSync, constants, mkdtempSync, readFileSync, rmdirSync, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { OPTIONS, type OptionValues } from '../options/table';
import type { OptionDef } from '../options/types';
import { errnoText } from '../log';
import type { Report } from './report';
import { splitCommand } from '../auth/checkpassword';

/** More `*-entry` values than this are better kept in a file (spamdyke's threshold). */
export const MAX_ENTRIES_INLINE = 25;
/** Files whose option has a `-dir` alternative warn past this many lines. */
export const MAX_LINES_WITH_DIR_ALTERNATIVE = 100;
/** Every list file warns past this many lines. */
export const MAX_LINES = 65_536;

/** File options whose lists are better kept as a directory tree (spec §4.3). */
const HAS_DIR_ALTERNATIVE = new Set([
  'rdns-blacklist-file',
  'rdns-whitelist-file',
  'graylist-exception-rdns-file',
]);
/** Directory options levee writes into: they get the create-and-delete test. */
const WRITTEN_DIRS = new Set(['full-log-dir', 'graylist-dir']);

/** The values of an option as a list, or [] when it is unset or still at its default. */
export function userValues(def: OptionDef, o: OptionValues): string[] {
  const value = (o as Record<string, unknown>)[def.name];
  const asList = Array.isArray(value) ? (value as string[]) : typeof value === 'string' ? [value] : [];
  const dflt = def.default;
  const defaults = Array.isArray(dflt) ? (dflt as string[]) : typeof dflt === 'string' ? [dflt] : [];
  if (asList.length === defaults.length && asList.every((v, i) => v === defaults[i])) return [];
  return asList.filter((v) => v !== '');
}

/** Counts lines the way list readers see them (a last line without LF counts). */
export function countLines(text: string): number {
  if (text === '') return 0;
  let n = 0;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) n++;
  return text.endsWith('\n') ? n : n + 1;
}

export function checkReadableFile(report: Report, option: string, path: string): string | null {
  try {
    const st = statSync(path);
    if (st.isDirectory()) {
      report.error(`Failed to open for reading: ${path}: Is a directory`, option);
      return null;
    }
    const text = readFileSync(path, 'latin1');
    report.success(`Opened for reading: ${path}`, option);
    return text;
  } catch (e) {
    report.error(`Failed to open for reading: ${path}: ${errnoText(e)}`, option);
    return null;
  }
}

function checkFileLength(report: Report, option: string, path: string, text: string): void {
  const lines = countLines(text);
  if (lines > MAX_LINES) {
    report.warning(
      `File length is inefficient; consider using a directory structure instead: ${path}`,
      option,
    );
  } else if (HAS_DIR_ALTERNATIVE.has(option) && lines > MAX_LINES_WITH_DIR_ALTERNATIVE) {
    report.warning(
      `File length is inefficient; consider using a directory structure instead: ${path}`,
      option,
    );
  }
}

export function checkReadableDir(report: Report, option: string, dir: string): boolean {
  try {
    if (!statSync(dir).isDirectory()) {
      report.error(`Not a directory: ${dir}`, option);
      return false;
    }
    accessSync(dir, constants.R_OK | constants.X_OK);
    report.success(`Opened directory for reading: ${dir}`, option);
    return true;
  } catch (e) {
    report.error(`Failed to open directory for reading: ${dir}: ${errnoText(e)}`, option);
    return false;
  }
}

/** Creates and removes a scratch entry: the only honest test that levee can write there. */
export function checkWritableDir(report: Report, option: string, dir: string): boolean {
  try {
    const probe = mkdtempSync(join(dir, '.levee-config-test-'));
    rmdirSync(probe);
    report.success(`Created and deleted file in directory: ${dir}`, option);
    return true;
  } catch (e) {
    report.error(`Failed to create file in directory: ${dir}: ${errnoText(e)}`, option);
    return false;
  }
}

/** The program a command value runs: its first word, searched in PATH when it has no slash. */
export function commandProgram(command: string, path: string | undefined): string | null {
  const program = splitCommand(command)[0] ?? '';
  if (program === '') return null;
  if (program.includes('/')) return program;
  for (const dir of (path ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, program);
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not in this PATH entry
    }
  }
  return program;
}

export function checkExecutable(report: Report, option: string, command: string): boolean {
  const program = commandProgram(command, process.env.PATH);
  if (program === null) {
    report.error(`Empty command`, option);
    return false;
  }
  try {
    if (!statSync(program).isFile()) throw Object.assign(new Error('not a file'), { code: 'EISDIR' });
    accessSync(program, constants.X_OK);
    report.success(`File is executable: ${program}`, option);
    return true;
  } catch (e) {
    report.error(`File is not executable: ${program}: ${errnoText(e)}`, option);
    return false;
  }
}

/**
 * Runs the generic checks for every set option in table order. Trees that need more than a
 * readable check (config-dir, rDNS directories, graylist) are validated by tree-checks.ts afterwards.
 */
export function checkOptionValues(report: Report, o: OptionValues): void {
  for (const def of OPTIONS as readonly OptionDef[]) {
    const values = userValues(def, o);
    if (values.length === 0) continue;
    switch (def.role) {
      case 'entry':
        if (values.length > MAX_ENTRIES_INLINE) {
          report.warning(
            `${def.name} is used ${values.length} times; to increase efficiency, consider moving those values to a file instead.`,
          );
        }
        break;
      case 'file':
        for (const path of values) {
          report.info(`Testing file read: ${path}`, def.name, true);
          const text = checkReadableFile(report, def.name, path);
          if (text !== null && def.kind === 'list') checkFileLength(report, def.name, path, text);
        }
        break;
      case 'dir':
        for (const dir of values) {
          if (checkReadableDir(report, def.name, dir) && WRITTEN_DIRS.has(def.name)) {
            checkWritableDir(report, def.name, dir);
          }
        }
        break;
      case 'command':
        for (const command of values) checkExecutable(report, def.name, command);
        break;
      default:
        break;
    }
  }
}
