// Own-property access for objects built from request bodies. A body's keys are data, never a path into the
// prototype chain: `"__proto__"` read with `in` or written with `obj[k] = v` would reach Object.prototype and
// change every object in the process. These helpers see and create own properties only.
export type Obj = Record<string, unknown>;

export const hasOwn = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);

export const getOwn = (o: Obj, k: string): unknown => (hasOwn(o, k) ? o[k] : undefined);

/** Sets an own, enumerable data property, even for the key "__proto__". */
export function setOwn(o: Obj, k: string, v: unknown): void {
  Object.defineProperty(o, k, { value: v, writable: true, enumerable: true, configurable: true });
}
