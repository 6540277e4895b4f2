// Name and label syntax checks with Kubernetes' own messages (apimachinery validation).
// Each returns the problems as strings; empty = valid.

const DNS1123_LABEL = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const DNS1123_SUBDOMAIN = `${DNS1123_LABEL}(\\.${DNS1123_LABEL})*`;
const DNS1035_LABEL = '[a-z]([-a-z0-9]*[a-z0-9])?';
const QUALIFIED_NAME = '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]';
const LABEL_VALUE = '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?';

const full = (re: string) => new RegExp(`^${re}$`);
const maxLen = (n: number) => `must be no more than ${n} characters`;

export function dns1123Subdomain(v: string): string[] {
  const errs: string[] = [];
  if (v.length > 253) errs.push(maxLen(253));
  if (!full(DNS1123_SUBDOMAIN).test(v)) {
    errs.push(`a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '${DNS1123_SUBDOMAIN}')`);
  }
  return errs;
}

export function dns1123Label(v: string): string[] {
  const errs: string[] = [];
  if (v.length > 63) errs.push(maxLen(63));
  if (!full(DNS1123_LABEL).test(v)) {
    errs.push(`a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '${DNS1123_LABEL}')`);
  }
  return errs;
}

export function dns1035Label(v: string): string[] {
  const errs: string[] = [];
  if (v.length > 63) errs.push(maxLen(63));
  if (!full(DNS1035_LABEL).test(v)) {
    errs.push(`a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '${DNS1035_LABEL}')`);
  }
  return errs;
}

/** Label and annotation keys: an optional DNS subdomain prefix and a name part. */
export function qualifiedName(v: string): string[] {
  const parts = v.split('/');
  if (parts.length > 2) {
    return [`a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '${QUALIFIED_NAME}') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`];
  }
  const name = parts.length === 2 ? parts[1] : parts[0];
  const errs: string[] = [];
  if (parts.length === 2) {
    if (!parts[0]) errs.push('prefix part must be non-empty');
    else errs.push(...dns1123Subdomain(parts[0]).map((e) => `prefix part ${e}`));
  }
  if (!name) errs.push('name part must be non-empty');
  else {
    if (name.length > 63) errs.push(`name part ${maxLen(63)}`);
    if (!full(QUALIFIED_NAME).test(name)) {
      errs.push(`name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '${QUALIFIED_NAME}')`);
    }
  }
  return errs;
}

export function labelValue(v: string): string[] {
  const errs: string[] = [];
  if (v.length > 63) errs.push(maxLen(63));
  if (!full(LABEL_VALUE).test(v)) {
    errs.push(`a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '${LABEL_VALUE}')`);
  }
  return errs;
}

/** Environment variable names, as Kubernetes allows them. */
export function envVarName(v: string): string[] {
  return /^[-._a-zA-Z][-._a-zA-Z0-9]*$/.test(v) ? []
    : [`a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', and must not start with a digit (e.g. 'my.env-name',  or 'MY_ENV.NAME',  or 'MyEnvName1', regex used for validation is '[-._a-zA-Z][-._a-zA-Z0-9]*')`];
}

/** ConfigMap and Secret keys. */
export function configMapKey(v: string): string[] {
  const errs: string[] = [];
  if (v.length > 253) errs.push(maxLen(253));
  if (!/^[-._a-zA-Z0-9]+$/.test(v)) errs.push(`a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')`);
  if (v === '.' || v === '..' || v.startsWith('..')) errs.push(`must not be '.' or '..' or start with '..'`);
  return errs;
}
