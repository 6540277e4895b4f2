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
    let n: FieldSet = this; // eslint-disable-line @typescript-eslint/no-this-alias
    for (const e of path) {
      let c = n.kids.get(e);
      if (!c) n.kids.set(e, c = new FieldSet());
      n = c;
    }
    n.self = true;
    return this;
  }

  /** The node at `path`, if any. */
  at(path: readonly string[]): FieldSet | undefined {
    let n: FieldSet | undefined = this; // eslint-disable-line @typescript-eslint/no-this-alias
    for (const e of path) { n = n.kids.get(e); if (!n) return undefined; }
    return n;
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

  /** Member paths in structured-merge-diff's Set.Iterate order: at each level the members, then the children, each sorted. */
  sortedPaths(prefix: string[] = []): string[][] {
    const keys = sortedElements(this.kids.keys());
    const out: string[][] = [];
    for (const e of keys) if (this.kids.get(e)!.self) out.push([...prefix, e]);
    for (const e of keys) {
      const c = this.kids.get(e)!;
      if (c.kids.size) out.push(...c.sortedPaths([...prefix, e]).filter((p) => p.length > prefix.length + 1));
    }
    return out;
  }

  union(o: FieldSet): FieldSet {
    const r = this.clone();
    r.self ||= o.self;
    for (const [e, c] of o.kids) { const mine = r.kids.get(e); r.kids.set(e, mine ? mine.union(c) : c.clone()); }
    return r;
  }

  /** Members of this set that are not members of `o`. */
  difference(o: FieldSet): FieldSet {
    const r = new FieldSet();
    r.self = this.self && !o.self;
    for (const [e, c] of this.kids) {
      const theirs = o.kids.get(e);
      const d = theirs ? c.difference(theirs) : c.clone();
      if (!d.empty()) r.kids.set(e, d);
    }
    return r;
  }

  intersection(o: FieldSet): FieldSet {
    const r = new FieldSet();
    r.self = this.self && o.self;
    for (const [e, c] of this.kids) {
      const theirs = o.kids.get(e);
      if (!theirs) continue;
      const i = c.intersection(theirs);
      if (!i.empty()) r.kids.set(e, i);
    }
    return r;
  }

  /** This set without the members of `o` and everything under them (a subtree removal). */
  withoutSubtrees(o: FieldSet): FieldSet {
    const r = new FieldSet();
    if (o.self) return r;
    r.self = this.self;
    for (const [e, c] of this.kids) {
      const theirs = o.kids.get(e);
      const d = theirs ? c.withoutSubtrees(theirs) : c.clone();
      if (!d.empty()) r.kids.set(e, d);
    }
    return r;
  }

  clone(): FieldSet {
    const r = new FieldSet();
    r.self = this.self;
    for (const [e, c] of this.kids) r.kids.set(e, c.clone());
    return r;
  }

  static of(paths: string[][]): FieldSet {
    const s = new FieldSet();
    for (const p of paths) s.insert(p);
    return s;
  }

  /** The FieldsV1 JSON of the set. */
  toFieldsV1(): Obj {
    const out: Obj = {};
    if (this.self && this.kids.size) out['.'] = {};
    for (const e of sortedElements(this.kids.keys())) { const c = this.kids.get(e)!; if (!c.empty()) out[e] = c.toFieldsV1(); }
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

/** Path elements as structured-merge-diff orders them: fields, keys, values, indexes; then by text. */
function sortedElements(elements: Iterable<string>): string[] {
  const rank = (e: string) => 'fkvi'.indexOf(e[0]!);
  return [...elements].sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
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
