/** Small helpers for plain option objects. */

/** The object without its undefined-valued keys (so `{...defaults, ...stripUndefined(o)}` keeps defaults). */
export function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
