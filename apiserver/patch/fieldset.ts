// A set of field paths, as structured-merge-diff keeps them for managedFields: a trie whose edges are path
// elements written the FieldsV1 way (`f:<field>`, `k:<json of the item's key fields>`, `v:<json value>`,
// `i:<index>`) and whose nodes say whether the path itself is a member (`.` in FieldsV1 when it also has
// children, `{}` when it is a leaf).
type Obj = Record<string, unknown>;

export class FieldSet {
  self = false;
  readonly kids = new Map<string, FieldSet>();

  /** Add `path` as a member. */
  insert(path: readonly string[]): this {
    if (!path.length) { this.self = true; return this; }
    let c = this.kids.get(path[0]!);
    if (!c) this.kids.set(path[0]!, c = new FieldSet());
    c.insert(path.slice(1));
    return this;
  }

  /** The node at `path`, if any. */
  at(path: readonly string[]): FieldSet | undefined {
    if (!path.length) return this;
    return this.kids.get(path[0]!)?.at(path.slice(1));
  }

  has(path: readonly string[]): boolean { return this.at(path)?.self ?? false; }

  /** Whether `path` or anything under it is a member. */
  hasWithin(path: readonly string[]): boolean {
    const n = this.at(path);
    return n !== undefined && !n.empty();
  }

  empty(): boolean {
    if (this.self) return false;
    for (const c of this.kids.values()) if (!c.empty()) return false;
    return true;
  }

  /** Every member path, depth first. */
  paths(prefix: string[] = []): string[][] {
    const out: string[][] = this.self ? [prefix] : [];
    for (const [e, c] of this.kids) out.push(...c.paths([...prefix, e]));
    return out;
  }

  union(o: FieldSet): FieldSet {
    const r = this.clone();
    for (const p of o.paths()) r.insert(p);
    return r;
  }

  /** Members of this set that are not members of `o`. */
  difference(o: FieldSet): FieldSet {
    return FieldSet.of(this.paths().filter((p) => !o.has(p)));
  }

  intersection(o: FieldSet): FieldSet {
    return FieldSet.of(this.paths().filter((p) => o.has(p)));
  }

  /** Members of this set that are neither `path` nor under it, for each path of `o` (a subtree removal). */
  withoutSubtrees(o: FieldSet): FieldSet {
    const gone = o.paths();
    return FieldSet.of(this.paths().filter((p) => !gone.some((g) => g.length <= p.length && g.every((e, i) => p[i] === e))));
  }

  clone(): FieldSet { return FieldSet.of(this.paths()); }

  static of(paths: string[][]): FieldSet {
    const s = new FieldSet();
    for (const p of paths) s.insert(p);
    return s;
  }

  /** The FieldsV1 JSON of the set. */
  toFieldsV1(): Obj {
    const out: Obj = {};
    if (this.self && this.kids.size) out['.'] = {};
    // Sorted as structured-merge-diff orders path elements: fields, keys, values, indexes; then by text.
    const rank = (e: string) => 'fkvi'.indexOf(e[0]!);
    const keys = [...this.kids.keys()].sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
    for (const e of keys) { const c = this.kids.get(e)!; if (!c.empty()) out[e] = c.toFieldsV1(); }
    return out;
  }

  /** Parse FieldsV1 JSON; throws on what is not one. */
  static fromFieldsV1(v: unknown): FieldSet {
    const s = new FieldSet();
    const walk = (n: FieldSet, x: unknown, top: boolean) => {
      if (typeof x !== 'object' || x === null || Array.isArray(x)) throw new Error('FieldsV1 must be an object');
      const keys = Object.keys(x);
      if (!keys.length && !top) { n.self = true; return; }
      for (const k of keys) {
        if (k === '.') { n.self = true; continue; }
        if (!/^[fkvi]:/.test(k)) throw new Error(`invalid FieldsV1 key ${JSON.stringify(k)}`);
        const c = new FieldSet();
        n.kids.set(k, c);
        walk(c, (x as Obj)[k], false);
      }
    };
    walk(s, v, true);
    return s;
  }
}

/** A path element for a field. */
export const fieldElement = (name: string) => `f:${name}`;
/** A path element for an associative list item: its key fields, sorted by name as structured-merge-diff writes them. */
export const keyElement = (key: Record<string, unknown>) => `k:${JSON.stringify(Object.fromEntries(Object.keys(key).sort().map((k) => [k, key[k]])))}`;
export const valueElement = (v: unknown) => `v:${JSON.stringify(v)}`;

/** A path as structured-merge-diff prints it in conflicts: `.spec.containers[name="web"].image`, `.metadata.finalizers[="x"]`. */
export function pathString(path: readonly string[]): string {
  return path.map((e) => {
    const rest = e.slice(2);
    if (e.startsWith('f:')) return `.${rest}`;
    if (e.startsWith('v:')) return `[=${rest}]`;
    if (e.startsWith('i:')) return `[${rest}]`;
    const key = JSON.parse(rest) as Obj;
    return `[${Object.keys(key).map((k) => `${k}=${JSON.stringify(key[k])}`).join(',')}]`;
  }).join('');
}
