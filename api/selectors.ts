// Label selectors (equality and set-based) and field selectors, parsed from their string
// forms and from LabelSelector objects. STUB: the API-package work replaces the bodies.
import type { LabelSelector } from './types.ts';

export interface Selector {
  matches(labels: Record<string, string> | undefined): boolean;
  /** True when it selects everything. */
  empty(): boolean;
  toString(): string;
}

export interface FieldRequirement { field: string; op: '=' | '!='; value: string }

export interface FieldSelector {
  requirements: FieldRequirement[];
  matches(fields: Record<string, string>): boolean;
  empty(): boolean;
}

/** Parse `a=b,c!=d,e in (f,g),!h`. Throws ApiError BadRequest on bad syntax. */
export function parseLabelSelector(_s: string | undefined): Selector {
  throw new Error('not implemented');
}

/** A LabelSelector object: undefined selects nothing, {} selects everything (as Kubernetes). */
export function selectorFromLabelSelector(_ls: LabelSelector | undefined): Selector {
  throw new Error('not implemented');
}

/** `app=web,tier in (a,b)`: the string form (as in Scale.status.selector). */
export function labelSelectorToString(_ls: LabelSelector): string {
  throw new Error('not implemented');
}

/** Parse `metadata.name=web,status.phase!=Running`. Throws ApiError BadRequest on bad syntax. */
export function parseFieldSelector(_s: string | undefined): FieldSelector {
  throw new Error('not implemented');
}
