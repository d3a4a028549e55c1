import type { FastifyError, FastifyReply } from 'fastify';
import { SluiceError } from '../errors.js';

/** Maps fastify's own errors (body parsing, limits) to the catalog. */
export function fromFastifyError(err: FastifyError, bodyLimit: number): SluiceError {
  if (err instanceof SluiceError) return err;
  // The request stream failed under the body reader: the client aborted its upload (Node's
  // 'aborted', ECONNRESET). Its own outcome, 499, not a gateway 500 (issue 15).
  if ((err as { code?: unknown }).code === 'ECONNRESET') return new SluiceError('SLUICE_ERR_CLIENT_CLOSED');
  switch (err.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new SluiceError('SLUICE_ERR_INVALID_JSON', { message: `The request body is not valid JSON: ${err.message}` });
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new SluiceError('SLUICE_ERR_BODY_TOO_LARGE', { message: `The request body is larger than the limit of ${bodyLimit} bytes.` });
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new SluiceError('SLUICE_ERR_INVALID_REQUEST', { message: 'The request body must be JSON.' });
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new SluiceError('SLUICE_ERR_INVALID_REQUEST', { message: 'The Content-Length header does not match the body.' });
  }
  if (err instanceof SyntaxError || (err.statusCode === 400 && /JSON/i.test(err.message))) {
    return new SluiceError('SLUICE_ERR_INVALID_JSON', { message: `The request body is not valid JSON: ${err.message}` });
  }
  return new SluiceError('SLUICE_ERR_INTERNAL', { cause: err });
}


/** Answers a control-plane request with a catalog error. */
export function sendError(reply: FastifyReply, err: SluiceError, body: unknown = err.toBody()): void {
  reply.code(err.status);
  if (err.headers !== null) reply.headers(err.headers);
  void reply.send(body);
}
