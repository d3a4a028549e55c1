/** One Server-Sent Event: its `event` field (null when absent) and its data lines joined. */
export interface SseEvent {
  event: string | null;
  data: string;
}

/**
 * Parses a byte stream as Server-Sent Events (https://html.spec.whatwg.org/multipage/server-sent-events.html).
 * Multi-byte characters split across chunks are decoded correctly; comments and `id`/`retry`
 * fields are ignored. Yields each event when its terminating blank line arrives.
 */
export async function* parseSse(body: AsyncIterable<Uint8Array | string>): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder();
  let buffer = '';
  let event: string | null = null;
  let data: string | null = null;
  for await (const piece of body) {
    buffer += typeof piece === 'string' ? piece : decoder.decode(piece, { stream: true });
    let start = 0;
    for (;;) {
      const nl = buffer.indexOf('\n', start);
      if (nl === -1) break;
      const end = nl > start && buffer.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
      const line = buffer.slice(start, end);
      start = nl + 1;
      if (line === '') {
        if (data !== null) yield { event, data };
        event = null;
        data = null;
        continue;
      }
      if (line.charCodeAt(0) === 58) continue; // ':' comment
      const colon = line.indexOf(':');
      const field = colon === -1 ? line : line.slice(0, colon);
      let value = colon === -1 ? '' : line.slice(colon + 1);
      if (value.charCodeAt(0) === 32) value = value.slice(1);
      if (field === 'data') data = data === null ? value : `${data}\n${value}`;
      else if (field === 'event') event = value;
    }
    buffer = buffer.slice(start);
  }
  buffer += decoder.decode();
  // A final event without its blank line is incomplete by the spec and is dropped.
}
