/**
 * Request headers as undici's flat list of names and values, without the two every call sets
 * itself (`accept`, `x-request-id`): a provider's headers are merged into one once, and each
 * call appends its own two instead of spreading objects per request.
 */
export function headerList(headers: Readonly<Record<string, string>>): string[] {
  const list: string[] = [];
  for (const [name, value] of Object.entries(headers)) if (name !== 'accept' && name !== 'x-request-id') list.push(name, value);
  return list;
}
