// `levee serve`: proxy mode (loaded only by that command, dist/serve.cjs).
export async function serve(_argv: readonly string[]): Promise<number> {
  process.stderr.write('levee: ERROR: "levee serve" is not implemented in this version yet\n');
  return 1;
}
