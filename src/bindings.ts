// Node's internal bindings, which levee uses where Node's public modules cost too much per
// connection (relay/handles.ts: stream and process handles; dns/channel.ts: c-ares channels). They
// come from process.binding (DEP0111, a documentation-only deprecation in Node 20/22); every user
// feature-checks what it gets and falls back to the public module when it looks different.

/**
 * True when levee must use Node's public modules only: LEVEE_NODE_STREAMS=1 asks for it, and under
 * --pending-deprecation process.binding would print its deprecation warning into the log.
 */
export function publicModulesOnly(): boolean {
  return (
    process.env.LEVEE_NODE_STREAMS === '1' ||
    process.execArgv.includes('--pending-deprecation') ||
    process.env.NODE_PENDING_DEPRECATION === '1'
  );
}

/** process.binding(name), or undefined where it is gone, refused or throws */
export function internalBinding(name: string): Record<string, unknown> | undefined {
  if (publicModulesOnly()) return undefined;
  try {
    const binding = (process as unknown as { binding?: (name: string) => Record<string, unknown> }).binding;
    return typeof binding === 'function' ? binding(name) : undefined;
  } catch {
    return undefined;
  }
}
