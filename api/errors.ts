// Coded API errors shared by every component. Logic checks `err.code`, never `instanceof`;
// the mapping to HTTP status codes and gRPC codes happens only at the transport edges.
import type { Status, StatusCause } from './types.ts';

export type ErrorCode =
  | 'BadRequest'
  | 'Unauthorized'
  | 'Forbidden'
  | 'NotFound'
  | 'MethodNotAllowed'
  | 'NotAcceptable'
  | 'AlreadyExists'
  | 'Conflict'
  | 'Gone'
  | 'Expired'
  | 'RequestEntityTooLarge'
  | 'UnsupportedMediaType'
  | 'Invalid'
  | 'TooManyRequests'
  | 'InternalError'
  | 'ServiceUnavailable'
  | 'Timeout';

export const HTTP_CODES: Record<ErrorCode, number> = {
  BadRequest: 400,
  Unauthorized: 401,
  Forbidden: 403,
  NotFound: 404,
  MethodNotAllowed: 405,
  NotAcceptable: 406,
  AlreadyExists: 409,
  Conflict: 409,
  Gone: 410,
  Expired: 410,
  RequestEntityTooLarge: 413,
  UnsupportedMediaType: 415,
  Invalid: 422,
  TooManyRequests: 429,
  InternalError: 500,
  ServiceUnavailable: 503,
  Timeout: 504,
};

export interface ErrorDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

export class ApiError extends Error {
  readonly code: ErrorCode;
  readonly details: ErrorDetails | undefined;

  constructor(code: ErrorCode, message: string, details?: ErrorDetails) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
    this.details = details;
  }

  get httpStatus(): number {
    return HTTP_CODES[this.code];
  }

  toStatus(): Status {
    return errorToStatus(this);
  }
}

export function isApiError(err: unknown): err is ApiError {
  return typeof err === 'object' && err !== null && typeof (err as ApiError).code === 'string' &&
    (err as ApiError).code in HTTP_CODES && (err as Error).name === 'ApiError';
}

export const isNotFound = (err: unknown) => isApiError(err) && err.code === 'NotFound';
export const isAlreadyExists = (err: unknown) => isApiError(err) && err.code === 'AlreadyExists';
export const isConflict = (err: unknown) => isApiError(err) && err.code === 'Conflict';
export const isGone = (err: unknown) => isApiError(err) && (err.code === 'Gone' || err.code === 'Expired');
export const isInvalid = (err: unknown) => isApiError(err) && err.code === 'Invalid';

/** `qualifiedResource` is `pods` for the core group and `deployments.apps` otherwise, as Kubernetes prints it. */
export function qualifiedResource(resource: string, group?: string): string {
  return group ? `${resource}.${group}` : resource;
}

export function notFound(resource: string, name: string, group?: string): ApiError {
  return new ApiError('NotFound', `${qualifiedResource(resource, group)} "${name}" not found`, {
    name, kind: resource, ...(group ? { group } : {}),
  });
}

export function alreadyExists(resource: string, name: string, group?: string): ApiError {
  return new ApiError('AlreadyExists', `${qualifiedResource(resource, group)} "${name}" already exists`, {
    name, kind: resource, ...(group ? { group } : {}),
  });
}

export function conflict(resource: string, name: string, group?: string, why?: string): ApiError {
  const reason = why ?? 'the object has been modified; please apply your changes to the latest version and try again';
  return new ApiError('Conflict', `Operation cannot be fulfilled on ${qualifiedResource(resource, group)} "${name}": ${reason}`, {
    name, kind: resource, ...(group ? { group } : {}),
  });
}

export function gone(message: string): ApiError {
  return new ApiError('Expired', message);
}

export function badRequest(message: string): ApiError {
  return new ApiError('BadRequest', message);
}

export function internalError(message: string): ApiError {
  return new ApiError('InternalError', `Internal error occurred: ${message}`);
}

/** A field-level validation problem, as Kubernetes' field.Error. */
export interface FieldError {
  type: 'FieldValueRequired' | 'FieldValueInvalid' | 'FieldValueNotSupported' | 'FieldValueDuplicate' |
    'FieldValueForbidden' | 'FieldValueTooLong' | 'FieldValueTooMany' | 'FieldValueTypeInvalid' | 'FieldValueNotFound';
  field: string;
  /** The human part, e.g. `Required value` or `Invalid value: "Foo": a lowercase RFC 1123 …`. */
  detail: string;
}

export const fieldRequired = (field: string, detail = ''): FieldError =>
  ({ type: 'FieldValueRequired', field, detail: detail ? `Required value: ${detail}` : 'Required value' });
export const fieldInvalid = (field: string, value: unknown, detail: string): FieldError =>
  ({ type: 'FieldValueInvalid', field, detail: `Invalid value: ${JSON.stringify(value)}: ${detail}` });
export const fieldNotSupported = (field: string, value: unknown, supported: string[]): FieldError =>
  ({ type: 'FieldValueNotSupported', field, detail: `Unsupported value: ${JSON.stringify(value)}: supported values: ${supported.map((s) => `"${s}"`).join(', ')}` });
export const fieldForbidden = (field: string, detail: string): FieldError =>
  ({ type: 'FieldValueForbidden', field, detail: `Forbidden: ${detail}` });
export const fieldDuplicate = (field: string, value: unknown): FieldError =>
  ({ type: 'FieldValueDuplicate', field, detail: `Duplicate value: ${JSON.stringify(value)}` });
export const fieldTooLong = (field: string, max: number): FieldError =>
  ({ type: 'FieldValueTooLong', field, detail: `Too long: may not be more than ${max} bytes` });

/**
 * 422 Invalid with one cause per field error. The message format is Kubernetes' own:
 * `Pod "bad" is invalid: spec.containers[0].image: Required value` (errors joined with ", ", in brackets when many).
 */
export function invalid(kind: string, name: string, errors: FieldError[], group?: string): ApiError {
  const parts = errors.map((e) => `${e.field}: ${e.detail}`);
  const joined = parts.length === 1 ? parts[0] : `[${parts.join(', ')}]`;
  return new ApiError('Invalid', `${kind} "${name}" is invalid: ${joined}`, {
    name, kind, ...(group ? { group } : {}),
    causes: errors.map((e) => ({ reason: e.type, message: e.detail, field: e.field })),
  });
}

const REASON_FOR_CODE: Partial<Record<ErrorCode, string>> = {
  // kube-apiserver reports a compacted watch as reason "Expired" with code 410.
  Gone: 'Gone',
};

/**
 * The Status of an error, its fields in metav1.Status' order (kind, apiVersion, metadata, status, message,
 * reason, details, code) and empty ones left out, so that its JSON is byte for byte kube-apiserver's.
 */
export function errorToStatus(err: ApiError): Status {
  const status: Status = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure' } as Status;
  if (err.message) status.message = err.message;
  status.reason = REASON_FOR_CODE[err.code] ?? err.code;
  // As Go's *StatusDetails: present (maybe `{}`) whenever the error has details, its empty fields left out.
  if (err.details) status.details = orderedDetails(err.details);
  status.code = err.httpStatus;
  return status;
}

/** StatusDetails' field order (name, group, kind, uid, causes, retryAfterSeconds), omitting empty ones. */
function orderedDetails(d: ErrorDetails): ErrorDetails {
  const out: ErrorDetails = {};
  if (d.name) out.name = d.name;
  if (d.group) out.group = d.group;
  if (d.kind) out.kind = d.kind;
  if (d.uid) out.uid = d.uid;
  if (d.causes?.length) {
    out.causes = d.causes.map((c) => {
      const o: StatusCause = {};
      if (c.reason) o.reason = c.reason;
      if (c.message) o.message = c.message;
      if (c.field) o.field = c.field;
      return o;
    });
  }
  if (d.retryAfterSeconds) out.retryAfterSeconds = d.retryAfterSeconds;
  return out;
}

/** Any thrown value → ApiError (unknown errors become 500 InternalError, with the message kept). */
export function toApiError(err: unknown): ApiError {
  if (isApiError(err)) return err;
  const message = err instanceof Error ? err.message : String(err);
  return internalError(message);
}

/** Rebuild an ApiError from a Status received over the wire (HTTP body or gRPC metadata). */
export function statusToError(status: Partial<Status>, httpCode?: number): ApiError {
  const reason = status.reason as ErrorCode | undefined;
  let code: ErrorCode | undefined = reason && reason in HTTP_CODES ? reason : undefined;
  if (!code) {
    const byHttp = Object.entries(HTTP_CODES).find(([, c]) => c === (status.code ?? httpCode));
    code = (byHttp?.[0] as ErrorCode | undefined) ?? 'InternalError';
  }
  return new ApiError(code, status.message ?? `request failed with code ${status.code ?? httpCode}`, status.details as ErrorDetails | undefined);
}
